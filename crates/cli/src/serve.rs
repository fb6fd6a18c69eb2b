//! `kitebreak serve`: loads the configuration, then runs `kitebreak_server::serve`
//! until Ctrl-C or SIGTERM.
//!
//! Startup order: configuration (all errors at once, naming keys) → broker choice
//! (`kite` needs a stored session or `KITE_ACCESS_TOKEN`, else nothing starts; it is
//! never replaced by paper) → bind → the server starts its engine
//! → a readiness probe (`GET /` on the bound port) → `listening on http://ADDR` on
//! stdout → the demo feed, if asked. A signal stops the demo feed and the server,
//! which drains in-flight requests and closes the database before the process exits.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::{Context, bail};
use kitebreak_config::{BrokerKind, Flags, Loaded, Sources};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cli::{GlobalArgs, ServeArgs};
use crate::{demo, live};

/// Loads the configuration `serve` runs with.
pub fn load_config(args: &ServeArgs, global: &GlobalArgs) -> anyhow::Result<Loaded> {
    let sources = Sources {
        file: global.config.clone(),
        env: std::env::vars().collect(),
        flags: Flags {
            listen: args.listen.clone(),
            data_dir: args.data_dir.clone(),
            broker: args.broker.clone(),
        },
    };
    Ok(kitebreak_config::load(sources)?)
}

/// Runs the service until a shutdown signal.
pub async fn run(args: &ServeArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let loaded = load_config(args, global)?;
    if args.print_config {
        print!("{}", loaded.render());
        return Ok(());
    }
    let settings = loaded.settings;
    tracing::info!(
        file = %loaded.file.as_ref().map_or("(none)".into(), |f| f.display().to_string()),
        listen = %settings.listen,
        data_dir = %settings.data_dir.display(),
        symbol_overrides = settings.symbols.len(),
        "configuration loaded"
    );
    let roots = live::Roots {
        rest: args.kite_root.clone(),
        ws: args.kite_ws.clone(),
        login: args.kite_login.clone(),
    };
    // With KITE_API_KEY and KITE_API_SECRET the HTTP login works with either broker
    // (with paper it only stores the session file for a later `--broker kite`).
    let kite = live::kite_config(&settings, &roots)?;
    let stopped = stop_on_signal()?;
    // The broker is chosen once, here; the paper path never sees a Kite handle.
    let live = match settings.broker {
        BrokerKind::Paper => None,
        BrokerKind::Kite => {
            if args.demo {
                bail!("--demo feeds made-up candles and runs only with the paper broker");
            }
            Some(live::broker(&settings, kite.clone(), stopped.clone()).await?)
        }
    };
    let database = if args.demo {
        demo::fresh_database(&settings.data_dir)?
    } else {
        settings.database()
    };
    let mut config = settings.server_config(&database);
    config.kite_login = kite;
    if args.demo {
        // The demo replays years-old daily candles as fast as asked: the market clock
        // of today says nothing about them, so it is off (risk limits still apply).
        config.engine.market = None;
    }
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    let mut stopped_server = stopped.clone();
    let shutdown = async move {
        let _ = stopped_server.wait_for(|stop| *stop).await;
    };
    let mut server = match live {
        Some(broker) => tokio::spawn(kitebreak_server::serve_with_broker(
            config, broker, listener, shutdown,
        )),
        None => tokio::spawn(kitebreak_server::serve(config, listener, shutdown)),
    };
    let base = format!("http://{}", reachable(address));
    tokio::select! {
        // The server ended first: it refused to start, or a signal came early.
        result = &mut server => return finished(result),
        ready = wait_ready(&base) => ready?,
    }
    tracing::info!(%address, database = %database.display(), "kitebreak ready");
    println!("kitebreak listening on http://{address}");
    if args.demo {
        let passphrase = settings.secrets.webhook_secret.clone();
        tokio::spawn(demo::run(base, passphrase, args.demo_rate, stopped));
    }
    finished(server.await)
}

fn finished(
    result: Result<Result<(), kitebreak_server::ServerError>, tokio::task::JoinError>,
) -> anyhow::Result<()> {
    result.context("the server task failed")??;
    tracing::info!("kitebreak stopped; state is on disk");
    Ok(())
}

/// The address a local client reaches a listener on (`0.0.0.0` → `127.0.0.1`).
fn reachable(address: SocketAddr) -> SocketAddr {
    match address {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => (Ipv4Addr::LOCALHOST, v4.port()).into(),
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => (Ipv6Addr::LOCALHOST, v6.port()).into(),
        other => other,
    }
}

/// Waits until `GET /` answers: the engine has opened and recovered its database.
/// The listener is bound before this runs, so a connection waits in the backlog
/// rather than failing; the retries only cover a listener that went away.
async fn wait_ready(base: &str) -> anyhow::Result<()> {
    // The probe goes to this very process: never through a configured proxy.
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .context("cannot set up the HTTP client")?;
    let mut last_error = None;
    for _ in 0..50 {
        match client.get(format!("{base}/")).send().await {
            Ok(_) => return Ok(()),
            Err(error) => last_error = Some(error),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    match last_error {
        Some(error) => Err(error).context("the server did not answer on its own address"),
        None => bail!("the server did not answer on its own address"),
    }
}

/// A flag that turns true on Ctrl-C or SIGTERM.
fn stop_on_signal() -> anyhow::Result<watch::Receiver<bool>> {
    let (stop, stopped) = watch::channel(false);
    let signal = shutdown_signal()?;
    tokio::spawn(async move {
        let name = signal.await;
        tracing::info!("{name}: shutting down");
        let _ = stop.send(true);
    });
    Ok(stopped)
}

/// A future that resolves, with the signal's name, on Ctrl-C (SIGINT) or SIGTERM.
///
/// The handlers are installed here, before the server starts, not when the future
/// is first polled: a SIGTERM that arrives just after `listening on` must shut down
/// cleanly, never kill the process with the default action.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl Future<Output = &'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle Ctrl-C")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "Ctrl-C",
        }
    })
}

/// Ctrl-C only, where there are no Unix signals.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl Future<Output = &'static str>> {
    Ok(async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    })
}
