//! [`Metrics`]: what `GET /metrics` shows, in Prometheus text format, through the
//! `metrics` facade's types and the Prometheus exporter's recorder.
//!
//! Each [`crate::App`] owns its own recorder, and this module calls the
//! [`metrics::Recorder`] trait on it directly instead of installing a global one.
//! A process has one global recorder; tests start many apps in parallel, and with a
//! shared recorder each test's counters would move with the others' requests (and
//! the second `install` fails). A recorder per app keeps every scrape about its own
//! app only, and the server has no hidden global state.
//!
//! Counters move as events pass through the HTTP layer (every order and webhook
//! outcome in this server does); gauges that are state (open trades, P&L) are read
//! from the engine at scrape time, so they survive restarts and cannot drift.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use kitebreak_engine::{CandleReport, EntryOutcome, ExitOutcome, OrderRecord, OrderStatus};
use kitebreak_strategy::Direction;
use metrics::{Counter, Histogram, Key, Label, Level, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

const REQUESTS: &str = "kitebreak_http_requests_total";
const LATENCY: &str = "kitebreak_http_request_duration_seconds";
const WEBHOOKS: &str = "kitebreak_webhook_alerts_total";
const BREAKOUTS: &str = "kitebreak_breakouts_total";
const ORDERS: &str = "kitebreak_orders_total";
const BROKER_ERRORS: &str = "kitebreak_broker_errors_total";
const ORDER_UPDATES: &str = "kitebreak_order_updates_total";
const TICKER_STATE: &str = "kitebreak_ticker_state";
const TICKS: &str = "kitebreak_price_ticks_total";
const POLLS: &str = "kitebreak_price_polls_total";
const POLL_ERRORS: &str = "kitebreak_price_poll_errors_total";
const WATCHED: &str = "kitebreak_watched_symbols";
const SETTLED_BY_UPDATES: &str = "kitebreak_orders_settled_by_updates_total";
const EXIT_FAILURES: &str = "kitebreak_exit_failures_total";
const CALL_ERRORS: &str = "kitebreak_broker_call_errors_total";
const THROTTLE_WAITS: &str = "kitebreak_broker_throttle_waits_total";
const THROTTLE_SECONDS: &str = "kitebreak_broker_throttle_wait_seconds_total";
/// Latency buckets in seconds: the 10 ms p99 target sits in the middle.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
const META: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// How a webhook alert ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// A candle was applied to its strategy.
    CandleApplied,
    /// A repeated candle (same symbol and time): acknowledged, not applied.
    Duplicate,
    /// A manual buy/sell signal was sent.
    Manual,
    /// The body was not an acceptable alert (4xx).
    Rejected,
    /// The passphrase was missing or wrong.
    Unauthorized,
    /// The client had failed authentication too often (429).
    Throttled,
}

impl WebhookOutcome {
    const COUNT: usize = 6;

    fn label(self) -> &'static str {
        match self {
            WebhookOutcome::CandleApplied => "candle_applied",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Manual => "manual",
            WebhookOutcome::Rejected => "rejected_bad_input",
            WebhookOutcome::Unauthorized => "unauthorized",
            WebhookOutcome::Throttled => "throttled",
        }
    }
}

/// One app's metrics registry.
pub struct Metrics {
    recorder: PrometheusRecorder,
    /// The webhook outcome counters, by [`WebhookOutcome`], registered on first use
    /// (looking a counter up by its key costs a hash and an allocation per alert).
    webhooks: [OnceLock<Counter>; WebhookOutcome::COUNT],
    /// Per route template, the handles of each method seen: the same saving for
    /// the per-request counter and latency histogram.
    routes: Mutex<HashMap<Box<str>, Vec<RouteHandles>>>,
}

/// One route and method's latency histogram and its request counters by status.
struct RouteHandles {
    method: &'static str,
    latency: Histogram,
    by_status: Vec<(StatusCode, Counter)>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// An empty registry with the counters described.
    pub fn new() -> Metrics {
        let builder = PrometheusBuilder::new();
        // Buckets make the latency a Prometheus histogram (aggregatable across
        // instances) instead of a summary; the list is a non-empty constant.
        let builder = match builder.set_buckets_for_metric(Matcher::Full(LATENCY.into()), &BUCKETS)
        {
            Ok(with_buckets) => with_buckets,
            Err(_) => PrometheusBuilder::new(),
        };
        let metrics = Metrics {
            recorder: builder.build_recorder(),
            webhooks: Default::default(),
            routes: Mutex::default(),
        };
        metrics.describe();
        metrics
    }

    fn describe(&self) {
        let r = &self.recorder;
        let text = |t: &'static str| SharedString::const_str(t);
        r.describe_counter(
            REQUESTS.into(),
            None,
            text("HTTP requests by method, route template and status"),
        );
        r.describe_histogram(
            LATENCY.into(),
            Some(Unit::Seconds),
            text("HTTP request latency by method and route template"),
        );
        r.describe_counter(WEBHOOKS.into(), None, text("webhook alerts by outcome"));
        r.describe_counter(
            BREAKOUTS.into(),
            None,
            text("breakouts signalled by candles, by direction"),
        );
        r.describe_counter(
            ORDERS.into(),
            None,
            text("orders sent since start, by purpose and final status"),
        );
        r.describe_counter(
            BROKER_ERRORS.into(),
            None,
            text("requests that failed because the broker failed (502)"),
        );
        let counters: [(&'static str, &'static str); 7] = [
            (
                TICKS,
                "live prices delivered to the strategies (ticker and polls)",
            ),
            (
                POLLS,
                "batched LTP polls made while the ticker was not live",
            ),
            (POLL_ERRORS, "batched LTP polls that failed"),
            (
                SETTLED_BY_UPDATES,
                "orders whose final status came from an order update before polling",
            ),
            (
                EXIT_FAILURES,
                "exit attempts that failed (each retried with backoff, logged at ERROR)",
            ),
            (
                CALL_ERRORS,
                "broker calls of the order path and price polls that failed, by kind",
            ),
            (
                THROTTLE_WAITS,
                "broker requests that waited for the client-side rate limit, by endpoint class",
            ),
        ];
        let gauges: [(&'static str, &'static str); 3] = [
            (
                TICKER_STATE,
                "1 for the live price feed's current state (none: paper), 0 for the others",
            ),
            (WATCHED, "symbols watched for live prices (open trades)"),
            (
                THROTTLE_SECONDS,
                "seconds broker requests waited for the client-side rate limit, by endpoint class",
            ),
        ];
        for (name, help) in gauges {
            r.describe_gauge(name.into(), None, text(help));
        }
        for (name, help) in counters {
            r.describe_counter(name.into(), None, text(help));
        }
        r.describe_counter(
            ORDER_UPDATES.into(),
            None,
            text("order updates received, by source (postback) and outcome (applied, duplicate, ignored, forged, unreadable, unsupported)"),
        );
    }

    fn count(&self, name: &'static str, labels: Vec<Label>) {
        let key = Key::from_parts(name, labels);
        self.recorder.register_counter(&key, &META).increment(1);
    }

    /// Sets a gauge (scrape-time state).
    pub fn gauge(&self, name: &'static str, labels: Vec<Label>, value: f64) {
        let key = Key::from_parts(name, labels);
        self.recorder.register_gauge(&key, &META).set(value);
    }

    /// Counts a webhook alert's outcome.
    pub fn webhook(&self, outcome: WebhookOutcome) {
        self.webhooks[outcome as usize]
            .get_or_init(|| {
                let key = Key::from_parts(WEBHOOKS, vec![Label::new("outcome", outcome.label())]);
                self.recorder.register_counter(&key, &META)
            })
            .increment(1);
    }

    /// Counts a breakout.
    fn breakout(&self, direction: Direction) {
        self.count(
            BREAKOUTS,
            vec![Label::new("direction", direction.to_string())],
        );
    }

    /// Counts an order by purpose (`entry`, `exit`, `manual`) and final status.
    pub fn order(&self, purpose: &'static str, record: &OrderRecord) {
        let status = match record.status {
            OrderStatus::Complete { .. } => "COMPLETE",
            OrderStatus::Rejected { .. } => "REJECTED",
        };
        let labels = vec![Label::new("purpose", purpose), Label::new("status", status)];
        self.count(ORDERS, labels);
    }

    /// Sets a counter to the engine's running total (read at scrape time).
    fn total(&self, name: &'static str, labels: Vec<Label>, value: u64) {
        let key = Key::from_parts(name, labels);
        self.recorder.register_counter(&key, &META).absolute(value);
    }

    /// The engine's live-price feed, exit retries, broker errors by kind and
    /// throttling waits, read from the engine at scrape time.
    pub fn engine_state(&self, engine: &kitebreak_engine::Engine) {
        let current = engine.feed_state();
        for state in kitebreak_engine::FeedState::ALL {
            let on = if state == current { 1.0 } else { 0.0 };
            self.gauge(TICKER_STATE, vec![Label::new("state", state.as_str())], on);
        }
        let feed = engine.feed_stats();
        self.total(TICKS, Vec::new(), feed.ticks);
        self.total(POLLS, Vec::new(), feed.polls);
        self.total(POLL_ERRORS, Vec::new(), feed.poll_errors);
        self.gauge(WATCHED, Vec::new(), feed.watched as f64);
        self.total(SETTLED_BY_UPDATES, Vec::new(), feed.settled_by_updates);
        self.total(EXIT_FAILURES, Vec::new(), engine.exit_failures());
        for (kind, count) in engine.broker_errors() {
            self.total(CALL_ERRORS, vec![Label::new("kind", kind)], count);
        }
        for waits in engine.broker().throttle_waits() {
            let endpoint = || vec![Label::new("endpoint", waits.endpoint)];
            self.total(THROTTLE_WAITS, endpoint(), waits.waits);
            self.gauge(THROTTLE_SECONDS, endpoint(), waits.waited.as_secs_f64());
        }
    }

    /// Counts an order update received from `source` and what it did.
    pub fn order_update(&self, source: &'static str, outcome: &'static str) {
        let labels = vec![Label::new("source", source), Label::new("outcome", outcome)];
        self.count(ORDER_UPDATES, labels);
    }

    /// Counts what a candle did: applied or duplicate, its breakout, its orders.
    pub fn candle(&self, report: &CandleReport) {
        self.webhook(if report.duplicate {
            WebhookOutcome::Duplicate
        } else {
            WebhookOutcome::CandleApplied
        });
        if let Some(direction) = report.breakout {
            self.breakout(direction);
        }
        if let Some(exit) = &report.exit {
            self.exit(exit);
        }
        match &report.entry {
            Some(EntryOutcome::Filled { order, .. } | EntryOutcome::Failed { order, .. }) => {
                self.order("entry", order);
            }
            Some(EntryOutcome::Refused { .. } | EntryOutcome::Unsettled { .. }) | None => {}
        }
    }

    /// Counts an exit order.
    pub fn exit(&self, exit: &ExitOutcome) {
        match exit {
            ExitOutcome::Closed { order, .. } | ExitOutcome::Failed { order, .. } => {
                self.order("exit", order);
            }
        }
    }

    /// Counts a request and records its latency under its route template
    /// (`/strategy/{symbol}`, never the raw path, so symbols cannot explode the label
    /// set; `unmatched` for requests that matched no route).
    pub fn request(&self, method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
        let method = method_label(method);
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        if !routes.contains_key(route) {
            routes.insert(route.into(), Vec::new());
        }
        let Some(methods) = routes.get_mut(route) else {
            return;
        };
        let index = match methods.iter().position(|handles| handles.method == method) {
            Some(index) => index,
            None => {
                let key = Key::from_parts(LATENCY, route_labels(method, route));
                methods.push(RouteHandles {
                    method,
                    latency: self.recorder.register_histogram(&key, &META),
                    by_status: Vec::new(),
                });
                methods.len() - 1
            }
        };
        let handles = &mut methods[index];
        handles.latency.record(elapsed.as_secs_f64());
        match handles.by_status.iter().find(|(seen, _)| *seen == status) {
            Some((_, counter)) => counter.increment(1),
            None => {
                let mut labels = route_labels(method, route);
                labels.push(Label::new("status", status.as_u16().to_string()));
                let counter = self
                    .recorder
                    .register_counter(&Key::from_parts(REQUESTS, labels), &META);
                counter.increment(1);
                handles.by_status.push((status, counter));
            }
        }
        drop(routes);
        if status == StatusCode::BAD_GATEWAY {
            self.count(BROKER_ERRORS, Vec::new());
        }
    }

    /// The registry in Prometheus text format.
    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }

    /// Folds recorded latencies into their histograms; without a scrape they would
    /// pile up, so the app calls this every few seconds.
    pub fn upkeep(&self) {
        self.recorder.handle().run_upkeep();
    }
}

/// The labels of a request series: its method and route template.
fn route_labels(method: &'static str, route: &str) -> Vec<Label> {
    vec![
        Label::new("method", method),
        Label::new("route", route.to_owned()),
    ]
}

/// A request method as a label: the standard ones by name, any other as `OTHER`
/// (a client can send any token as a method; each would be a new series).
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "OTHER",
    }
}
