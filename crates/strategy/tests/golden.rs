//! Every golden file, reproduced candle by candle through the strategy core.

use kitebreak_strategy::{Candle, FillAtSignalPrice, Price, Strategy, TraceLine};
use kitebreak_testkit::{compare_line, golden_cases};
use serde_json::Value;

fn price(value: &Value) -> Price {
    serde_json::from_value(value.clone()).expect("golden price")
}

#[test]
fn the_core_reproduces_every_golden_file() {
    let cases = golden_cases();
    let mut candles_checked = 0;
    for case in &cases {
        let mut strategy = Strategy::new(case.header.params());
        for expected in &case.lines {
            // Not `Candle::new`: six golden candles have low > high, taken as given.
            let candle = Candle {
                high: price(&expected["high"]),
                low: price(&expected["low"]),
                close: price(&expected["close"]),
            };
            let events = strategy.on_candle(&candle, &mut FillAtSignalPrice::default());
            let i = expected["i"].as_u64().expect("golden index");
            let line = TraceLine::new(i, &candle, &strategy, &events);
            let actual = serde_json::to_value(&line).expect("trace line serializes");
            if let Err(difference) = compare_line(expected, &actual) {
                panic!("{} candle {i}: {difference}", case.name);
            }
            candles_checked += 1;
        }
    }
    assert_eq!(cases.len(), 24, "expected the 24 golden files of shared/");
    assert!(
        candles_checked > 4_000,
        "only {candles_checked} candles checked"
    );
}
