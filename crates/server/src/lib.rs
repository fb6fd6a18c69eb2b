//! kitebreak's HTTP API: every endpoint of the original service (see
//! `spec/original-api.md`) over the engine, with JSON errors, bearer-token auth on
//! control endpoints and a passphrase on the webhook.
//!
//! The binary calls [`serve`]; tests build an [`App`] and drive its [`App::router`].
//! This crate makes no trading decisions and touches no database itself.

mod auth;
mod body;
mod config;
mod error;
mod guard;
mod layers;
mod login;
mod metrics;
pub mod openapi;
mod render;
mod routes;
mod webhook;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use kitebreak_engine::{Engine, EngineError, PaperBroker, paper_book_path};
use tokio::net::TcpListener;

pub use config::{Secret, ServerConfig};
pub use error::ApiError;
pub use guard::AuthGuard;
pub use login::LoginFlow;
pub use metrics::Metrics;

/// What the server was configured with that handlers need.
#[derive(Debug)]
pub struct Settings {
    /// Webhook passphrase, if any.
    pub webhook_secret: Option<Secret>,
    /// Bearer token for control endpoints, if any.
    pub api_token: Option<Secret>,
    /// The largest body accepted.
    pub body_limit: usize,
}

/// Handlers' shared state: the engine and the settings, behind one `Arc` so a
/// request clones one reference count, not one per field.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] points at.
#[derive(Debug)]
pub struct Shared {
    /// The running engine.
    pub engine: Engine,
    /// Secrets and limits.
    pub settings: Settings,
    /// Authentication failures per client.
    pub guard: AuthGuard,
    /// This app's metrics registry.
    pub metrics: Arc<Metrics>,
    /// The browser login's configuration and pending nonces.
    pub login: login::LoginFlow,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The engine could not start (database, recovery).
    #[error("engine failed to start")]
    Engine(#[source] EngineError),
    /// Serving failed (the listener broke).
    #[error("http server failed")]
    Io(#[source] std::io::Error),
    /// Refused: no secrets are configured and the address is not loopback.
    #[error(
        "refusing to listen on {0} without KITEBREAK_WEBHOOK_SECRET and KITEBREAK_API_TOKEN; \
         configure both or listen on a loopback address"
    )]
    InsecureListen(std::net::SocketAddr),
}

/// A started engine with its router.
#[derive(Debug, Clone)]
pub struct App {
    state: AppState,
}

impl App {
    /// Starts a paper engine from `config`: opens the paper book beside the engine's
    /// database (`kitebreak_engine::paper_book_path`), then opens and recovers the
    /// database.
    pub async fn start(config: ServerConfig) -> Result<App, ServerError> {
        let book = paper_book_path(&config.engine.database);
        let broker = PaperBroker::open(&book, config.paper_slippage_bps)
            .await
            .map_err(ServerError::Engine)?;
        App::start_with_broker(config, Arc::new(broker)).await
    }

    /// Starts an engine over `broker` (the binary passes the Kite broker here for
    /// `--broker kite`); `config.paper_slippage_bps` is then unused.
    pub async fn start_with_broker(
        config: ServerConfig,
        broker: Arc<dyn kitebreak_engine::Broker>,
    ) -> Result<App, ServerError> {
        let engine = Engine::start(config.engine, broker)
            .await
            .map_err(ServerError::Engine)?;
        let settings = Settings {
            webhook_secret: config.webhook_secret,
            api_token: config.api_token,
            body_limit: config.body_limit,
        };
        let guard = AuthGuard::new(config.auth_failures_per_minute, Duration::from_secs(60));
        let metrics = Arc::new(Metrics::new());
        spawn_upkeep(Arc::downgrade(&metrics));
        let login = login::LoginFlow::new(config.kite_login);
        Ok(App {
            state: AppState(Arc::new(Shared {
                engine,
                settings,
                guard,
                metrics,
                login,
            })),
        })
    }

    /// The OpenAPI document of [`App::router`]'s routes.
    pub fn openapi(&self) -> utoipa::openapi::OpenApi {
        routes::api(self.state.clone()).1
    }

    /// The HTTP routes over this app's engine.
    pub fn router(&self) -> axum::Router {
        routes::api(self.state.clone()).0
    }

    /// [`App::router`] as a service that records each connection's peer address,
    /// which the authentication-failure limit keys on; [`serve`] runs this.
    pub fn service(&self) -> IntoMakeServiceWithConnectInfo<axum::Router, SocketAddr> {
        self.router()
            .into_make_service_with_connect_info::<SocketAddr>()
    }

    /// The engine, for callers that drive it directly (a demo feed, tests).
    pub fn engine(&self) -> &Engine {
        &self.state.engine
    }

    /// Stops the engine: queued commands finish and the database is flushed.
    pub async fn shutdown(&self) {
        self.state.engine.shutdown().await;
    }
}

/// Runs the API on `listener` until `shutdown` resolves, then drains in-flight
/// requests and stops the engine cleanly.
///
/// Without both a webhook secret and an API token, only loopback addresses are
/// accepted (product.md §3).
pub async fn serve(
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    serve_inner(config, None, listener, shutdown).await
}

/// [`serve`] over `broker` instead of the paper broker (`serve --broker kite`).
pub async fn serve_with_broker(
    config: ServerConfig,
    broker: Arc<dyn kitebreak_engine::Broker>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    serve_inner(config, Some(broker), listener, shutdown).await
}

async fn serve_inner(
    config: ServerConfig,
    broker: Option<Arc<dyn kitebreak_engine::Broker>>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let address = listener.local_addr().map_err(ServerError::Io)?;
    let secured = config.webhook_secret.is_some() && config.api_token.is_some();
    if !secured && !address.ip().is_loopback() {
        return Err(ServerError::InsecureListen(address));
    }
    let app = match broker {
        Some(broker) => App::start_with_broker(config, broker).await?,
        None => App::start(config).await?,
    };
    tracing::info!(%address, "kitebreak listening");
    let served = axum::serve(listener, app.service())
        .with_graceful_shutdown(shutdown)
        .await;
    app.shutdown().await;
    served.map_err(ServerError::Io)
}

/// Folds latency samples into histograms every few seconds while the app lives.
fn spawn_upkeep(metrics: std::sync::Weak<Metrics>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.tick().await;
        loop {
            tick.tick().await;
            match metrics.upgrade() {
                Some(metrics) => metrics.upkeep(),
                None => break,
            }
        }
    });
}
