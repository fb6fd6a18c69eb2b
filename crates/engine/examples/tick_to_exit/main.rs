//! Tick-to-exit-order latency through the real ticker path, against an in-process
//! kite-sim on loopback (issue 5, item 11; BENCHMARKS.md "Tick to exit order").
//!
//! ```sh
//! cargo run --release -p kitebreak-engine --example tick_to_exit -- --symbols 200
//! ```
//!
//! Set-up: kite-sim with `--symbols` synthetic NSE equities; the engine (production
//! defaults: 64 shards, SQLite WAL `synchronous=FULL` in `--dir` or a temporary
//! directory, the retry and enforce loops running) over the Kite adapter. Both of its
//! connections to kite-sim pass a loopback TCP relay ([`relay`]): the REST one notes
//! when each `POST /orders` request arrives, the ticker one when each tick frame
//! kite-sim writes is read (and forwards it before looking at it). Every symbol gets
//! five candles and a breakout, so each opens a long trade filled by kite-sim and is
//! subscribed on the ticker.
//!
//! Then, one symbol at a time, `--spacing-ms` apart (Kite's placement budget is 10/s
//! and 400/min; the adapter's governor would otherwise hold orders back, and the
//! run reports any such wait), the sim's price of that symbol is set above its
//! target. The figures per exit start at **tick**: the instant the relay read the
//! frame carrying that symbol's tick, i.e. the tick on the wire, where Kite's latency
//! ends and kitebreak's begins. The relay's forwarding write is inside the figures.
//!
//! - **tick → POST on the wire** (the target's figure): until the exit's
//!   `POST /orders` is on kite-sim's socket, by the kernel's receive timestamp of
//!   its first bytes (on loopback, taken as the engine's write delivers them);
//! - **tick → POST read by relay**: until the relay's read returns those bytes,
//!   i.e. the same plus the relay task's own wake-up (the figure reported as
//!   "tick → POST at kite-sim" on 2026-12-04 and 2026-12-07 00:44–00:52 UTC);
//! - **tick → place_order**: until the engine calls the broker's `place_market`
//!   (ticker decode, routing, the shard's exit check, the send journal's line for
//!   the armed exit), i.e. the engine's part without the HTTP client;
//! - **set_price → tick** and **set_price → POST**: the same from the instant just
//!   before `set_price` (to the relay's read), so kite-sim's own work (the price
//!   change, waking its connection task, building and writing the frame) is added. Runs recorded up
//!   to 2026-12-04 22:15 UTC reported only this last figure, as "tick → POST".
//!
//! `--probe-feed` adds **tick → engine feed**: until the adapter's feed event for the
//! tick is seen (the ticker path alone). The probe reads the adapter's feed itself,
//! so the ticker's events then travel over a channel to the probe's task and over
//! another to the engine's feed loop, where without it the ticker's task hands each
//! tick to its shard directly: the other figures grow by those two hops.
//!
//! The run also prints the machine's steal time while measuring (the hypervisor
//! running something else on a vCPU that wanted to run) and the three slowest exits
//! split into their parts, so a tail can be told apart from the engine's own time.
//!
//! What the relays and the broker wrapper see on the measured path is noted without
//! waking anyone ([`notes`]); the measuring loop reads it once each exit has had its
//! `--spacing-ms`. (At 6b35feb and before they sent it on tokio channels, which
//! woke the loop's thread in the middle of the exit.)
//!
//! `--noise-per-sec N` adds N in-band price changes a second on the other symbols
//! (no exits) while the exits are measured, so the ticker path is busy.
//!
//! `--log` logs as `kitebreak serve` does by default (INFO and up, text, to stderr;
//! redirect it to a file): without it no subscriber is installed and every log call
//! on the path costs nothing, which `serve` does not enjoy.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use kite_sim::{Sim, SimConfig, SimHandle};
use kitebreak_engine::{
    CandleInput, Engine, EngineConfig, FeedState, KiteAdapter, PositionState, Symbol, TradeFilter,
};
use kitebreak_kite::{KiteBroker, KiteConfig, SessionState};
use kitebreak_price::{Price, Quantity, Ratio};
use kitebreak_strategy::{Candle, Relevel, StrategyParams};
use tokio::net::TcpListener;

mod notes;
mod relay;
mod timed;

use relay::{FRESH_POSTS, REST_CONNECTIONS, UNSTAMPED_POSTS};
use timed::Timed;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// 2026-11-25 10:00 IST, a Wednesday with the market open (sim clock, manual).
const START: i64 = 1_795_581_000;

/// Five candles that leave support 95 and resistance 105 (lookback 3), then the
/// breakout: a long at 106.05, target 109.2315, stop 104.9895.
const SETUP: [(&str, &str, &str); 5] = [
    ("101", "99", "100"),
    ("105", "100", "102"),
    ("102", "95", "98"),
    ("103", "97", "100"),
    ("102", "98", "100"),
];
const BREAKOUT: (&str, &str, &str) = ("107", "101", "106");

struct Options {
    symbols: usize,
    spacing: Duration,
    noise_per_sec: u32,
    dir: Option<std::path::PathBuf>,
    probe_feed: bool,
    log: bool,
}

fn options() -> Result<Options, Failure> {
    let mut options = Options {
        symbols: 200,
        spacing: Duration::from_millis(250),
        noise_per_sec: 0,
        dir: None,
        probe_feed: false,
        log: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--symbols" => options.symbols = value()?.parse()?,
            "--spacing-ms" => options.spacing = Duration::from_millis(value()?.parse()?),
            "--noise-per-sec" => options.noise_per_sec = value()?.parse()?,
            "--dir" => options.dir = Some(value()?.into()),
            "--probe-feed" => options.probe_feed = true,
            "--log" => options.log = true,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(options)
}

fn p(text: &str) -> Result<Price, Failure> {
    Ok(text.parse()?)
}

fn candle(high: &str, low: &str, close: &str) -> Result<CandleInput, Failure> {
    let candle = Candle::new(p(high)?, p(low)?, p(close)?)?;
    Ok(CandleInput::new(candle, None, None, None, None)?)
}

fn name(i: usize) -> String {
    format!("SYM{i:04}")
}

/// The instrument token of symbol `i`: its exchange token and NSE's segment (1).
fn token_of(i: usize) -> u32 {
    ((100_000 + i as u32) << 8) | 1
}

/// An instrument dump of `n` synthetic NSE equities.
fn instruments(n: usize, path: &std::path::Path) -> Result<(), Failure> {
    let mut csv = String::from(
        "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange\n",
    );
    for i in 0..n {
        let exchange_token = 100_000 + i as u32;
        let token = token_of(i);
        let name = name(i);
        csv.push_str(&format!(
            "{token},{exchange_token},{name},{name},0.0,,0.0,0.05,1,EQ,NSE,NSE\n"
        ));
    }
    std::fs::write(path, csv)?;
    Ok(())
}

fn placement_waits(engine: &Engine) -> (u64, Duration) {
    engine
        .broker()
        .throttle_waits()
        .iter()
        .find(|w| w.endpoint == "place_order")
        .map_or((0, Duration::ZERO), |w| (w.waits, w.waited))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The machine's steal time so far (`/proc/stat`, all CPUs, in USER_HZ ticks,
/// 10 ms each): time the hypervisor ran something else while a vCPU wanted to run.
fn steal_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines().next()?.split_whitespace().nth(8)?.parse().ok()
}

/// p50/p90/p99/max of `samples`, microseconds.
fn summary(label: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| {
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        samples[rank - 1].as_secs_f64() * 1e6
    };
    if samples.is_empty() {
        println!("{label}: no samples");
        return;
    }
    println!(
        "{label:<24} n={:<5} p50={:>7.0} µs  p90={:>7.0} µs  p99={:>7.0} µs  max={:>7.0} µs",
        samples.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        at(1.0)
    );
}

/// Within `limit`, waits for `check`; the bound only stops a hang.
async fn wait_for<F: FnMut() -> bool>(
    what: &str,
    limit: Duration,
    mut check: F,
) -> Result<(), Failure> {
    let until = Instant::now() + limit;
    while !check() {
        if Instant::now() > until {
            return Err(format!("timed out waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let options = options()?;
    if options.log {
        // As `kitebreak serve` logs by default: INFO and up, text, to stderr.
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(std::io::stderr)
            .init();
    }
    let temp = tempfile::tempdir()?;
    let dir = options
        .dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let dump = temp.path().join("instruments.csv");
    instruments(options.symbols, &dump)?;

    let mut sim_config = SimConfig::for_tests(Timestamp::from_second(START)?);
    sim_config.instruments = Some(dump);
    let sim: SimHandle = Sim::start(sim_config).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let rest = format!("http://{}", listener.local_addr()?);
    let (posts_tx, posts) = notes::channel();
    tokio::spawn(relay::rest(listener, sim.addr(), posts_tx));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let ws = format!("ws://{}", listener.local_addr()?);
    let (frames_tx, frames) = notes::channel();
    tokio::spawn(relay::ticker(listener, sim.addr(), frames_tx));

    let mut kite_config = KiteConfig::new(kite_sim::config::DEFAULT_API_KEY, &dir)
        .with_roots(rest, ws)
        .with_secret(kite_sim::config::DEFAULT_API_SECRET)?;
    kite_config.ticker_silence = Duration::from_secs(5);
    let token = kiteconnect::AccessToken::new("test_access_token")?;
    let kite = KiteBroker::new(kite_config, SessionState::new(Some(token)));
    kite.load_instruments().await?;
    let (placed_tx, placed) = notes::channel();
    let (fed_tx, fed) = notes::channel();
    let broker = Timed {
        kite: KiteAdapter::new(kite),
        placed: placed_tx,
        fed: options.probe_feed.then_some(fed_tx),
    };

    let mut config = EngineConfig::new(dir.join("kitebreak.db"));
    let ratio = |t: &str| t.parse::<Ratio>();
    config.strategy = StrategyParams::new(
        3,
        ratio("0.03")?,
        ratio("0.01")?,
        Relevel::Fresh,
        Quantity::ONE,
    )?;
    let engine = Engine::start(config, Arc::new(broker)).await?;

    let symbols: Vec<Symbol> = (0..options.symbols)
        .map(|i| Symbol::parse(&name(i)))
        .collect::<Result<_, _>>()?;
    let key = |s: &Symbol| format!("NSE:{s}");
    println!(
        "setting up {} open trades (placements at Kite's 10/s and 400/min)...",
        symbols.len()
    );
    let started = Instant::now();
    for symbol in &symbols {
        sim.set_price(&key(symbol), p("100")?);
        for (h, l, c) in SETUP {
            engine.candle(symbol.clone(), candle(h, l, c)?).await?;
        }
        sim.set_price(&key(symbol), p("106.05")?);
        let (h, l, c) = BREAKOUT;
        engine.candle(symbol.clone(), candle(h, l, c)?).await?;
        let status = engine.status(symbol.clone()).await?;
        if status.position != PositionState::Open {
            return Err(format!("{symbol} did not open a trade: {status:?}").into());
        }
    }
    wait_for(
        "every trade watched on a live ticker",
        Duration::from_secs(30),
        || {
            engine.feed_state() == FeedState::Live
                && engine.feed_stats().watched == symbols.len() as u64
        },
    )
    .await?;
    // Let the placement budget refill a little after the entries.
    tokio::time::sleep(Duration::from_secs(2)).await;
    notes::clear(&placed);
    notes::clear(&posts);
    notes::clear(&fed);
    notes::clear(&frames);
    println!("set up in {:.1} s", started.elapsed().as_secs_f64());

    let noise = Arc::new(Mutex::new(true));
    if options.noise_per_sec > 0 {
        let (sim_shared, symbols, running) = (sim.shared().clone(), symbols.clone(), noise.clone());
        let every = Duration::from_secs_f64(1.0 / f64::from(options.noise_per_sec));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            let mut n = 0usize;
            while *running.lock().unwrap_or_else(|e| e.into_inner()) {
                tick.tick().await;
                n += 1;
                let symbol = &symbols[n % symbols.len()];
                // In the band: above the stop (104.9895), below the target (109.2315).
                let micros = 105_500_000 + 50_000 * ((n / symbols.len()) % 40) as i64;
                let Ok(price) = Price::from_micros(micros) else {
                    continue;
                };
                let key = format!("NSE:{symbol}");
                sim_shared.with_world(|world, now| {
                    if let Some(token) = world.catalogue.get(&key).map(|i| i.token) {
                        world.set_price(token, price, now);
                    }
                });
            }
        });
    }

    let (waits_before, _) = placement_waits(&engine);
    let load_before = load_average();
    let steal_before = steal_ticks();
    let ticks_before = engine.feed_stats().ticks;
    let mut to_post = Vec::with_capacity(symbols.len());
    let mut to_post_read = Vec::with_capacity(symbols.len());
    let mut slowest = Vec::with_capacity(symbols.len());
    let mut to_place = Vec::with_capacity(symbols.len());
    let mut to_feed = Vec::with_capacity(symbols.len());
    let mut set_to_post = Vec::with_capacity(symbols.len());
    let mut set_to_wire = Vec::with_capacity(symbols.len());
    let measured = Instant::now();
    let connections_before = REST_CONNECTIONS.load(Ordering::Relaxed);
    let fresh_before = FRESH_POSTS.load(Ordering::Relaxed);
    for (i, symbol) in symbols.iter().enumerate() {
        let next = Instant::now() + options.spacing;
        let sent = Instant::now();
        sim.set_price(&key(symbol), p("110")?);
        // Nothing is read until the exit has had its time: the notes wake nobody
        // on the measured path (see `notes`).
        tokio::time::sleep_until(next.into()).await;
        let (placed_at, placed_symbol) = notes::next(&placed, "the placement").await?;
        if &placed_symbol != symbol {
            return Err(format!("placement for {placed_symbol}, expected {symbol}").into());
        }
        let post = notes::next(&posts, "the exit's POST").await?;
        // The first frame after `sent` with this symbol's tick in it.
        let token = token_of(i);
        let wire = loop {
            let (at, tokens) = notes::next(&frames, "the symbol's tick").await?;
            if at >= sent && tokens.contains(&token) {
                break at;
            }
        };
        notes::clear(&frames);
        to_place.push(placed_at - wire);
        slowest.push((
            post.arrived.saturating_duration_since(wire),
            placed_at.saturating_duration_since(wire),
            post.read.saturating_duration_since(post.arrived),
        ));
        to_post.push(post.arrived.saturating_duration_since(wire));
        to_post_read.push(post.read - wire);
        set_to_post.push(post.read - sent);
        set_to_wire.push(wire - sent);
        // The first tick of this symbol after it was on the wire (noise ticks of
        // others skipped).
        while let Ok((at, fed_symbol)) = fed.try_recv() {
            if &fed_symbol == symbol && at >= wire {
                to_feed.push(at - wire);
                notes::clear(&fed);
                break;
            }
        }
    }
    let elapsed = measured.elapsed();
    *noise.lock().unwrap_or_else(|e| e.into_inner()) = false;
    let (waits_after, _) = placement_waits(&engine);
    wait_for("every trade closed", Duration::from_secs(60), || {
        engine.feed_stats().watched == 0
    })
    .await?;
    let closed = engine.closed_trades(&TradeFilter::default()).await?.len();

    println!(
        "{} exits in {:.1} s, {} closed trades, {} ticks delivered, noise {}/s, database in {}",
        symbols.len(),
        elapsed.as_secs_f64(),
        closed,
        engine.feed_stats().ticks - ticks_before,
        options.noise_per_sec,
        dir.display()
    );
    println!(
        "placements that waited for Kite's budget while measuring: {}",
        waits_after - waits_before
    );
    println!(
        "REST connections opened while measuring: {} ({} in all)",
        REST_CONNECTIONS.load(Ordering::Relaxed) - connections_before,
        REST_CONNECTIONS.load(Ordering::Relaxed)
    );
    println!(
        "exit POSTs sent on a new connection while measuring: {}",
        FRESH_POSTS.load(Ordering::Relaxed) - fresh_before
    );
    println!(
        "exit POSTs without a kernel receive timestamp: {}",
        UNSTAMPED_POSTS.load(Ordering::Relaxed)
    );
    println!(
        "load average before: {load_before}; after: {}",
        load_average()
    );
    println!(
        "steal while measuring: {} ticks of 10 ms",
        match (steal_before, steal_ticks()) {
            (Some(before), Some(after)) => (after - before).to_string(),
            _ => "?".into(),
        }
    );
    slowest.sort();
    for (wire_to_post, wire_to_place, post_to_read) in slowest.iter().rev().take(3) {
        println!(
            "slow exit: tick -> POST on the wire {} µs, of which tick -> place_order {} µs; the relay read it {} µs later",
            wire_to_post.as_micros(),
            wire_to_place.as_micros(),
            post_to_read.as_micros()
        );
    }
    summary("tick -> POST on the wire", &mut to_post);
    summary("tick -> POST read by relay", &mut to_post_read);
    summary("tick -> place_order", &mut to_place);
    if options.probe_feed {
        summary("tick -> engine feed", &mut to_feed);
    }
    summary("set_price -> tick", &mut set_to_wire);
    summary("set_price -> POST", &mut set_to_post);
    engine.shutdown().await;
    sim.shutdown().await;
    Ok(())
}
