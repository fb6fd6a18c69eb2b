//! Candles per second of CPU time, and instructions per candle, for comparing changes
//! on a busy machine where wall-clock benchmarks are noisy.
//!
//! The same walk and the same three cases as the criterion bench; the case is the
//! first argument (`lookback10_fresh` when absent), `gen-only` stops after the walk:
//!
//! ```text
//! cargo build --profile bench -p kitebreak-strategy --example throughput
//! perf stat -e task-clock target/release/examples/throughput gen-only
//! perf stat -e task-clock target/release/examples/throughput lookback10_rolling
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/throughput gen-only
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/throughput lookback50_fresh
//! ```
//!
//! (second figure − first) / 50,000,000 is the CPU time (or instructions) per candle.
//! Without perf, the example prints the same from the kernel's per-thread accounting
//! (`/proc/thread-self/schedstat`, Linux): nanoseconds per candle on the CPU, waiting
//! for a CPU (time another process had it: the noise in wall-clock figures), and wall.
//!
//! The random walk spends most candles in a trade. `sideways` (against
//! `sideways-gen-only`) measures the other path, detection on every candle: a close
//! that never moves, between random wicks, so no breakout ever happens.

#[path = "../benches/support/walk.rs"]
mod walk;

use kitebreak_strategy::{
    Candle, FillAtSignalPrice, Price, Quantity, Ratio, Relevel, Strategy, StrategyParams,
};

const PASSES: usize = 5;

fn main() {
    let case = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "lookback10_fresh".to_owned());
    let sideways = case.starts_with("sideways");
    let candles = if sideways {
        sideways_market(10_000_000, 0x5EED)
    } else {
        walk::random_walk(10_000_000, 0x5EED)
    };
    let (lookback, relevel) = match case.as_str() {
        "gen-only" | "sideways-gen-only" => return,
        "lookback10_fresh" | "sideways" => (10, Relevel::Fresh),
        "lookback10_rolling" => (10, Relevel::Rolling),
        "lookback50_fresh" => (50, Relevel::Fresh),
        other => {
            eprintln!(
                "unknown case `{other}`: expected gen-only, lookback10_fresh, \
                 lookback10_rolling, lookback50_fresh, sideways-gen-only or sideways"
            );
            std::process::exit(2);
        }
    };
    let params = StrategyParams::new(
        lookback,
        Ratio::per_million(30_000),
        Ratio::per_million(10_000),
        relevel,
        Quantity::ONE,
    )
    .unwrap_or_else(|error| panic!("benchmark parameters are valid: {error}"));
    let mut exits = 0u64;
    let started = (std::time::Instant::now(), thread_schedstat());
    for _ in 0..PASSES {
        let mut strategy = Strategy::new(params);
        let mut fills = FillAtSignalPrice::default();
        for candle in &candles {
            let events = strategy.on_candle(std::hint::black_box(candle), &mut fills);
            exits += u64::from(events.exit.is_some());
        }
    }
    let wall = started.0.elapsed().as_nanos() as f64;
    let fed = (PASSES * candles.len()) as f64;
    println!(
        "{case}: {exits} exits over {PASSES} passes of {} candles",
        candles.len()
    );
    if let (Some((cpu_before, wait_before)), Some((cpu, wait))) = (started.1, thread_schedstat()) {
        println!(
            "ns per candle: {:.2} on the CPU, {:.2} waiting for it, {:.2} wall",
            (cpu - cpu_before) as f64 / fed,
            (wait - wait_before) as f64 / fed,
            wall / fed
        );
    } else {
        println!("ns per candle: {:.2} wall", wall / fed);
    }
}

/// This thread's time on a CPU and waiting for one, in nanoseconds, where the kernel
/// reports them.
fn thread_schedstat() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = text.split_whitespace().map(|field| field.parse().ok());
    Some((fields.next()??, fields.next()??))
}

/// `count` candles that close at 1000 every time, with random wicks of 0.05 to 0.40
/// either side: every swing low is below the close and every swing high above it, so
/// the strategy stays flat and detects on every candle.
fn sideways_market(count: usize, seed: u64) -> Vec<Candle> {
    const TICK: i64 = 50_000;
    let close = Price::from_micros(1_000_000_000).unwrap_or_else(|error| panic!("{error}"));
    let mut state = seed;
    (0..count)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let r = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
            let wick = |bits: u64| (1 + (bits % 8) as i64) * TICK;
            let at = |micros: i64| Price::from_micros(micros).unwrap_or_else(|e| panic!("{e}"));
            Candle {
                high: at(close.micros() + wick(r >> 16)),
                low: at(close.micros() - wick(r >> 24)),
                close,
            }
        })
        .collect()
}
