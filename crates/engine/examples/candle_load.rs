//! Engine-only load: many concurrent callers apply new candles through
//! `Engine::candle` (the paper broker, a fresh database, every reply durable), with
//! no HTTP in the way. It isolates the cost of the engine and its store, which the
//! HTTP benchmark (`bench/load.sh`) measures together with hyper, axum and wrk.
//!
//! ```sh
//! cargo run --release -p kitebreak-engine --example candle_load -- \
//!     [--callers 64] [--symbols 512] [--shards 64] [--seconds 10]
//! ```
//!
//! Prints candles per second, latency percentiles, the process's CPU time per
//! candle (user + system, so a busy machine inflates it less than wall-clock rates)
//! and the group commit's jobs per transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kitebreak_engine::{CandleInput, Engine, EngineConfig, PaperBroker, Symbol};
use kitebreak_price::Price;
use kitebreak_strategy::Candle;

struct Options {
    callers: u64,
    symbols: u64,
    shards: usize,
    seconds: u64,
}

fn options() -> Result<Options, Box<dyn std::error::Error>> {
    let mut options = Options {
        callers: 64,
        symbols: 512,
        shards: EngineConfig::DEFAULT_SHARDS,
        seconds: 10,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--callers" => options.callers = value.parse()?,
            "--symbols" => options.symbols = value.parse()?,
            "--shards" => options.shards = value.parse()?,
            "--seconds" => options.seconds = value.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(options)
}

/// Alert number `n`: symbol `n % symbols` at minute `n / symbols`, a wiggle around
/// 1000 so that levels form and break now and then (as `bench/candles.lua`).
fn alert(n: u64, symbols: u64) -> Result<(Symbol, CandleInput), Box<dyn std::error::Error>> {
    let symbol = Symbol::parse(&format!("SYM{}", n % symbols))?;
    let minute = n / symbols;
    let base = i64::try_from(1000 + (minute * 7 + n) % 40)?;
    let price = |units: i64, micros: i64| Price::from_micros(units * 1_000_000 + micros);
    let candle = Candle {
        high: price(base + 2, 500_000)?,
        low: price(base - 3, 500_000)?,
        close: price(base, 0)?,
    };
    let time = jiff::Timestamp::from_second(1_700_000_000 + i64::try_from(minute)? * 60)?;
    Ok((
        symbol,
        CandleInput::new(candle, None, None, Some(time), None)?,
    ))
}

/// User + system CPU time of this process so far (Linux `/proc`, in clock ticks of
/// 1/100 s, the fixed USER_HZ of `/proc`).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let total = ticks(11).unwrap_or(0) + ticks(12).unwrap_or(0);
    Duration::from_millis(total * 10)
}

/// Bytes this process has passed to write calls so far (`wchar` of
/// `/proc/self/io`): here nearly all WAL frames and checkpoint pages, since the
/// example has no sockets. Less sensitive to the machine's load than time.
fn bytes_written() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    io.lines()
        .find_map(|line| line.strip_prefix("wchar:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    let dir = tempfile::tempdir()?;
    let mut config = EngineConfig::new(dir.path().join("kitebreak.db"));
    config.shards = options.shards;
    let engine = Engine::start(config, Arc::new(PaperBroker::default())).await?;
    println!(
        "{} callers, {} symbols, {} shards, {} s",
        options.callers, options.symbols, options.shards, options.seconds
    );

    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let cpu_before = cpu_time();
    let written_before = bytes_written();
    let started = Instant::now();
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..options.callers {
        let (engine, next, stop) = (engine.clone(), Arc::clone(&next), Arc::clone(&stop));
        let symbols = options.symbols;
        callers.spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let (symbol, input) = alert(next.fetch_add(1, Ordering::Relaxed), symbols)
                    .map_err(|e| e.to_string())?;
                let sent = Instant::now();
                engine
                    .candle(symbol, input)
                    .await
                    .map_err(|e| e.to_string())?;
                latencies.push(sent.elapsed());
            }
            Ok::<_, String>(latencies)
        });
    }
    tokio::time::sleep(Duration::from_secs(options.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    while let Some(done) = callers.join_next().await {
        latencies.extend(done??);
    }
    let elapsed = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    let written = bytes_written().saturating_sub(written_before);
    let stats = engine.commit_stats();
    engine.shutdown().await;

    latencies.sort_unstable();
    let count = latencies.len();
    let percentile = |p: f64| {
        let rank = ((count as f64) * p / 100.0).ceil() as usize;
        latencies
            .get(rank.saturating_sub(1).min(count.saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "candles: {count} in {:.1} s = {:.0}/s",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(50.0).as_secs_f64() * 1e3,
        percentile(99.0).as_secs_f64() * 1e3,
        percentile(100.0).as_secs_f64() * 1e3
    );
    println!(
        "CPU: {:.2} s = {:.1} us per candle",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / count.max(1) as f64
    );
    println!(
        "written: {:.1} MB = {:.0} bytes per candle (WAL frames and checkpoints)",
        written as f64 / 1e6,
        written as f64 / count.max(1) as f64
    );
    println!(
        "group commit: {} jobs in {} transactions = {:.1} per fsync",
        stats.jobs,
        stats.transactions,
        stats.jobs as f64 / stats.transactions.max(1) as f64
    );
    Ok(())
}
