//! Candles per second of CPU time, for comparing changes on a busy machine where
//! wall-clock benchmarks are noisy:
//!
//! ```text
//! cargo build --profile bench -p kitebreak-strategy --example throughput
//! perf stat -e task-clock target/release/examples/throughput gen-only
//! perf stat -e task-clock target/release/examples/throughput
//! ```
//!
//! (second task-clock − first) / 50,000,000 is the CPU time per candle.

#[path = "../benches/support/walk.rs"]
mod walk;

use kitebreak_strategy::{FillAtSignalPrice, Strategy, StrategyParams};

fn main() {
    let candles = walk::random_walk(10_000_000, 0x5EED);
    if std::env::args().any(|arg| arg == "gen-only") {
        return;
    }
    let mut exits = 0u64;
    for _ in 0..5 {
        let mut strategy = Strategy::new(StrategyParams::default());
        let mut fills = FillAtSignalPrice::default();
        for candle in &candles {
            let events = strategy.on_candle(std::hint::black_box(candle), &mut fills);
            exits += u64::from(events.exit.is_some());
        }
    }
    println!("{exits} exits over 5 passes of {} candles", candles.len());
}
