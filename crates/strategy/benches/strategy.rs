//! Throughput of the strategy core: candles per second on one core.
//!
//! `cargo bench -p kitebreak-strategy --bench strategy` feeds a 10-million-candle
//! random walk (generated before timing) through `Strategy::on_candle` with the
//! close-only fill model, as `trace` and the close-only backtest do.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kitebreak_strategy::{
    Candle, FillAtSignalPrice, Quantity, Ratio, Relevel, Strategy, StrategyParams,
};

const CANDLES: usize = 10_000_000;

#[path = "support/walk.rs"]
mod walk;
use walk::random_walk;

fn run(params: StrategyParams, candles: &[Candle]) -> u64 {
    let mut strategy = Strategy::new(params);
    let mut fills = FillAtSignalPrice::default();
    let mut trades = 0;
    for candle in candles {
        let events = strategy.on_candle(black_box(candle), &mut fills);
        trades += u64::from(events.exit.is_some());
    }
    trades
}

fn params(lookback: usize, relevel: Relevel) -> StrategyParams {
    StrategyParams::new(
        lookback,
        Ratio::per_million(30_000),
        Ratio::per_million(10_000),
        relevel,
        Quantity::ONE,
    )
    .expect("valid parameters")
}

fn core_throughput(c: &mut Criterion) {
    let candles = random_walk(CANDLES, 0x5EED);
    let mut group = c.benchmark_group("strategy_core");
    group.throughput(Throughput::Elements(CANDLES as u64));
    group.sample_size(10);
    for (name, lookback, relevel) in [
        ("lookback10_fresh", 10, Relevel::Fresh),
        ("lookback10_rolling", 10, Relevel::Rolling),
        ("lookback50_fresh", 50, Relevel::Fresh),
    ] {
        let params = params(lookback, relevel);
        group.bench_function(name, |b| b.iter(|| run(params, black_box(&candles))));
    }
    group.finish();
}

criterion_group!(benches, core_throughput);
criterion_main!(benches);
