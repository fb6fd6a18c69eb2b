//! Every golden file, through the whole engine: shards, order lifecycle, paper
//! fills and SQLite commits. The 24 cases run as 24 symbols at once, so the group
//! commit is exercised too. With no slippage the paper broker fills at the close,
//! which is the golden files' close-only model, so every line must match.

use std::sync::Arc;

use kitebreak_engine::{
    CandleInput, CandleReport, Engine, EngineConfig, EntryOutcome, ExitOutcome, PaperBroker,
};
use kitebreak_price::{Price, Rounding};
use kitebreak_strategy::Candle;
use kitebreak_testkit::{compare_line, golden_cases};
use serde_json::{Value, json};

use crate::helpers::sym;

fn price(value: &Value) -> Price {
    serde_json::from_value(value.clone()).expect("golden price")
}

fn opt(price: Option<Price>) -> Value {
    price.map_or(Value::Null, |p| json!(p.to_f64()))
}

/// The golden line the engine's report describes.
fn line(i: u64, candle: &Candle, report: &CandleReport) -> Value {
    let mut events = Vec::new();
    if let Some(ExitOutcome::Closed { closed, .. }) = &report.exit {
        events.push(json!({"type": "exit", "reason": closed.exit_reason,
            "price": closed.price_exit.to_f64(), "pnl": closed.pnl.to_f64(),
            "pnl_percent": closed.pnl_percent.rounded(2, Rounding::HalfEven).to_f64()}));
    }
    if let Some(EntryOutcome::Filled { trade, .. }) = &report.entry {
        events.push(json!({"type": "entry", "direction": trade.direction,
            "price": trade.price_entry.to_f64(), "target": trade.price_target.to_f64(),
            "stop": trade.price_stop.to_f64()}));
    }
    json!({"i": i, "high": candle.high.to_f64(), "low": candle.low.to_f64(),
        "close": candle.close.to_f64(), "support": opt(report.levels.support),
        "resistance": opt(report.levels.resistance), "locked": report.locked, "events": events})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_reproduces_every_golden_file_with_paper_fills() {
    let cases = golden_cases();
    assert_eq!(cases.len(), 24, "expected the 24 golden files of shared/");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = EngineConfig::new(dir.path().join("kitebreak.db"));
    for (n, case) in cases.iter().enumerate() {
        config
            .symbol_params
            .insert(sym(&format!("CASE{n}")), case.header.params());
    }
    let engine = Engine::start(config, Arc::new(PaperBroker::new(0)))
        .await
        .expect("engine starts");
    let mut runs = tokio::task::JoinSet::new();
    for (n, case) in cases.into_iter().enumerate() {
        runs.spawn(replay(engine.clone(), format!("CASE{n}"), case));
    }
    let mut candles = 0;
    while let Some(run) = runs.join_next().await {
        candles += run
            .expect("task")
            .unwrap_or_else(|difference| panic!("{difference}"));
    }
    assert!(candles > 4_000, "only {candles} candles checked");
    let stats = engine.commit_stats();
    assert!(
        stats.jobs >= candles as u64,
        "every candle is committed: {stats:?}"
    );
    eprintln!(
        "group commit: {} jobs in {} transactions",
        stats.jobs, stats.transactions
    );
    engine.shutdown().await;
}

async fn replay(
    engine: Engine,
    symbol: String,
    case: kitebreak_testkit::GoldenCase,
) -> Result<usize, String> {
    for expected in &case.lines {
        // Built directly, not with `CandleInput::new`: six golden candles have
        // low > high and are taken as given, as the original did.
        let candle = Candle {
            high: price(&expected["high"]),
            low: price(&expected["low"]),
            close: price(&expected["close"]),
        };
        let input = CandleInput {
            candle,
            open: None,
            volume: None,
            time: None,
            quantity: None,
        };
        let report = engine.candle(sym(&symbol), input).await.expect("candle");
        let i = expected["i"].as_u64().expect("golden index");
        compare_line(expected, &line(i, &candle, &report))
            .map_err(|difference| format!("{} candle {i}: {difference}", case.name))?;
    }
    Ok(case.lines.len())
}
