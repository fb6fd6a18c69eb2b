//! The engine over the Kite adapter against an in-process kite-sim (manual clock):
//! real MARKET orders with tags and market protection, fills from the sim, rejections
//! and a lost placement answer that must not produce a second order.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use kite_sim::shared::{LoggedRequest, lock};
use kite_sim::{Faults, Sim, SimConfig, SimHandle};
use kitebreak_engine::{Engine, EntryOutcome, ExitOutcome, KiteAdapter, PositionState, Side};
use kitebreak_kite::{KiteBroker, KiteConfig, SessionState};
use kitebreak_strategy::Relevel;
use kiteconnect::AccessToken;

use crate::helpers::{BREAKOUT, SETUP, candle, p, start, sym};

/// 2026-11-25 10:00 IST, a Wednesday with the market open.
pub(crate) const START: i64 = 1_795_581_000;

pub(crate) struct Env {
    pub sim: SimHandle,
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

/// A Kite adapter on `sim`, keeping its files in `dir`, with short test intervals.
pub(crate) async fn adapter(sim: &SimHandle, dir: &std::path::Path) -> KiteAdapter {
    adapter_polling(sim, dir, Duration::from_millis(20)).await
}

/// Like [`adapter`], polling order status every `poll_every`.
pub(crate) async fn adapter_polling(
    sim: &SimHandle,
    dir: &std::path::Path,
    poll_every: Duration,
) -> KiteAdapter {
    adapter_with(sim, dir, |config| config.poll_every = poll_every).await
}

/// Like [`adapter`], after `tweak` changes the Kite configuration.
pub(crate) async fn adapter_with(
    sim: &SimHandle,
    dir: &std::path::Path,
    tweak: impl FnOnce(&mut KiteConfig),
) -> KiteAdapter {
    let mut config = KiteConfig::new(kite_sim::config::DEFAULT_API_KEY, dir)
        .with_roots(sim.url(), sim.ws_url())
        .with_secret(kite_sim::config::DEFAULT_API_SECRET)
        .expect("secret");
    config.retry_delay = Duration::from_millis(10);
    config.request_timeout = Duration::from_secs(2);
    config.poll_every = Duration::from_millis(20);
    config.ticker_silence = Duration::from_millis(400);
    tweak(&mut config);
    let token = AccessToken::new("test_access_token").expect("token");
    let kite = KiteBroker::new(config, SessionState::new(Some(token)));
    kite.load_instruments().await.expect("instruments");
    KiteAdapter::new(kite)
}

pub(crate) async fn sim() -> SimHandle {
    let at = Timestamp::from_second(START).expect("start");
    Sim::start(SimConfig::for_tests(at)).await.expect("sim")
}

pub(crate) async fn spawn() -> Env {
    let sim = sim().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = adapter(&sim, dir.path()).await;
    let engine = start(dir.path(), Arc::new(broker), Relevel::Fresh).await;
    Env { sim, engine, dir }
}

/// Like [`spawn`], with the engine's configuration changed by `tweak`.
pub(crate) async fn spawn_with(tweak: impl FnOnce(&mut kitebreak_engine::EngineConfig)) -> Env {
    let sim = sim().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = adapter(&sim, dir.path()).await;
    let engine = crate::helpers::start_with(dir.path(), Arc::new(broker), tweak).await;
    Env { sim, engine, dir }
}

impl Env {
    pub fn price(&self, text: &str) {
        assert!(self.sim.set_price("NSE:INFY", p(text)), "sim price {text}");
    }

    pub async fn setup(&self) {
        self.price("100");
        for (h, l, c) in SETUP {
            self.engine
                .candle(sym("INFY"), candle(h, l, c))
                .await
                .expect("candle");
        }
    }

    /// After [`Env::setup`], a breakout filled at 106.05: long, target 109.2315,
    /// stop 104.9895 (with exchange-side protection, an SL-M at 105 or a GTT).
    pub async fn enter_long(&self) {
        self.setup().await;
        self.price("106.05");
        let (h, l, c) = BREAKOUT;
        let report = self
            .engine
            .candle(sym("INFY"), candle(h, l, c))
            .await
            .expect("breakout");
        assert!(
            matches!(report.entry, Some(EntryOutcome::Filled { .. })),
            "{:?}",
            report.entry
        );
    }

    pub fn placements(&self) -> Vec<LoggedRequest> {
        lock(&self.sim.shared().log)
            .iter()
            .filter(|r| r.method == "POST" && r.path.starts_with("/orders"))
            .cloned()
            .collect()
    }
}

pub(crate) fn field<'a>(request: &'a LoggedRequest, name: &str) -> Option<&'a str> {
    request
        .form
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_breakout_trades_on_kite_and_the_target_exits_with_a_sell() {
    let env = spawn().await;
    env.setup().await;
    env.price("106.05");
    let (h, l, c) = BREAKOUT;
    let report = env
        .engine
        .candle(sym("INFY"), candle(h, l, c))
        .await
        .expect("breakout");
    let Some(EntryOutcome::Filled { order, trade }) = report.entry else {
        panic!("entry not filled: {:?}", report.entry);
    };
    assert_eq!(
        trade.price_entry,
        p("106.05"),
        "entry at kite's average fill"
    );
    assert_eq!(trade.price_target, p("109.2315"));
    assert_eq!(trade.price_stop, p("104.9895"));
    let sent = env.placements();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(field(&sent[0], "tag"), Some(order.tag.as_str()));
    assert_eq!(field(&sent[0], "order_type"), Some("MARKET"));
    assert_eq!(field(&sent[0], "transaction_type"), Some("BUY"));
    assert_eq!(field(&sent[0], "product"), Some("MIS"));
    assert!(field(&sent[0], "market_protection").is_some(), "{sent:?}");
    assert_eq!(trade.entry_order_id, order.order_id);

    env.price("110");
    let report = env
        .engine
        .candle(sym("INFY"), candle("111", "108", "110"))
        .await
        .expect("exit candle");
    let Some(ExitOutcome::Closed { order, closed }) = report.exit else {
        panic!("exit not closed: {:?}", report.exit);
    };
    assert_eq!(order.side, Side::Sell);
    assert_eq!(closed.price_exit, p("110"));
    let sent = env.placements();
    assert_eq!(sent.len(), 2);
    assert_eq!(field(&sent[1], "transaction_type"), Some("SELL"));
    assert_eq!(field(&sent[1], "tag"), Some(order.tag.as_str()));
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_rejected_entry_on_kite_leaves_no_trade_and_unlocks_the_levels() {
    let env = spawn().await;
    env.setup().await;
    env.price("106");
    env.sim.set_faults(Faults {
        reject_next_order: 1,
        ..Faults::default()
    });
    let (h, l, c) = BREAKOUT;
    let report = env
        .engine
        .candle(sym("INFY"), candle(h, l, c))
        .await
        .expect("breakout");
    assert!(
        matches!(report.entry, Some(EntryOutcome::Failed { .. })),
        "{:?}",
        report.entry
    );
    assert!(!report.locked);
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    assert_eq!(status.levels.resistance, Some(p("103")), "levels are kept");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_lost_placement_answer_is_reconciled_without_a_second_order() {
    let env = spawn().await;
    env.setup().await;
    env.price("106");
    env.sim.set_faults(Faults {
        lose_next_order: 1,
        ..Faults::default()
    });
    let (h, l, c) = BREAKOUT;
    let report = env
        .engine
        .candle(sym("INFY"), candle(h, l, c))
        .await
        .expect("breakout");
    let Some(EntryOutcome::Filled { order, trade }) = report.entry else {
        panic!("entry not filled: {:?}", report.entry);
    };
    assert_eq!(trade.price_entry, p("106"));
    let sent = env.placements();
    let tagged = sent
        .iter()
        .filter(|r| field(r, "tag") == Some(order.tag.as_str()))
        .count();
    assert_eq!(tagged, 1, "exactly one POST /orders for the tag: {sent:?}");
    env.engine.shutdown().await;
}

impl Env {
    /// Orders kite-sim holds with this tag (its own book, not the request log).
    pub fn orders_tagged(&self, tag: &str) -> usize {
        self.sim.shared().with_world(|world, _| {
            world
                .book
                .orders()
                .iter()
                .filter(|o| o.request.tag.as_deref() == Some(tag))
                .count()
        })
    }

    /// Stops the engine and starts a new one (new adapter, same sim and database),
    /// as a restart after a crash would.
    pub async fn restart(mut self) -> Env {
        self.engine.shutdown().await;
        let broker = adapter(&self.sim, self.dir.path()).await;
        self.engine = start(self.dir.path(), Arc::new(broker), Relevel::Fresh).await;
        self
    }
}

/// With the ticker live an open trade makes no REST call until its exit; the
/// keep-warm step reads `GET /user/profile` on each of the adapter's connections
/// (the API client's and placements') once it went quiet (here at once), so the exit
/// finds its connection open. With no trade open it sends nothing.
#[tokio::test]
async fn the_keep_warm_step_reads_only_while_a_trade_is_open() {
    let sim = sim().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = adapter(&sim, dir.path())
        .await
        .with_keep_warm_after(Duration::ZERO);
    let engine = start(dir.path(), Arc::new(broker), Relevel::Fresh).await;
    let env = Env { sim, engine, dir };
    let profile_reads = || {
        lock(&env.sim.shared().log)
            .iter()
            .filter(|r| r.method == "GET" && r.path == "/user/profile")
            .count()
    };

    assert!(!env.engine.keep_warm_step().await.expect("step"));
    assert_eq!(profile_reads(), 0, "nothing open, nothing to keep warm");

    env.enter_long().await;
    assert!(env.engine.keep_warm_step().await.expect("step"));
    assert_eq!(profile_reads(), 2, "one on each connection");

    env.price("110");
    let report = env
        .engine
        .candle(sym("INFY"), candle("111", "108", "110"))
        .await
        .expect("exit candle");
    assert!(
        matches!(report.exit, Some(ExitOutcome::Closed { .. })),
        "{report:?}"
    );
    assert!(!env.engine.keep_warm_step().await.expect("step"));
    assert_eq!(profile_reads(), 2, "the trade closed: no more reads");
    env.engine.shutdown().await;
}
