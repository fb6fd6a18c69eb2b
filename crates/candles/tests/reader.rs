//! The CSV reader against real and deliberately broken files.

use kitebreak_candles::{CandleFileError, CandleReader, CandleRecord};

fn read(text: &str) -> Result<Vec<CandleRecord>, CandleFileError> {
    CandleReader::new(text.as_bytes())?.collect()
}

fn error_of(text: &str) -> String {
    match read(text) {
        Ok(records) => panic!("expected an error, read {} rows", records.len()),
        Err(error) => {
            let mut message = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            message
        }
    }
}

#[test]
fn the_goog_daily_file_loads_as_is() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/GOOG-daily.csv");
    assert!(
        path.exists(),
        "expected the shared data file at {}",
        path.display()
    );
    let records: Vec<CandleRecord> = CandleReader::open(&path)
        .expect("header")
        .collect::<Result<_, _>>()
        .expect("every row");
    assert_eq!(records.len(), 2_148);
    let first = &records[0];
    assert_eq!(first.line, 2);
    assert_eq!(first.open.map(|p| p.to_string()), Some("100".into()));
    assert_eq!(first.candle.high.to_string(), "104.06");
    assert_eq!(first.candle.low.to_string(), "95.96");
    assert_eq!(first.candle.close.to_string(), "100.34");
    assert_eq!(first.volume, Some(22_351_900.0));
    assert_eq!(
        first.time.map(|t| t.to_string()),
        Some("2004-08-18T18:30:00Z".into())
    );
}

#[test]
fn the_bundled_sample_loads() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/GOOG-daily.csv");
    let count = CandleReader::open(&path)
        .expect("header")
        .filter(Result::is_ok)
        .count();
    assert!(count > 500, "sample has only {count} candles");
}

#[test]
fn header_names_match_case_insensitively_in_any_order() {
    let records = read("Close,LOW,High,Timestamp,extra\n10,9,11,1704167100,x\n").expect("rows");
    assert_eq!(records[0].candle.close.to_string(), "10");
    assert_eq!(records[0].candle.low.to_string(), "9");
    assert!(records[0].time.is_some());
    assert_eq!(records[0].open, None);
    assert_eq!(records[0].volume, None);
}

#[test]
fn a_file_without_time_or_open_still_reads() {
    let records = read("high,low,close\n11,9,10\n12,10,11\n").expect("rows");
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].line, 3);
    assert_eq!(records[1].time, None);
}

#[test]
fn missing_and_duplicate_columns_are_named() {
    assert!(error_of("time,high,close\n").contains("no `low` column"));
    assert!(error_of("date,time,high,low,close\n").contains("more than one time column"));
}

#[test]
fn a_bad_row_is_reported_with_its_line_number() {
    let cases = [
        (
            "high,low,close\n11,9,10\n11,abc,10\n",
            "line 3: column `low`",
        ),
        (
            "high,low,close\n11,9,10\n11,9,-10\n",
            "line 3: column `close`",
        ),
        ("high,low,close\n11,9,0\n", "line 2: column `close`"),
        ("high,low,close\n11,9,NaN\n", "line 2: column `close`"),
        (
            "high,low,close\n11,9,10.1234567\n",
            "more than 6 decimal places",
        ),
        ("high,low,close\n11,9\n", "line 2: malformed CSV"),
        (
            "time,high,low,close\nsoon,11,9,10\n",
            "line 2: column `time`",
        ),
        (
            "high,low,close,volume\n11,9,10,-5\n",
            "line 2: column `volume`",
        ),
        ("high,low,close\n11,9,\n", "line 2: column `close`"),
    ];
    for (text, expected) in cases {
        let message = error_of(text);
        assert!(message.contains(expected), "{text:?}: got `{message}`");
    }
}

#[test]
fn inconsistent_candles_pass_by_default_and_fail_in_strict_mode() {
    let text = "high,low,close\n11,9,10\n9,11,10\n";
    assert_eq!(read(text).expect("lenient").len(), 2);
    let strict: Result<Vec<_>, _> = CandleReader::new(text.as_bytes())
        .expect("header")
        .strict(true)
        .collect();
    let error = strict.expect_err("strict refuses");
    assert_eq!(error.to_string(), "line 3");
    let cause = std::error::Error::source(&error).map(ToString::to_string);
    assert_eq!(
        cause.as_deref(),
        Some("invalid candle: low 11 is above high 9")
    );
}
