//! Property tests of the webhook parser through the real router (`oneshot`, the
//! same extractor and parser the server runs): arbitrary bytes and JSON-ish objects
//! with the webhook's keys and random values never panic nor yield a 5xx; every
//! rejection is a 4xx JSON error with a message; valid candles are accepted.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use kitebreak_server::App;
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

use crate::helpers::config;

/// A router over a fresh database, driven by its own current-thread runtime.
struct Harness {
    runtime: tokio::runtime::Runtime,
    router: Router,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let app = runtime
            .block_on(App::start(config(dir.path())))
            .expect("app starts");
        Harness {
            runtime,
            router: app.router(),
            _dir: dir,
        }
    }

    /// Posts `body` as text/plain; the status and the JSON answer.
    fn post(&self, body: Vec<u8>) -> (StatusCode, Value) {
        self.runtime.block_on(async {
            let request = Request::post("/webhook")
                .header("content-type", "text/plain")
                .body(Body::from(body))
                .expect("request");
            let response = self
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("infallible");
            let status = response.status();
            let bytes = to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body");
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        })
    }
}

/// The contract for any body: 200 success, or a 4xx JSON error with a message.
fn check_answer(status: StatusCode, body: &Value) -> Result<(), TestCaseError> {
    if status == StatusCode::OK {
        prop_assert_eq!(&body["status"], "success", "{}", body);
    } else {
        prop_assert!(status.is_client_error(), "{} {}", status, body);
        prop_assert_eq!(&body["status"], "error", "{}", body);
        let message = body["message"].as_str().unwrap_or_default();
        prop_assert!(!message.is_empty(), "no message: {}", body);
    }
    Ok(())
}

const KEYS: [&str; 12] = [
    "symbol",
    "high",
    "low",
    "close",
    "open",
    "volume",
    "time",
    "timestamp",
    "quantity",
    "action",
    "passphrase",
    "extra",
];

/// Raw JSON text of a random value: numbers of every size and shape (including ones
/// no float holds), numeric and unicode strings, literals, arrays and objects.
fn raw_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "-?[0-9]{1,25}(\\.[0-9]{1,8})?([eE][+-]?[0-9]{1,3})?",
        "\"-?[0-9]{1,12}(\\.[0-9]{0,6})?\"",
        any::<f64>().prop_map(|f| serde_json::to_string(&f).unwrap_or_default()),
        any::<i64>().prop_map(|i| i.to_string()),
        "\\PC{0,24}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        prop::sample::select(vec![
            "true",
            "false",
            "null",
            "\"NaN\"",
            "\"inf\"",
            "\"-0\"",
            "0",
            "-0.0",
            "\"buy\"",
            "\"SELL\"",
            "\"\"",
            "\"RELIANCE\"",
            "\"../etc\"",
            "1e400",
            "\"2024-01-01T09:15:00Z\"",
        ])
        .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-z]{1,6}", inner), 0..3).prop_map(|v| {
                let entries: Vec<String> = v.iter().map(|(k, x)| format!("\"{k}\":{x}")).collect();
                format!("{{{}}}", entries.join(","))
            }),
        ]
    })
}

/// A JSON-ish object with some of the webhook's keys.
fn alert_object() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(KEYS.to_vec()), raw_value()), 0..9).prop_map(
        |entries| {
            let fields: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("\"{k}\":{v}"))
                .collect();
            format!("{{{}}}", fields.join(","))
        },
    )
}

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn arbitrary_bytes_never_panic_and_get_a_json_answer() {
    let harness = Harness::new();
    proptest!(cases(256), |(bytes in prop::collection::vec(any::<u8>(), 0..300))| {
        let (status, body) = harness.post(bytes);
        check_answer(status, &body)?;
    });
}

#[test]
fn json_ish_alerts_never_panic_and_every_rejection_is_a_4xx_with_a_message() {
    let harness = Harness::new();
    proptest!(cases(384), |(text in alert_object())| {
        let (status, body) = harness.post(text.into_bytes());
        check_answer(status, &body)?;
    });
}

/// A price in paise as a JSON number or a numeric string.
fn price_text(paise: u64, as_string: bool) -> String {
    let text = format!("{}.{:02}", paise / 100, paise % 100);
    if as_string {
        format!("\"{text}\"")
    } else {
        text
    }
}

#[test]
fn valid_candles_are_accepted() {
    let harness = Harness::new();
    let candle = (
        "[A-Za-z][A-Za-z0-9&_.-]{0,20}",
        1u64..10_000_000,
        0u64..100_000,
        0u64..100_000,
        any::<[bool; 3]>(),
    );
    proptest!(cases(128), |((symbol, low, up, above, strings) in candle)| {
        let (close, high) = (low + up, low + up + above);
        let text = format!(
            r#"{{"symbol":"{symbol}","high":{},"low":{},"close":{}}}"#,
            price_text(high, strings[0]), price_text(low, strings[1]), price_text(close, strings[2]),
        );
        let (status, body) = harness.post(text.clone().into_bytes());
        prop_assert_eq!(status, StatusCode::OK, "{} -> {}", text, body);
        prop_assert_eq!(&body["symbol"], &Value::from(symbol.to_uppercase()));
    });
}
