//! Exchange-side protection of CNC trades against kite-sim
//! (`Protection::ExchangeOco`): a two-leg GTT at the stop and target placed after the
//! entry fills, deleted before kitebreak's own exit, a leg that fired (while running
//! or while kitebreak was stopped) closing the trade from its order's fill with no
//! second exit, and a GTT deleted elsewhere raised while the trade stays watched.
//! Restarts (a GTT that fired while kitebreak was stopped, one that keeps guarding,
//! one whose trade is gone, one resized) are in `restart`.

mod restart;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kite_sim::shared::lock;
use kitebreak_engine::{
    BoxFuture, Broker, BrokerError, Engine, EngineConfig, ExitOutcome, FoundOrder, KiteAdapter,
    KiteProduct, OcoId, OcoOrder, OcoReport, Ohlc, OrderId, OrderReport, OrderStatus,
    PositionReport, PositionState, Protection, Symbol, TradeFilter,
};
use kitebreak_price::{Price, Quantity, Ratio};
use kitebreak_strategy::{ExitReason, Relevel, StrategyParams};
use sqlx::{ConnectOptions, Row};

use crate::helpers::{candle, p, start_with, sym};
use crate::kite::{Env, adapter, field, sim};

/// Ten units a trade, guarded by a GTT.
fn protected(config: &mut EngineConfig) {
    let ratio = |t: &str| t.parse::<Ratio>().expect("ratio");
    let ten = Quantity::new(10).expect("quantity");
    config.strategy =
        StrategyParams::new(3, ratio("0.03"), ratio("0.01"), Relevel::Fresh, ten).expect("params");
    config.protection = Protection::ExchangeOco;
}

/// The Kite adapter trading CNC, noting the stored status of the GTT's intent at the
/// moment the GTT is sent (it must already be on disk).
struct Audited {
    inner: KiteAdapter,
    database: PathBuf,
    seen: Mutex<Vec<String>>,
    /// The GTT is placed but its answer is lost (`OutcomeUnknown`).
    lose_answer: AtomicBool,
    /// Deletes answer "unavailable" without reaching the sim.
    delete_fails: AtomicBool,
    /// Looking a GTT up by its terms finds nothing (Kite listing it late).
    hide_listing: AtomicBool,
}

impl Broker for Audited {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn place_market(
        &self,
        order: kitebreak_engine::MarketOrder,
    ) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        self.inner.place_market(order)
    }
    fn final_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        self.inner.final_status(id)
    }
    fn ltp<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Price, BrokerError>> {
        self.inner.ltp(symbol)
    }
    fn ohlc<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Ohlc, BrokerError>> {
        self.inner.ohlc(symbol)
    }
    fn find_by_tag<'a>(
        &'a self,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Option<FoundOrder>, BrokerError>> {
        self.inner.find_by_tag(tag)
    }
    fn shows_orders_late(&self) -> bool {
        true
    }
    fn exchange_account(&self) -> bool {
        true
    }
    fn orders(&self) -> BoxFuture<'_, Result<Vec<OrderReport>, BrokerError>> {
        self.inner.orders()
    }
    fn positions(&self) -> BoxFuture<'_, Result<Vec<PositionReport>, BrokerError>> {
        self.inner.positions()
    }
    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        self.inner.cancel(id)
    }
    fn place_oco(&self, order: OcoOrder) -> BoxFuture<'_, Result<OcoId, BrokerError>> {
        Box::pin(async move {
            let statuses = gtt_rows(&self.database).await;
            let pending = statuses.last().map_or("MISSING".into(), |r| r.1.clone());
            lock(&self.seen).push(pending);
            let placed = self.inner.place_oco(order).await;
            if self.lose_answer.load(Ordering::SeqCst) && placed.is_ok() {
                return Err(BrokerError::OutcomeUnknown("GTT NSE:INFY".into()));
            }
            placed
        })
    }
    fn cancel_oco<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OcoReport, BrokerError>> {
        if self.delete_fails.load(Ordering::SeqCst) {
            return Box::pin(async { Err(BrokerError::Unavailable("delete timed out".into())) });
        }
        self.inner.cancel_oco(id)
    }
    fn oco_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OcoReport, BrokerError>> {
        self.inner.oco_status(id)
    }
    fn ocos(&self) -> BoxFuture<'_, Result<Vec<OcoReport>, BrokerError>> {
        self.inner.ocos()
    }
    fn find_oco<'a>(
        &'a self,
        order: &'a OcoOrder,
    ) -> BoxFuture<'a, Result<Option<OcoReport>, BrokerError>> {
        if self.hide_listing.load(Ordering::SeqCst) {
            return Box::pin(async { Ok(None) });
        }
        self.inner.find_oco(order)
    }
    fn order_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<FoundOrder, BrokerError>> {
        self.inner.order_status(id)
    }
}

/// `(tag, status, broker_order_id)` of every stored GTT intent, oldest first.
async fn gtt_rows(database: &Path) -> Vec<(String, String, Option<String>)> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(database)
        .read_only(true);
    let mut db = options.connect().await.expect("open database");
    sqlx::query(
        "SELECT tag, status, broker_order_id FROM orders WHERE purpose = 'protect_oco'
         ORDER BY seq",
    )
    .fetch_all(&mut db)
    .await
    .expect("query")
    .iter()
    .map(|r| (r.get("tag"), r.get("status"), r.get("broker_order_id")))
    .collect()
}

async fn cnc(env_sim: &kite_sim::SimHandle, dir: &Path) -> KiteAdapter {
    let mis = adapter(env_sim, dir).await;
    KiteAdapter::with(mis.kite().clone(), "NSE", KiteProduct::Cnc)
}

async fn spawn_protected() -> (Env, Arc<Audited>) {
    let sim = sim().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let audited = Arc::new(Audited {
        inner: cnc(&sim, dir.path()).await,
        database: dir.path().join("kitebreak.db"),
        seen: Mutex::new(Vec::new()),
        lose_answer: AtomicBool::new(false),
        delete_fails: AtomicBool::new(false),
        hide_listing: AtomicBool::new(false),
    });
    let engine = start_with(dir.path(), audited.clone(), protected).await;
    (Env { sim, engine, dir }, audited)
}

fn database(env: &Env) -> PathBuf {
    env.dir.path().join("kitebreak.db")
}

/// Requests of `method` whose path starts with `prefix`, in order, with their index
/// in the whole log.
fn requests(
    env: &Env,
    method: &str,
    prefix: &str,
) -> Vec<(usize, kite_sim::shared::LoggedRequest)> {
    lock(&env.sim.shared().log)
        .iter()
        .enumerate()
        .filter(|(_, r)| r.method == method && r.path.starts_with(prefix))
        .map(|(i, r)| (i, r.clone()))
        .collect()
}

fn json(request: &kite_sim::shared::LoggedRequest, name: &str) -> serde_json::Value {
    serde_json::from_str(field(request, name).expect(name)).expect("json")
}

async fn restart(env: &mut Env) {
    env.engine.shutdown().await;
    let broker = cnc(&env.sim, env.dir.path()).await;
    env.engine = start_with(env.dir.path(), Arc::new(broker), protected).await;
}

async fn last_closed(engine: &Engine) -> kitebreak_engine::ClosedTradeRecord {
    let filter = TradeFilter {
        symbol: Some(sym("INFY")),
        ..TradeFilter::default()
    };
    let all = engine.closed_trades(&filter).await.expect("trades");
    all.into_iter().next().expect("a closed trade")
}

#[tokio::test]
async fn a_cnc_entry_fill_places_a_two_leg_gtt_at_the_stop_and_target_after_its_intent() {
    let (env, audited) = spawn_protected().await;
    env.enter_long().await;
    let gtts = requests(&env, "POST", "/gtt/triggers");
    assert_eq!(gtts.len(), 1, "one GTT");
    let sent = &gtts[0].1;
    assert_eq!(field(sent, "type"), Some("two-leg"));
    let condition = json(sent, "condition");
    // [stop, target] of a long, onto the 0.05 tick upwards for a sell.
    assert_eq!(
        condition["trigger_values"],
        serde_json::json!([105.0, 109.25])
    );
    assert_eq!(condition["tradingsymbol"], "INFY");
    let orders = json(sent, "orders");
    for leg in orders.as_array().expect("legs") {
        assert_eq!(leg["transaction_type"], "SELL");
        assert_eq!(leg["product"], "CNC");
        assert_eq!(leg["quantity"], 10);
        assert_eq!(leg["order_type"], "LIMIT");
    }
    // 1% beyond each trigger, down onto the tick: 103.95 and 108.15.
    assert_eq!(orders[0]["price"], serde_json::json!(103.95));
    assert_eq!(orders[1]["price"], serde_json::json!(108.15));
    assert_eq!(
        *lock(&audited.seen),
        vec!["PENDING".to_string()],
        "the intent was committed before the GTT was sent"
    );
    let rows = gtt_rows(&database(&env)).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "PENDING");
    assert_eq!(rows[0].2.as_deref(), Some("1"), "the trigger id is on disk");
    let entry = &env.placements()[0];
    assert_eq!(field(entry, "product"), Some("CNC"));
    assert_eq!(env.placements().len(), 1, "no SL-M order for a CNC trade");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    let protection = status.protection.expect("protection shown");
    assert_eq!(protection.tag.as_deref(), Some(rows[0].0.as_str()));
    assert_eq!(protection.error, None);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_target_exit_deletes_the_gtt_before_its_one_sell() {
    let (env, _) = spawn_protected().await;
    env.enter_long().await;
    // kitebreak's candle reaches the target; the market is just below the GTT's 109.25.
    env.price("109.24");
    let report = env
        .engine
        .candle(sym("INFY"), candle("109.5", "108", "109.24"))
        .await
        .expect("exit candle");
    let Some(ExitOutcome::Closed { closed, .. }) = report.exit else {
        panic!("not closed: {:?}", report.exit);
    };
    assert_eq!(closed.exit_reason, ExitReason::Profit);
    let deletes = requests(&env, "DELETE", "/gtt/triggers/1");
    assert_eq!(deletes.len(), 1, "the GTT was deleted");
    let sells: Vec<usize> = requests(&env, "POST", "/orders")
        .into_iter()
        .filter(|(_, r)| field(r, "transaction_type") == Some("SELL"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(sells.len(), 1, "one exit");
    assert!(deletes[0].0 < sells[0], "delete first, then the exit");
    assert_eq!(gtt_rows(&database(&env)).await[0].1, "CANCELLED");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    assert_eq!(status.protection, None);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_target_leg_that_fires_while_running_closes_the_trade_at_a_profit() {
    let (env, _) = spawn_protected().await;
    env.enter_long().await;
    env.price("109.3");
    env.engine.protect_step().await.expect("protect step");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    let closed = last_closed(&env.engine).await.closed;
    assert_eq!(closed.exit_reason, ExitReason::Profit);
    assert_eq!(closed.price_exit, p("109.3"), "the GTT order's own fill");
    assert_eq!(env.placements().len(), 1, "no exit sent by kitebreak");
    assert_eq!(gtt_rows(&database(&env)).await[0].1, "COMPLETE");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_gtt_deleted_elsewhere_is_raised_and_the_trade_stays_open_and_watched() {
    let (env, _) = spawn_protected().await;
    env.enter_long().await;
    env.sim
        .shared()
        .with_world(|world, now| world.delete_gtt(1, now))
        .expect("deleted at Kite");
    env.engine.protect_step().await.expect("protect step");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open, "the trade is kept");
    let protection = status.protection.expect("shown");
    assert_eq!(protection.tag, None);
    let error = protection.error.expect("raised");
    assert!(error.contains("deleted"), "{error}");
    assert_eq!(gtt_rows(&database(&env)).await[0].1, "REJECTED");
    // Raised, not re-placed on every step; kitebreak still exits the trade itself.
    env.engine.protect_step().await.expect("protect step");
    assert_eq!(requests(&env, "POST", "/gtt/triggers").len(), 1);
    env.price("110");
    let report = env
        .engine
        .candle(sym("INFY"), candle("111", "108", "110"))
        .await
        .expect("exit candle");
    assert!(
        matches!(report.exit, Some(ExitOutcome::Closed { .. })),
        "{:?}",
        report.exit
    );
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_gtt_that_fired_first_closes_the_trade_from_its_order_and_no_exit_is_sent() {
    let (env, _) = spawn_protected().await;
    env.enter_long().await;
    // Through the stop: the GTT's stop leg fires and fills at the exchange first.
    env.price("104");
    env.engine
        .price(sym("INFY"), p("104"))
        .await
        .expect("price");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    let closed = last_closed(&env.engine).await.closed;
    assert_eq!(closed.exit_reason, ExitReason::Loss);
    assert_eq!(closed.price_exit, p("104"), "the GTT order's own fill");
    assert_eq!(env.placements().len(), 1, "entry only: no second exit");
    assert_eq!(gtt_rows(&database(&env)).await[0].1, "COMPLETE");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_gtt_whose_answer_was_lost_is_found_by_its_terms_and_deleted_before_the_exit() {
    let (env, audited) = spawn_protected().await;
    audited.lose_answer.store(true, Ordering::SeqCst);
    env.enter_long().await;
    assert_eq!(
        gtt_rows(&database(&env)).await[0].2,
        None,
        "no id known yet"
    );
    env.engine.protect_step().await.expect("protect step");
    let rows = gtt_rows(&database(&env)).await;
    assert_eq!(rows.len(), 1, "found, not placed again");
    assert_eq!(rows[0].2.as_deref(), Some("1"), "its trigger id recorded");
    assert_eq!(requests(&env, "POST", "/gtt/triggers").len(), 1);
    let outcome = env.engine.exit(sym("INFY")).await.expect("manual exit");
    assert!(matches!(outcome, ExitOutcome::Closed { .. }), "{outcome:?}");
    assert_eq!(requests(&env, "DELETE", "/gtt/triggers/1").len(), 1);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_gtt_of_unknown_outcome_not_listed_yet_is_neither_doubled_nor_exited_beside() {
    let (env, audited) = spawn_protected().await;
    audited.lose_answer.store(true, Ordering::SeqCst);
    audited.hide_listing.store(true, Ordering::SeqCst);
    env.enter_long().await;
    // The checks and the exit do not take it as lost within the look-up window.
    env.engine.protect_step().await.expect("protect step");
    assert_eq!(
        requests(&env, "POST", "/gtt/triggers").len(),
        1,
        "no second GTT"
    );
    let outcome = env.engine.exit(sym("INFY")).await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(
        env.placements().len(),
        1,
        "no exit beside a GTT that may fire"
    );
    // Listed now: found by its terms, deleted, then the one exit.
    audited.hide_listing.store(false, Ordering::SeqCst);
    let outcome = env.engine.exit(sym("INFY")).await.expect("exit");
    assert!(matches!(outcome, ExitOutcome::Closed { .. }), "{outcome:?}");
    assert_eq!(requests(&env, "DELETE", "/gtt/triggers/1").len(), 1);
    assert_eq!(requests(&env, "POST", "/gtt/triggers").len(), 1);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_gtt_that_cannot_be_deleted_sends_no_exit() {
    let (env, audited) = spawn_protected().await;
    env.enter_long().await;
    audited.delete_fails.store(true, Ordering::SeqCst);
    let outcome = env.engine.exit(sym("INFY")).await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(env.placements().len(), 1, "no exit while the GTT may fire");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_ne!(status.position, PositionState::Flat);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn an_mis_adapter_refuses_gtts_without_asking_kite() {
    let sim = sim().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mis = adapter(&sim, dir.path()).await;
    let order = OcoOrder {
        symbol: sym("INFY"),
        side: kitebreak_engine::Side::Sell,
        quantity: Quantity::new(1).expect("quantity"),
        stop: p("95"),
        target: p("110"),
        last_price: p("100"),
    };
    let unsupported = |e: &BrokerError| matches!(e, BrokerError::Unsupported(_));
    assert!(mis.place_oco(order).await.is_err_and(|e| unsupported(&e)));
    assert!(mis.ocos().await.is_err_and(|e| unsupported(&e)));
    assert!(
        !lock(&sim.shared().log)
            .iter()
            .any(|r| r.path.starts_with("/gtt")),
        "nothing reached Kite"
    );
}
