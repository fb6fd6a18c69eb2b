//! `kitebreak trace` run as a user runs it: the real binary on CSV files.

use std::path::Path;
use std::process::{Command, Output};

use kitebreak_testkit::{GoldenCase, compare_line, golden_cases};
use serde_json::Value;

fn kitebreak(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kitebreak"))
        .args(args)
        .output()
        .expect("the kitebreak binary runs")
}

fn trace_case(case: &GoldenCase, dir: &Path) -> Output {
    let csv = dir.join(&case.name).with_extension("csv");
    std::fs::write(&csv, case.to_csv()).expect("write the case's CSV");
    let header = &case.header;
    kitebreak(&[
        "trace",
        "--csv",
        csv.to_str().expect("utf-8 temp path"),
        "--lookback",
        &header.lookback.to_string(),
        "--profit-target",
        &header.profit_target.to_string(),
        "--stop-loss",
        &header.stop_loss.to_string(),
        "--relevel",
        &header.relevel.to_string(),
        "--quantity",
        &header.quantity.to_string(),
    ])
}

#[test]
fn trace_reproduces_every_golden_file_line_by_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    for case in golden_cases() {
        let output = trace_case(&case, dir.path());
        assert!(
            output.status.success(),
            "{}: {}",
            case.name,
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).expect("utf-8 output");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), case.lines.len(), "{}: line count", case.name);
        for (expected, line) in case.lines.iter().zip(lines) {
            let actual: Value = serde_json::from_str(line).expect("each line is JSON");
            if let Err(difference) = compare_line(expected, &actual) {
                panic!("{} line {}: {difference}", case.name, expected["i"]);
            }
        }
    }
}

#[test]
fn trace_prints_lines_spaced_like_the_golden_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let case = golden_cases().into_iter().next().expect("a golden case");
    let output = trace_case(&case, dir.path());
    let stdout = String::from_utf8(output.stdout).expect("utf-8 output");
    let first = stdout.lines().next().expect("a first line");
    assert!(first.starts_with("{\"i\": 0, \"high\": "), "{first}");
    assert!(
        first.ends_with(", \"locked\": false, \"events\": []}"),
        "{first}"
    );
}

#[test]
fn trace_runs_on_the_bundled_sample_and_trades() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/GOOG-daily.csv");
    let output = kitebreak(&["trace", "--csv", sample.to_str().expect("utf-8 path")]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8 output");
    assert_eq!(stdout.lines().count(), 2_148);
    assert!(
        stdout.contains("\"type\": \"entry\""),
        "no entry on the sample"
    );
    assert!(
        stdout.contains("\"type\": \"exit\""),
        "no exit on the sample"
    );
}

#[test]
fn a_bad_row_stops_trace_with_its_line_number_and_no_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "date,high,low,close\n2024-01-01,11,9,10\n2024-01-02,11,9,-3\n",
    )
    .expect("write CSV");
    let output = kitebreak(&["trace", "--csv", csv.to_str().expect("utf-8 path")]);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "partial output was printed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 3: column `close`"), "{stderr}");
    assert!(stderr.contains("must not be negative"), "{stderr}");
}

#[test]
fn bad_strategy_flags_are_refused_before_reading() {
    let output = kitebreak(&["trace", "--csv", "missing.csv", "--stop-loss", "1.5"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("stop_loss"), "{stderr}");
}

#[test]
fn inconsistent_candles_warn_by_default_and_fail_with_strict() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("odd.csv");
    std::fs::write(&csv, "high,low,close\n11,9,10\n9,11,10\n").expect("write CSV");
    let path = csv.to_str().expect("utf-8 path");
    let lenient = kitebreak(&["trace", "--csv", path]);
    assert!(lenient.status.success());
    assert!(String::from_utf8_lossy(&lenient.stderr).contains("line 3"));
    let strict = kitebreak(&["trace", "--csv", path, "--strict"]);
    assert!(!strict.status.success());
    assert!(strict.stdout.is_empty());
}
