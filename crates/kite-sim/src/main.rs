//! The `kite-sim` binary: parses flags, starts the sim, prints how to reach it.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use jiff::{SignedDuration, Timestamp};
use kite_sim::config::{DEFAULT_API_KEY, DEFAULT_API_SECRET};
use kite_sim::{ClockMode, Faults, RateClock, Sim, SimConfig};

/// A local Kite Connect v3 (REST + WebSocket ticker) with scripted prices and faults.
#[derive(Debug, Parser)]
#[command(name = "kite-sim", version)]
struct Args {
    /// Address for REST and the ticker (loopback only).
    #[arg(long, default_value = "127.0.0.1:5001")]
    listen: SocketAddr,
    /// API key clients must use.
    #[arg(long, env = "KITE_API_KEY", default_value = DEFAULT_API_KEY)]
    api_key: String,
    /// API secret for checksums.
    #[arg(long, env = "KITE_API_SECRET", default_value = DEFAULT_API_SECRET)]
    api_secret: String,
    /// Accept this access token without a login.
    #[arg(long)]
    access_token: Option<String>,
    /// Instrument dump CSV (default: the bundled common NSE list).
    #[arg(long)]
    instruments: Option<PathBuf>,
    /// Price script: CSV with time,symbol,price, or a directory of SYMBOL.csv (time,price).
    #[arg(long)]
    prices: Option<PathBuf>,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Simulated start time (RFC 3339); default: the script's first time, else now.
    #[arg(long)]
    start: Option<Timestamp>,
    /// Seed of the random walk and fault shares.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Random-walk step in simulated seconds for unscripted instruments (0 = no walk).
    #[arg(long, default_value_t = 1)]
    walk_seconds: i64,
    /// Cash in the account, rupees.
    #[arg(long, default_value_t = 1_000_000)]
    balance: u64,
    /// Postback URL (loopback http only).
    #[arg(long)]
    postback_url: Option<String>,
    /// Added latency per API request, ms.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of API requests answered 429.
    #[arg(long, default_value_t = 0.0)]
    share_429: f64,
    /// Share answered 500.
    #[arg(long, default_value_t = 0.0)]
    share_500: f64,
    /// Share answered 503.
    #[arg(long, default_value_t = 0.0)]
    share_503: f64,
    /// Every access token stops working at this time (RFC 3339).
    #[arg(long)]
    tokens_expire_at: Option<Timestamp>,
    /// Accept the next N API requests and never answer them.
    #[arg(long, default_value_t = 0)]
    hang_next: u32,
    /// Carry out the next N order placements but never answer them.
    #[arg(long, default_value_t = 0)]
    lose_next_order: u32,
    /// Reject the next N order placements.
    #[arg(long, default_value_t = 0)]
    reject_next_order: u32,
    /// Fill the next N orders in two parts.
    #[arg(long, default_value_t = 0)]
    partial_fill_next: u32,
    /// Keep ticker connections open but send nothing on them.
    #[arg(long)]
    ws_silent: bool,
    /// Enforce Kite's per-second API limits (quotes 1, historical 3, others 10).
    #[arg(long)]
    strict_rate_limits: bool,
    /// Drop every ticker connection every N real seconds (0 = never).
    #[arg(long, default_value_t = 0)]
    ws_drop_every: u64,
    /// Which seconds the per-second limits count: `real` (what a client's pacing sees)
    /// or `sim` (the simulated clock's).
    #[arg(long, default_value = "real", value_parser = parse_rate_clock)]
    rate_clock: RateClock,
    /// A delivery holding to start with, EXCHANGE:SYMBOL:QUANTITY:AVERAGE (repeatable).
    #[arg(long = "holding")]
    holdings: Vec<kite_sim::config::HoldingSeed>,
}

fn parse_rate_clock(text: &str) -> Result<RateClock, String> {
    RateClock::parse(text).ok_or_else(|| format!("expected `real` or `sim`, got {text:?}"))
}

/// The secret as printed at start: the built-in default (no secret at all) in full, so
/// clients can compute checksums; one the user supplied (perhaps a real Kite secret
/// from `KITE_API_SECRET`) never.
fn shown_secret(secret: &str) -> &str {
    if secret == DEFAULT_API_SECRET {
        secret
    } else {
        "(set by --api-secret or KITE_API_SECRET; not shown)"
    }
}

/// The sim's configuration from the flags, or why they do not make one.
fn config(args: Args) -> anyhow::Result<SimConfig> {
    anyhow::ensure!(
        args.listen.ip().is_loopback(),
        "kite-sim listens on loopback only, not {}",
        args.listen
    );
    anyhow::ensure!(
        args.speed > 0.0 && args.speed.is_finite(),
        "--speed must be above 0"
    );
    let config = SimConfig {
        listen: args.listen,
        api_key: args.api_key,
        api_secret: args.api_secret,
        access_token: args.access_token,
        instruments: args.instruments,
        prices: args.prices,
        clock: args.start.map(|start| ClockMode::Running {
            start,
            speed: args.speed,
        }),
        speed: args.speed,
        seed: args.seed,
        walk_every: (args.walk_seconds > 0).then(|| SignedDuration::from_secs(args.walk_seconds)),
        balance: args.balance,
        postback_url: args.postback_url,
        faults: Faults {
            latency_ms: args.latency_ms,
            share_429: args.share_429,
            share_500: args.share_500,
            share_503: args.share_503,
            tokens_expire_at: args.tokens_expire_at,
            hang_next: args.hang_next,
            lose_next_order: args.lose_next_order,
            reject_next_order: args.reject_next_order,
            ws_silent: args.ws_silent,
            partial_fill_next: args.partial_fill_next,
            ..Faults::default()
        },
        holdings: args.holdings,
        strict_rate_limits: args.strict_rate_limits,
        rate_clock: args.rate_clock,
        ws_drop_every: (args.ws_drop_every > 0)
            .then(|| std::time::Duration::from_secs(args.ws_drop_every)),
        ..SimConfig::default()
    };
    config.faults.check().map_err(anyhow::Error::msg)?;
    Ok(config)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let config = config(Args::parse())?;
    let (key, secret, token) = (
        config.api_key.clone(),
        config.api_secret.clone(),
        config.access_token.clone(),
    );
    let sim = Sim::start(config).await.context("starting kite-sim")?;
    println!(
        "kite-sim listening on {} (REST) and {} (ticker)",
        sim.url(),
        sim.ws_url()
    );
    println!("api_key={key} api_secret={}", shown_secret(&secret));
    if let Some(token) = token {
        println!("access_token={token}");
    }
    println!(
        "admin: {}/_sim/requests, /_sim/orders, /_sim/positions, /_sim/price, /_sim/clock, /_sim/faults, /_sim/ws/drop, /_sim/reset",
        sim.url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for ctrl-c")?;
    sim.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> anyhow::Result<SimConfig> {
        let argv = std::iter::once("kite-sim").chain(flags.iter().copied());
        config(Args::try_parse_from(argv)?)
    }

    #[test]
    fn every_fault_flag_lands_in_the_configuration() {
        let config = parse(&[
            "--latency-ms=150",
            "--share-429=0.1",
            "--share-500=0.2",
            "--share-503=0.3",
            "--hang-next=1",
            "--lose-next-order=2",
            "--reject-next-order=3",
            "--partial-fill-next=4",
            "--ws-silent",
            "--ws-drop-every=7",
            "--tokens-expire-at=2026-11-25T05:00:00Z",
            "--rate-clock=sim",
            "--strict-rate-limits",
        ])
        .expect("valid flags");
        let expires: jiff::Timestamp = "2026-11-25T05:00:00Z".parse().expect("time");
        assert_eq!(
            config.faults,
            Faults {
                latency_ms: 150,
                share_429: 0.1,
                share_500: 0.2,
                share_503: 0.3,
                hang_next: 1,
                lose_next_order: 2,
                reject_next_order: 3,
                partial_fill_next: 4,
                ws_silent: true,
                tokens_expire_at: Some(expires),
                reject_message: None,
            }
        );
        assert_eq!(
            config.ws_drop_every,
            Some(std::time::Duration::from_secs(7))
        );
        assert_eq!(config.rate_clock, RateClock::Sim);
        assert!(config.strict_rate_limits);
    }

    #[test]
    fn only_the_built_in_secret_is_ever_printed() {
        assert_eq!(shown_secret(DEFAULT_API_SECRET), DEFAULT_API_SECRET);
        assert!(!shown_secret("real-kite-secret").contains("real-kite-secret"));
    }

    #[test]
    fn defaults_and_refusals() {
        let config = parse(&[]).expect("defaults");
        assert_eq!(config.faults, Faults::default());
        assert_eq!(
            (config.rate_clock, config.ws_drop_every),
            (RateClock::Real, None)
        );
        assert!(parse(&["--listen=0.0.0.0:5001"]).is_err());
        assert!(parse(&["--speed=0"]).is_err());
        assert!(parse(&["--share-503=1.5"]).is_err());
        assert!(parse(&["--rate-clock=wall"]).is_err());
    }
}
