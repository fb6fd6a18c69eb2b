//! `serve --broker kite`: builds the Kite broker the engine trades through, and the
//! Kite configuration the HTTP login uses (with either broker).
//!
//! The API key comes from `KITE_API_KEY`, the access token from the session file
//! `kitebreak login` wrote (`DATA_DIR/kite-session.json`) or `KITE_ACCESS_TOKEN`.
//! Without a usable token nothing starts. Once running, the session file is watched:
//! a `kitebreak login` in another process (or the HTTP login) puts a new token in
//! place without a restart. The instrument dump is kept current: one refresh step
//! every [`INSTRUMENTS_EVERY`], which fetches Kite's new dump once per dump day
//! (08:30 IST) and keeps the old one if a fetch fails (`keep_instruments_current`),
//! until `stop` turns true. Secrets are never logged.
//!
//! `[orders]` reaches Kite here: `market_protection` goes into the [`KiteConfig`]
//! (every MARKET and SL-M order carries it), `exchange` and `product` into the
//! [`KiteAdapter`] (every order's exchange and product; the product also picks the
//! exchange-side protection: an SL-M stop for MIS, a GTT OCO for CNC/NRML).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use kitebreak_config::{Exchange, MarketProtection, OrderDefaults, Product, Settings};
use kitebreak_engine::{Broker, KiteAdapter};
use kitebreak_kite::{
    KiteBroker, KiteConfig, MarketProtection as KiteProtection, Product as KiteProduct,
    SessionState, session,
};
use kiteconnect::AccessToken;
use tokio::sync::watch;

/// How often the session file is read for a new login.
const FILE_WATCH_EVERY: Duration = Duration::from_secs(2);

/// How often the instrument dump is checked for a new dump day (a check whose day
/// is current does nothing; a process running past 08:30 IST fetches the new dump
/// within this long).
pub const INSTRUMENTS_EVERY: Duration = Duration::from_secs(600);

/// Where Kite is reached: production roots, or a kite-sim.
#[derive(Debug, Clone)]
pub struct Roots {
    /// REST root (`--kite-root`).
    pub rest: String,
    /// Ticker root (`--kite-ws`).
    pub ws: String,
    /// Browser login root (`--kite-login`).
    pub login: String,
}

const LOGIN_HINT: &str = "run `kitebreak login` (or set KITE_ACCESS_TOKEN); nothing was started";

/// The Kite configuration from `KITE_API_KEY` (and `KITE_API_SECRET`, which the login
/// needs), or `None` without an API key.
pub fn kite_config(settings: &Settings, roots: &Roots) -> anyhow::Result<Option<KiteConfig>> {
    let Some(api_key) = &settings.secrets.kite_api_key else {
        return Ok(None);
    };
    let mut config = KiteConfig::new(api_key.expose(), &settings.data_dir)
        .with_roots(&roots.rest, &roots.ws)
        .with_login_root(&roots.login);
    if let Some(secret) = &settings.secrets.kite_api_secret {
        config = config.with_secret(secret.expose())?;
    }
    config.market_protection = market_protection(settings.orders.market_protection)?;
    Ok(Some(config))
}

/// `[orders] market_protection` in the Kite crate's terms.
fn market_protection(band: MarketProtection) -> anyhow::Result<KiteProtection> {
    Ok(match band {
        MarketProtection::Auto => KiteProtection::Automatic,
        MarketProtection::Percent(percent) => {
            KiteProtection::percent(percent).context("orders.market_protection")?
        }
    })
}

/// The engine's Kite broker trading with `[orders]`' exchange and product, waiting
/// at most `settle_within_ms` for an order's final status.
pub fn adapter(kite: KiteBroker, orders: &OrderDefaults) -> KiteAdapter {
    let exchange = match orders.exchange {
        Exchange::Nse => "NSE",
        Exchange::Bse => "BSE",
        Exchange::Nfo => "NFO",
        Exchange::Bfo => "BFO",
        Exchange::Cds => "CDS",
        Exchange::Bcd => "BCD",
        Exchange::Mcx => "MCX",
    };
    let product = match orders.product {
        Product::Mis => KiteProduct::Mis,
        Product::Cnc => KiteProduct::Cnc,
        Product::Nrml => KiteProduct::Nrml,
        Product::Mtf => KiteProduct::Mtf,
    };
    KiteAdapter::with(kite, exchange, product).with_settle_within(orders.settle_within)
}

/// A logged-in Kite broker with its instruments loaded, ready for the engine; the
/// session file is watched for new logins from then on.
pub async fn broker(
    settings: &Settings,
    config: Option<KiteConfig>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Arc<dyn Broker>> {
    let config =
        config.context("--broker kite needs KITE_API_KEY (your Kite Connect app's API key)")?;
    let now = jiff::Timestamp::now();
    let (token, expires_at) = match session::load_session(&config)
        .context("reading the Kite session file")?
    {
        Some(stored) if stored.expires_at > now => {
            tracing::info!(user_id = stored.user_id, expires_at = %stored.expires_at, "kite session loaded");
            (stored.access_token, stored.expires_at)
        }
        Some(stored) => match &settings.secrets.kite_access_token {
            Some(token) => env_token(token.expose(), now)?,
            None => bail!(
                "the Kite session in {} expired at {}: {LOGIN_HINT}",
                config.session_path().display(),
                stored.expires_at
            ),
        },
        None => match &settings.secrets.kite_access_token {
            Some(token) => env_token(token.expose(), now)?,
            None => bail!(
                "no Kite session ({} not found): {LOGIN_HINT}",
                config.session_path().display()
            ),
        },
    };
    let state = SessionState::with_expiry(Some(token), Some(expires_at));
    // Detached: it runs as long as the process.
    let _watch = state.spawn_file_watch(config.clone(), FILE_WATCH_EVERY, session::system_now());
    let kite = KiteBroker::new(config, state);
    let count = kite
        .load_instruments()
        .await
        .context("loading Kite's instrument list")?;
    tracing::info!(instruments = count, "kite broker ready");
    keep_instruments_current(&kite, INSTRUMENTS_EVERY, jiff::Timestamp::now, stop);
    Ok(Arc::new(adapter(kite, &settings.orders)))
}

/// Spawns the instrument dump's refresh loop (one step every `every`, on `clock`)
/// until `stop` turns true or its sender is gone.
pub fn keep_instruments_current(
    kite: &KiteBroker,
    every: Duration,
    clock: impl Fn() -> jiff::Timestamp + Send + 'static,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let kite = kite.clone();
    tokio::spawn(async move { kite.keep_instruments_current(every, clock, stop).await })
}

/// `KITE_ACCESS_TOKEN`, which is alive now, so it dies at the next 06:00 IST.
fn env_token(text: &str, now: jiff::Timestamp) -> anyhow::Result<(AccessToken, jiff::Timestamp)> {
    let token = AccessToken::new(text).context("KITE_ACCESS_TOKEN")?;
    Ok((token, kitebreak_kite::time::token_expiry(now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: `[orders]` was validated but every Kite order went out as NSE/MIS
    /// with automatic market protection.
    #[tokio::test]
    async fn the_orders_section_reaches_every_kite_order() {
        let at: jiff::Timestamp = "2026-11-25T04:30:00Z".parse().expect("time");
        let sim = kite_sim::Sim::start(kite_sim::SimConfig::for_tests(at))
            .await
            .expect("sim");
        let dir = tempfile::tempdir().expect("temp dir");
        let env = [
            ("KITE_API_KEY", kite_sim::config::DEFAULT_API_KEY),
            ("KITEBREAK_ORDERS__PRODUCT", "CNC"),
            ("KITEBREAK_ORDERS__MARKET_PROTECTION", "5"),
        ];
        let loaded = kitebreak_config::load(kitebreak_config::Sources {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            flags: kitebreak_config::Flags {
                data_dir: Some(dir.path().to_path_buf()),
                ..Default::default()
            },
            ..Default::default()
        })
        .expect("settings");
        let roots = Roots {
            rest: sim.url().to_string(),
            ws: sim.ws_url().to_string(),
            login: sim.url().to_string(),
        };
        let config = kite_config(&loaded.settings, &roots)
            .expect("config")
            .expect("an API key");
        assert_eq!(config.market_protection, KiteProtection::Percent(5));
        let token = AccessToken::new("test_access_token").expect("token");
        let kite = KiteBroker::new(config, SessionState::new(Some(token)));
        kite.load_instruments().await.expect("instruments");
        let adapter = adapter(kite, &loaded.settings.orders);
        let order = kitebreak_engine::MarketOrder {
            tag: "KB1".into(),
            symbol: kitebreak_engine::Symbol::parse("INFY").expect("symbol"),
            side: kitebreak_engine::Side::Buy,
            quantity: kitebreak_price::Quantity::new(1).expect("quantity"),
        };
        adapter.place_market(order).await.expect("placed");
        let log = kite_sim::shared::lock(&sim.shared().log).clone();
        let sent = log
            .iter()
            .find(|r| r.method == "POST" && r.path.starts_with("/orders"))
            .expect("the order reached Kite");
        let field = |name: &str| {
            sent.form
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(field("product"), Some("CNC"));
        assert_eq!(field("exchange"), Some("NSE"));
        assert_eq!(field("market_protection"), Some("5"));
    }

    /// The loop `serve` spawns loads the next dump day's instruments on its own.
    #[tokio::test]
    async fn the_instrument_dump_is_refreshed_when_the_dump_day_turns() {
        let day_one: jiff::Timestamp = "2026-11-25T04:30:00Z".parse().expect("time");
        let sim = kite_sim::Sim::start(kite_sim::SimConfig::for_tests(day_one))
            .await
            .expect("sim");
        let dir = tempfile::tempdir().expect("temp dir");
        let config = KiteConfig::new(kite_sim::config::DEFAULT_API_KEY, dir.path())
            .with_roots(sim.url(), sim.ws_url());
        let token = AccessToken::new("test_access_token").expect("token");
        let kite = KiteBroker::new(config, SessionState::new(Some(token)));
        kite.load_instruments_at(day_one).await.expect("day one");
        let first = kite.instruments().day();
        // The next morning after 08:30 IST (03:00 UTC).
        let day_two: jiff::Timestamp = "2026-11-26T04:00:00Z".parse().expect("time");
        let (stop, stopped) = watch::channel(false);
        let refresher =
            keep_instruments_current(&kite, Duration::from_millis(10), move || day_two, stopped);
        let want = Some(kitebreak_kite::instruments::dump_day(day_two));
        assert_ne!(first, want);
        // Woken by each catalogue the loop installs (no polling); the bound only
        // turns a hang into a failure.
        let mut updates = kite.instrument_updates();
        let refreshed = tokio::time::timeout(
            Duration::from_secs(20),
            updates.wait_for(|all| all.day() == want),
        )
        .await;
        assert!(refreshed.is_ok_and(|seen| seen.is_ok()), "never refreshed");
        stop.send(true).expect("stop");
        refresher.await.expect("the loop stops");
    }
}
