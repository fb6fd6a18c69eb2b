//! Test helpers shared across kitebreak's crates (never a runtime dependency).
//!
//! The golden strategy files live outside the repository, in `../shared/golden/strategy`
//! beside the checkout. They are read at test time; when they are missing the tests
//! fail with a message naming the expected folder instead of passing silently.

use std::path::{Path, PathBuf};

use kitebreak_price::{Quantity, Ratio};
use kitebreak_strategy::{Relevel, StrategyParams};
use serde_json::Value;

/// `../shared` next to the workspace root.
pub fn shared_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared = workspace.join("../shared");
    assert!(
        shared.is_dir(),
        "the shared folder is expected at {} (beside the repository checkout); \
         clone the project so that ../shared exists",
        shared.display()
    );
    shared
}

/// The first line of a golden file.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct GoldenHeader {
    /// Candles examined for swing points.
    pub lookback: usize,
    /// Profit target fraction.
    pub profit_target: Ratio,
    /// Stop loss fraction.
    pub stop_loss: Ratio,
    /// `fresh` or `rolling`.
    pub relevel: Relevel,
    /// Order quantity.
    pub quantity: Quantity,
    /// Candle lines that follow.
    pub candles: usize,
}

impl GoldenHeader {
    /// The strategy parameters this case was produced with.
    pub fn params(&self) -> StrategyParams {
        StrategyParams::new(
            self.lookback,
            self.profit_target,
            self.stop_loss,
            self.relevel,
            self.quantity,
        )
        .expect("golden parameters are valid")
    }
}

/// One golden file: its header and one expected JSON object per candle.
#[derive(Debug, Clone)]
pub struct GoldenCase {
    /// File name, for messages.
    pub name: String,
    /// Parameters.
    pub header: GoldenHeader,
    /// Expected state after each candle.
    pub lines: Vec<Value>,
}

impl GoldenCase {
    /// The case's candles as CSV text with a `time,high,low,close` header (time is the
    /// candle index as epoch seconds), for feeding `kitebreak trace`.
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("time,high,low,close\n");
        for line in &self.lines {
            let field = |key: &str| line[key].to_string();
            csv.push_str(&format!(
                "{},{},{},{}\n",
                line["i"],
                field("high"),
                field("low"),
                field("close")
            ));
        }
        csv
    }
}

/// Every golden case, sorted by name. Fails loudly if the folder is missing or empty.
pub fn golden_cases() -> Vec<GoldenCase> {
    let dir = shared_dir().join("golden/strategy");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("golden files expected in {}: {e}", dir.display()));
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    paths.sort();
    assert!(
        !paths.is_empty(),
        "no golden .jsonl files in {}",
        dir.display()
    );
    paths.iter().map(|path| read_case(path)).collect()
}

fn read_case(path: &Path) -> GoldenCase {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let header_line = lines
        .next()
        .unwrap_or_else(|| panic!("{} is empty", path.display()));
    let header: GoldenHeader = serde_json::from_str(header_line)
        .unwrap_or_else(|e| panic!("bad header in {}: {e}", path.display()));
    let lines: Vec<Value> = lines
        .map(|line| serde_json::from_str(line).expect("golden line is JSON"))
        .collect();
    assert_eq!(
        lines.len(),
        header.candles,
        "{}: candle count",
        path.display()
    );
    GoldenCase {
        name: path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        header,
        lines,
    }
}

/// Tolerance for targets and stops (the golden files print exact rationals).
pub const PRICE_TOLERANCE: f64 = 1e-6;
/// Tolerance for pnl and pnl_percent (both rounded to 2 places; ties may differ).
pub const PNL_TOLERANCE: f64 = 0.01;

/// Compares one actual trace line with the expected golden line; `Err` says what differs.
pub fn compare_line(expected: &Value, actual: &Value) -> Result<(), String> {
    for key in [
        "i",
        "high",
        "low",
        "close",
        "support",
        "resistance",
        "locked",
    ] {
        if !same_number_or_value(&expected[key], &actual[key], 0.0) {
            return Err(format!(
                "`{key}`: expected {}, got {}",
                expected[key], actual[key]
            ));
        }
    }
    let no_events = Vec::new();
    let expected_events = expected["events"].as_array().unwrap_or(&no_events);
    let actual_events = actual["events"].as_array().unwrap_or(&no_events);
    if expected_events.len() != actual_events.len() {
        return Err(format!(
            "events: expected {}, got {}",
            expected["events"], actual["events"]
        ));
    }
    for (want, got) in expected_events.iter().zip(actual_events) {
        compare_event(want, got)?;
    }
    Ok(())
}

fn compare_event(want: &Value, got: &Value) -> Result<(), String> {
    let keys: &[(&str, f64)] = match want["type"].as_str() {
        Some("entry") => &[
            ("type", 0.0),
            ("direction", 0.0),
            ("price", 0.0),
            ("target", PRICE_TOLERANCE),
            ("stop", PRICE_TOLERANCE),
        ],
        Some("exit") => &[
            ("type", 0.0),
            ("reason", 0.0),
            ("price", 0.0),
            ("pnl", PNL_TOLERANCE),
            ("pnl_percent", PNL_TOLERANCE),
        ],
        _ => return Err(format!("unknown golden event {want}")),
    };
    for &(key, tolerance) in keys {
        if !same_number_or_value(&want[key], &got[key], tolerance) {
            return Err(format!("event `{key}`: expected {want}, got {got}"));
        }
    }
    Ok(())
}

fn same_number_or_value(want: &Value, got: &Value, tolerance: f64) -> bool {
    match (want.as_f64(), got.as_f64()) {
        // A small slack on top of the tolerance absorbs the printing of binary floats.
        (Some(w), Some(g)) => (w - g).abs() <= tolerance + 1e-9 * w.abs().max(1.0),
        _ => want == got,
    }
}
