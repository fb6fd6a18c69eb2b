//! Shared set-up: an engine on a fresh temporary database, candles and prices.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kitebreak_engine::{
    BoxFuture, Broker, BrokerError, CandleInput, Engine, EngineConfig, FoundOrder, MarketOrder,
    Ohlc, OrderId, OrderReport, OrderStatus, PaperBroker, PositionReport, Symbol,
};
use kitebreak_price::{Price, Quantity, Ratio};
use kitebreak_strategy::{Candle, Relevel, StrategyParams};

/// A paper broker for tests: it can be told to reject every order, and with an
/// audit database it records, for every order it receives, the order's status in
/// that database at that moment (to prove the intent was durable before sending).
#[derive(Debug, Default)]
pub struct TestBroker {
    pub paper: PaperBroker,
    pub reject: AtomicBool,
    /// Final status reads fail as if the broker were unreachable.
    pub status_lost: AtomicBool,
    /// Placements answer "outcome unknown" without placing anything (the answer was
    /// lost and the order never reached the broker).
    pub place_lost: AtomicBool,
    /// Placements are placed, but their answer is lost ("outcome unknown").
    pub answer_lost: AtomicBool,
    /// Placements are refused for certain as a rate limit (HTTP 429): nothing placed.
    pub place_refused: AtomicBool,
    /// Final status reads end with the order still working.
    pub still_working: AtomicBool,
    /// This many tag look-ups find nothing (the broker shows orders late).
    pub hidden_lookups: std::sync::atomic::AtomicU32,
    /// Tag look-ups made.
    pub lookups: std::sync::atomic::AtomicU32,
    pub audit: Option<std::path::PathBuf>,
    pub seen: std::sync::Mutex<Vec<(String, String)>>,
}

impl TestBroker {
    pub fn auditing(database: std::path::PathBuf) -> TestBroker {
        TestBroker {
            audit: Some(database),
            ..TestBroker::default()
        }
    }

    pub fn rejecting(&self, on: bool) {
        self.reject.store(on, Ordering::SeqCst);
    }

    async fn status_in(database: &Path, tag: &str) -> String {
        use sqlx::{ConnectOptions, Row};
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(database)
            .read_only(true);
        let mut db = options.connect().await.expect("open database");
        let row = sqlx::query("SELECT status FROM orders WHERE tag = ?")
            .bind(tag)
            .fetch_optional(&mut db)
            .await
            .expect("query");
        let status: String = row.map_or("MISSING".into(), |r| r.get("status"));
        // An armed exit goes out before its PENDING row is committed; what makes
        // that safe is the send journal naming it first. Its PENDING commit runs
        // alongside the send, so by the time this looks the row may be either.
        let mut journal = database.as_os_str().to_owned();
        journal.push(".sending");
        let noted = std::fs::read_to_string(&journal)
            .unwrap_or_default()
            .lines()
            .any(|line| line == format!("sent {tag}"));
        if status != "ARMED" && !(noted && status == "PENDING") {
            return status;
        }
        if noted {
            "ARMED, journalled".into()
        } else {
            "ARMED, not journalled".into()
        }
    }
}

impl Broker for TestBroker {
    fn name(&self) -> &'static str {
        "test"
    }
    fn place_market(&self, order: MarketOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        Box::pin(async move {
            if let Some(database) = &self.audit {
                let status = Self::status_in(database, &order.tag).await;
                self.seen
                    .lock()
                    .expect("lock")
                    .push((order.tag.clone(), status));
            }
            if self.place_lost.load(Ordering::SeqCst) {
                return Err(BrokerError::OutcomeUnknown(order.tag));
            }
            if self.place_refused.load(Ordering::SeqCst) {
                return Err(BrokerError::Unavailable(
                    "HTTP 429: too many requests".into(),
                ));
            }
            let tag = order.tag.clone();
            let placed = self.paper.place_market(order).await;
            if placed.is_ok() && self.answer_lost.load(Ordering::SeqCst) {
                return Err(BrokerError::OutcomeUnknown(tag));
            }
            placed
        })
    }
    fn final_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        if self.status_lost.load(Ordering::SeqCst) {
            return Box::pin(async { Err(BrokerError::Unavailable("read timed out".into())) });
        }
        if self.still_working.load(Ordering::SeqCst) {
            return Box::pin(async move { Err(BrokerError::StillWorking(id.to_owned())) });
        }
        if self.reject.load(Ordering::SeqCst) {
            return Box::pin(async {
                Ok(OrderStatus::Rejected {
                    reason: "RMS: margin exceeds".into(),
                })
            });
        }
        self.paper.final_status(id)
    }
    fn ltp<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Price, BrokerError>> {
        self.paper.ltp(symbol)
    }
    fn ohlc<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Ohlc, BrokerError>> {
        self.paper.ohlc(symbol)
    }
    fn find_by_tag<'a>(
        &'a self,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Option<FoundOrder>, BrokerError>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let hidden = self
            .hidden_lookups
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if hidden {
            return Box::pin(async { Ok(None) });
        }
        self.paper.find_by_tag(tag)
    }
    fn orders(&self) -> BoxFuture<'_, Result<Vec<OrderReport>, BrokerError>> {
        self.paper.orders()
    }
    fn positions(&self) -> BoxFuture<'_, Result<Vec<PositionReport>, BrokerError>> {
        self.paper.positions()
    }
    fn observe(&self, symbol: &Symbol, price: Price) {
        self.paper.observe(symbol, price);
    }
}

/// Lookback 3 (a window of 5 candles), target 3%, stop 1%, `relevel` as given.
pub fn params(relevel: Relevel) -> StrategyParams {
    let ratio = |t: &str| t.parse::<Ratio>().expect("ratio");
    StrategyParams::new(3, ratio("0.03"), ratio("0.01"), relevel, Quantity::ONE).expect("params")
}

pub async fn start(dir: &Path, broker: Arc<dyn Broker>, relevel: Relevel) -> Engine {
    let mut config = EngineConfig::new(dir.join("kitebreak.db"));
    config.shards = 3;
    config.strategy = params(relevel);
    Engine::start(config, broker).await.expect("engine starts")
}

pub fn p(text: &str) -> Price {
    text.parse().expect("price")
}

pub fn sym(text: &str) -> Symbol {
    Symbol::parse(text).expect("symbol")
}

pub fn candle(high: &str, low: &str, close: &str) -> CandleInput {
    let candle = Candle::new(p(high), p(low), p(close)).expect("consistent candle");
    CandleInput::new(candle, None, None, None, None).expect("valid input")
}

pub fn timed(high: &str, low: &str, close: &str, time: &str) -> CandleInput {
    let mut input = candle(high, low, close);
    input.time = Some(time.parse().expect("timestamp"));
    input
}

/// Five candles that leave support 95 and resistance 105 (lookback 3).
pub const SETUP: [(&str, &str, &str); 5] = [
    ("101", "99", "100"),
    ("105", "100", "102"),
    ("102", "95", "98"),
    ("103", "97", "100"),
    ("102", "98", "100"),
];

/// The candle after [`SETUP`]: detection moves resistance to 103, and the close of 106
/// breaks out long (target 109.18, stop 104.94).
pub const BREAKOUT: (&str, &str, &str) = ("107", "101", "106");

/// Feeds the setup candles: levels form, no breakout yet.
pub async fn feed_setup(engine: &Engine, symbol: &str) {
    for (h, l, c) in SETUP {
        engine
            .candle(sym(symbol), candle(h, l, c))
            .await
            .expect("candle");
    }
}

/// Feeds the setup and the breakout; the symbol ends long at 106.
pub async fn enter_long(engine: &Engine, symbol: &str) {
    feed_setup(engine, symbol).await;
    let (h, l, c) = BREAKOUT;
    engine
        .candle(sym(symbol), candle(h, l, c))
        .await
        .expect("breakout");
}

/// Like [`start`], after `tweak` changes the configuration; no background loop.
pub async fn start_with(
    dir: &Path,
    broker: Arc<dyn Broker>,
    tweak: impl FnOnce(&mut EngineConfig),
) -> Engine {
    let mut config = EngineConfig::new(dir.join("kitebreak.db"));
    config.shards = 3;
    config.strategy = params(Relevel::Fresh);
    config.enforce_every = None;
    tweak(&mut config);
    Engine::start(config, broker).await.expect("engine starts")
}

/// `(purpose, status)` of the orders stored for `symbol`, oldest first (read-only),
/// without armed exits never sent (`ARMED`, `UNUSED`).
pub async fn stored_statuses(database: &Path, symbol: &str) -> Vec<(String, String)> {
    use sqlx::{ConnectOptions, Row};
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(database)
        .read_only(true);
    let mut db = options.connect().await.expect("open database");
    sqlx::query(
        "SELECT purpose, status FROM orders
         WHERE symbol = ? AND status NOT IN ('ARMED', 'UNUSED') ORDER BY seq",
    )
    .bind(symbol)
    .fetch_all(&mut db)
    .await
    .expect("query")
    .iter()
    .map(|row| (row.get("purpose"), row.get("status")))
    .collect()
}

/// Orders stored for `symbol`, by purpose, read from the database read-only,
/// without armed exits never sent (`ARMED`, `UNUSED`). An exit's seq is taken when
/// it is armed (when its trade opens), so it can come before orders sent earlier.
pub async fn stored_orders(database: &Path, symbol: &str) -> Vec<String> {
    use sqlx::{ConnectOptions, Row};
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(database)
        .read_only(true);
    let mut db = options.connect().await.expect("open database");
    sqlx::query(
        "SELECT purpose FROM orders
         WHERE symbol = ? AND status NOT IN ('ARMED', 'UNUSED') ORDER BY seq",
    )
    .bind(symbol)
    .fetch_all(&mut db)
    .await
    .expect("query")
    .iter()
    .map(|row| row.get("purpose"))
    .collect()
}

/// How long a wait may take before the test fails instead of hanging: a bound on a
/// hang, never a timing assertion (a passing test is woken long before).
const HANG: std::time::Duration = std::time::Duration::from_secs(20);

/// Waits until `check` holds, looking again after every change the engine signals
/// ([`Engine::changes`]): no polling, no sleeps.
pub async fn eventually<F, Fut>(engine: &Engine, what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let waited = tokio::time::timeout(HANG, engine.changes().until(check)).await;
    assert!(waited.is_ok(), "never happened: {what}");
}

/// Waits until `check` (of kite-sim's state) holds, looking again after every price
/// or order event the sim publishes: no polling, no sleeps.
pub async fn sim_eventually(
    sim: &kite_sim::SimHandle,
    what: &str,
    mut check: impl FnMut() -> bool,
) {
    use tokio::sync::broadcast::error::RecvError;
    // Subscribed before the first check: no event after it is missed.
    let mut events = sim.shared().events.subscribe();
    let wait = async {
        while !check() {
            match events.recv().await {
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => panic!("kite-sim stopped before: {what}"),
            }
        }
    };
    let waited = tokio::time::timeout(HANG, wait).await;
    assert!(waited.is_ok(), "never happened: {what}");
}
