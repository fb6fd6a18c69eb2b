//! The seeded random walk shared by the benchmark and the `throughput` example.

use kitebreak_strategy::{Candle, Price};

/// `count` candles of a seeded random walk on a 0.05 grid around 1000, with wicks.
pub fn random_walk(count: usize, seed: u64) -> Vec<Candle> {
    const TICK: i64 = 50_000; // 0.05 in micro-units
    let mut state = seed;
    let mut next = move || {
        // xorshift64*: fast and good enough for a benchmark's price path.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut close: i64 = 1_000_000_000;
    let price = |micros: i64| Price::from_micros(micros.max(TICK)).expect("positive");
    (0..count)
        .map(|_| {
            let r = next();
            let step = ((r % 41) as i64 - 20) * TICK;
            let open = close;
            close = (close + step).max(100 * TICK);
            let wick_up = ((r >> 16) % 8) as i64 * TICK;
            let wick_down = ((r >> 24) % 8) as i64 * TICK;
            Candle {
                high: price(open.max(close) + wick_up),
                low: price(open.min(close) - wick_down),
                close: price(close),
            }
        })
        .collect()
}
