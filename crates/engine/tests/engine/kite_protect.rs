//! Exchange-side protection against kite-sim (`EngineConfig::protection`): an SL-M
//! stop placed after the entry fills, cancelled before kitebreak's own exit, a stop
//! that filled first closing the trade from its fill (whole or in part), the stop
//! found by its tag after a restart, a rejected stop raised but the trade kept, and
//! paper left alone.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use kite_sim::Faults;
use kite_sim::shared::lock;
use kite_sim::status::Status;
use kitebreak_engine::{
    BoxFuture, Broker, BrokerError, Engine, EngineConfig, ExitOutcome, FoundOrder, KiteAdapter,
    Ohlc, OrderId, OrderReport, OrderStatus, PaperBroker, PositionReport, PositionState,
    Protection, StopOrder, Symbol, TradeFilter,
};
use kitebreak_price::{Price, Quantity, Ratio};
use kitebreak_strategy::{ExitReason, Relevel, StrategyParams};
use sqlx::{ConnectOptions, Row};

use crate::helpers::{candle, p, start_with, sym};
use crate::kite::{Env, adapter, field, sim};

/// Ten units a trade, so a stop can fill in part.
fn protected(config: &mut EngineConfig) {
    let ratio = |t: &str| t.parse::<Ratio>().expect("ratio");
    let ten = Quantity::new(10).expect("quantity");
    config.strategy =
        StrategyParams::new(3, ratio("0.03"), ratio("0.01"), Relevel::Fresh, ten).expect("params");
    config.protection = Protection::Exchange;
}

/// The Kite adapter, noting the stored status of every stop's tag at the moment it
/// is sent (the intent must already be on disk), and optionally arming a sim fault
/// for the stop alone (the entry before it is unaffected).
struct Audited {
    inner: KiteAdapter,
    database: PathBuf,
    seen: Mutex<Vec<(String, String)>>,
    arm: Option<(Arc<kite_sim::shared::Shared>, Faults)>,
    /// Cancels answer "unavailable" without reaching the sim.
    cancel_fails: std::sync::atomic::AtomicBool,
    /// A stop is placed at the sim but its answer is "outcome unknown", and looking
    /// its tag up finds nothing while `hide_stops` is set (Kite showing it late).
    stop_answer_lost: std::sync::atomic::AtomicBool,
    hide_stops: std::sync::atomic::AtomicBool,
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
        let hidden = self.hide_stops.load(std::sync::atomic::Ordering::SeqCst)
            && lock(&self.seen).iter().any(|(stop, _)| stop == tag);
        if hidden {
            return Box::pin(async { Ok(None) });
        }
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
    fn place_stop(&self, order: StopOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        Box::pin(async move {
            let status = stored(&self.database, &order.tag)
                .await
                .map_or("MISSING".into(), |(_, status, _)| status);
            lock(&self.seen).push((order.tag.clone(), status));
            if let Some((shared, faults)) = &self.arm {
                shared.with_world(|world, _| world.faults = faults.clone());
            }
            let placed = self.inner.place_stop(order).await;
            if self
                .stop_answer_lost
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                placed?;
                return Err(BrokerError::OutcomeUnknown("the answer was lost".into()));
            }
            placed
        })
    }
    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        if self.cancel_fails.load(std::sync::atomic::Ordering::SeqCst) {
            return Box::pin(async { Err(BrokerError::Unavailable("cancel timed out".into())) });
        }
        self.inner.cancel(id)
    }
}

/// `(purpose, status, quantity)` of the order tagged `tag`, read-only.
async fn stored(database: &Path, tag: &str) -> Option<(String, String, i64)> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(database)
        .read_only(true);
    let mut db = options.connect().await.expect("open database");
    sqlx::query("SELECT purpose, status, quantity FROM orders WHERE tag = ?")
        .bind(tag)
        .fetch_optional(&mut db)
        .await
        .expect("query")
        .map(|r| (r.get("purpose"), r.get("status"), r.get("quantity")))
}

/// `(tag, status)` of every stored stop, oldest first.
async fn stops(database: &Path) -> Vec<(String, String)> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(database)
        .read_only(true);
    let mut db = options.connect().await.expect("open database");
    sqlx::query("SELECT tag, status FROM orders WHERE purpose = 'protect' ORDER BY seq")
        .fetch_all(&mut db)
        .await
        .expect("query")
        .iter()
        .map(|r| (r.get("tag"), r.get("status")))
        .collect()
}

async fn spawn_protected() -> (Env, Arc<Audited>) {
    spawn_armed(None).await
}

/// Like [`spawn_protected`], with `faults` set just before the stop is placed.
async fn spawn_armed(faults: Option<Faults>) -> (Env, Arc<Audited>) {
    let sim = sim().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let audited = Arc::new(Audited {
        inner: adapter(&sim, dir.path()).await,
        database: dir.path().join("kitebreak.db"),
        seen: Mutex::new(Vec::new()),
        arm: faults.map(|f| (sim.shared().clone(), f)),
        cancel_fails: std::sync::atomic::AtomicBool::new(false),
        stop_answer_lost: std::sync::atomic::AtomicBool::new(false),
        hide_stops: std::sync::atomic::AtomicBool::new(false),
    });
    let engine = start_with(dir.path(), audited.clone(), protected).await;
    (Env { sim, engine, dir }, audited)
}

fn database(env: &Env) -> PathBuf {
    env.dir.path().join("kitebreak.db")
}

/// Requests of `method` whose path starts with `prefix`, in order.
fn requests(env: &Env, method: &str, prefix: &str) -> Vec<kite_sim::shared::LoggedRequest> {
    lock(&env.sim.shared().log)
        .iter()
        .filter(|r| r.method == method && r.path.starts_with(prefix))
        .cloned()
        .collect()
}

/// Orders resting at kite-sim (a stop waiting for its trigger, or any open order).
fn resting(env: &Env) -> usize {
    env.sim.shared().with_world(|world, _| {
        world
            .book
            .orders()
            .iter()
            .filter(|o| matches!(o.status, Status::TriggerPending | Status::Open))
            .count()
    })
}

fn set(flag: &std::sync::atomic::AtomicBool, on: bool) {
    flag.store(on, std::sync::atomic::Ordering::SeqCst);
}

async fn restart(env: &mut Env) {
    env.engine.shutdown().await;
    let broker = adapter(&env.sim, env.dir.path()).await;
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
async fn an_entry_fill_places_a_tagged_sl_m_stop_whose_intent_is_durable_first() {
    let (env, audited) = spawn_protected().await;
    env.enter_long().await;
    let sent = env.placements();
    assert_eq!(sent.len(), 2, "entry and stop: {sent:?}");
    let stop = &sent[1];
    assert_eq!(field(stop, "order_type"), Some("SL-M"));
    assert_eq!(field(stop, "transaction_type"), Some("SELL"));
    assert_eq!(field(stop, "quantity"), Some("10"));
    assert_eq!(field(stop, "product"), Some("MIS"));
    // 104.9895 onto the 0.05 tick, upwards for a sell: it fires no later than the stop.
    assert_eq!(field(stop, "trigger_price"), Some("105"));
    assert!(field(stop, "market_protection").is_some(), "{stop:?}");
    let tag = field(stop, "tag").expect("tag").to_string();
    assert_ne!(Some(tag.as_str()), field(&sent[0], "tag"), "its own tag");
    assert_eq!(
        *lock(&audited.seen),
        vec![(tag.clone(), "PENDING".to_string())],
        "the intent was committed before the stop was sent"
    );
    assert_eq!(
        stored(&database(&env), &tag).await,
        Some(("protect".into(), "PENDING".into(), 10))
    );
    let status = env.engine.status(sym("INFY")).await.expect("status");
    let protection = status.protection.expect("protection shown");
    assert_eq!(protection.tag.as_deref(), Some(tag.as_str()));
    assert_eq!(protection.trigger, Some(p("104.9895")));
    assert_eq!(protection.error, None);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_target_exit_cancels_the_stop_before_it_sells() {
    let (env, _) = spawn_protected().await;
    env.enter_long().await;
    env.price("110");
    let report = env
        .engine
        .candle(sym("INFY"), candle("111", "108", "110"))
        .await
        .expect("exit candle");
    let Some(ExitOutcome::Closed { closed, .. }) = report.exit else {
        panic!("not closed: {:?}", report.exit);
    };
    assert_eq!(closed.exit_reason, ExitReason::Profit);
    let log = lock(&env.sim.shared().log).clone();
    let cancel = log
        .iter()
        .position(|r| r.method == "DELETE" && r.path.starts_with("/orders/regular/"))
        .expect("the stop was cancelled");
    let sells: Vec<usize> = log
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.method == "POST"
                && r.path.starts_with("/orders")
                && field(r, "order_type") == Some("MARKET")
                && field(r, "transaction_type") == Some("SELL")
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(sells.len(), 1, "one exit");
    assert!(cancel < sells[0], "cancel first, then the exit");
    let stops = stops(&database(&env)).await;
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].1, "CANCELLED");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    assert_eq!(status.protection, None);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_stop_that_filled_first_closes_the_trade_and_no_second_exit_is_sent() {
    let (env, _) = spawn_protected().await;
    env.enter_long().await;
    // Through the stop: the SL-M fills at the exchange, then kitebreak sees the price.
    env.price("104");
    env.engine
        .price(sym("INFY"), p("104"))
        .await
        .expect("price");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    let closed = last_closed(&env.engine).await.closed;
    assert_eq!(closed.exit_reason, ExitReason::Loss);
    assert_eq!(closed.price_exit, p("104"), "the stop's own fill");
    assert_eq!(closed.trade.quantity.get(), 10);
    assert_eq!(
        env.placements().len(),
        2,
        "entry and stop only: no second exit"
    );
    assert_eq!(stops(&database(&env)).await[0].1, "COMPLETE");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_partly_filled_stop_leaves_only_the_remainder_to_exit() {
    let (env, _) = spawn_armed(Some(Faults {
        partial_fill_next: 1,
        ..Faults::default()
    }))
    .await;
    env.enter_long().await;
    env.engine
        .set_monitoring(false)
        .await
        .expect("monitoring off");
    env.price("104.9");
    // kitebreak exits by hand: the cancel finds 5 units sold by the stop.
    let outcome = env.engine.exit(sym("INFY")).await.expect("exit");
    let ExitOutcome::Closed { order, closed } = outcome else {
        panic!("not closed: {outcome:?}");
    };
    assert_eq!(
        closed.trade.quantity.get(),
        5,
        "only the remainder was exited"
    );
    assert_eq!(order.quantity.get(), 5);
    let exits = requests(&env, "POST", "/orders")
        .into_iter()
        .filter(|r| {
            field(r, "order_type") == Some("MARKET") && field(r, "transaction_type") == Some("SELL")
        })
        .collect::<Vec<_>>();
    assert_eq!(exits.len(), 1);
    assert_eq!(field(&exits[0], "quantity"), Some("5"));
    let filter = TradeFilter {
        symbol: Some(sym("INFY")),
        ..TradeFilter::default()
    };
    let all = env.engine.closed_trades(&filter).await.expect("trades");
    assert_eq!(all.len(), 2, "the stop's part and the exit's part");
    assert!(
        all.iter()
            .any(|t| t.closed.exit_reason == ExitReason::Loss && t.closed.trade.quantity.get() == 5),
        "{all:?}"
    );
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_stop_that_fires_while_running_closes_the_trade_from_its_fill() {
    let (env, _) = spawn_protected().await;
    env.enter_long().await;
    // 105 reaches the SL-M's trigger (105) but not kitebreak's own stop (104.9895).
    env.price("105");
    env.engine
        .price(sym("INFY"), p("105"))
        .await
        .expect("price");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(
        status.position,
        PositionState::Open,
        "kitebreak's stop not hit"
    );
    env.engine.protect_step().await.expect("protect step");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    let closed = last_closed(&env.engine).await.closed;
    assert_eq!(closed.exit_reason, ExitReason::Loss);
    assert_eq!(closed.price_exit, p("105"));
    assert_eq!(env.placements().len(), 2, "no exit sent");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn after_a_restart_a_stop_that_filled_while_down_closes_the_trade() {
    let (mut env, _) = spawn_protected().await;
    env.enter_long().await;
    env.engine.shutdown().await;
    env.price("104.5");
    restart(&mut env).await;
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    let closed = last_closed(&env.engine).await.closed;
    assert_eq!(closed.exit_reason, ExitReason::Loss);
    assert_eq!(closed.price_exit, p("104.5"));
    let settled = &env.engine.reconciliation().orders;
    assert!(
        settled
            .iter()
            .any(|o| o.purpose == "protect" && o.outcome == "filled"),
        "{settled:?}"
    );
    assert_eq!(stops(&database(&env)).await[0].1, "COMPLETE");
    assert_eq!(env.placements().len(), 2, "no exit sent");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn after_a_restart_a_resting_stop_keeps_guarding_and_is_cancelled_on_exit() {
    let (mut env, _) = spawn_protected().await;
    env.enter_long().await;
    let tag = stops(&database(&env)).await[0].0.clone();
    restart(&mut env).await;
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    let protection = status.protection.expect("still guarded");
    assert_eq!(protection.tag.as_deref(), Some(tag.as_str()));
    let settled = &env.engine.reconciliation().orders;
    assert!(
        settled
            .iter()
            .any(|o| o.tag == tag && o.outcome == "guarding"),
        "{settled:?}"
    );
    // Checking does not place a second stop for a guarded trade.
    env.engine.protect_step().await.expect("protect step");
    assert_eq!(env.placements().len(), 2);
    let outcome = env.engine.exit(sym("INFY")).await.expect("manual exit");
    assert!(matches!(outcome, ExitOutcome::Closed { .. }), "{outcome:?}");
    assert_eq!(
        stops(&database(&env)).await,
        vec![(tag, "CANCELLED".to_string())]
    );
    assert_eq!(requests(&env, "DELETE", "/orders/regular/").len(), 1);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_rejected_stop_is_raised_and_the_trade_stays_open_and_watched() {
    let (env, _) = spawn_armed(Some(Faults {
        reject_next_order: 1,
        ..Faults::default()
    }))
    .await;
    env.enter_long().await;
    // Kite accepts the placement and rejects the order: the next check sees it.
    env.engine.protect_step().await.expect("protect step");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open, "the trade is kept");
    let protection = status.protection.expect("shown");
    assert_eq!(protection.tag, None);
    let error = protection.error.expect("the rejection is shown");
    assert!(error.contains("unfilled"), "{error}");
    assert_eq!(stops(&database(&env)).await[0].1, "REJECTED");
    // A raised trade is not re-guarded on every step, and kitebreak still exits it.
    env.engine.protect_step().await.expect("protect step");
    assert_eq!(env.placements().len(), 2);
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
    assert!(
        requests(&env, "DELETE", "/orders/").is_empty(),
        "nothing to cancel"
    );
    env.engine.shutdown().await;
}

#[tokio::test]
async fn flatten_cancels_the_stop_before_it_exits() {
    let (env, _) = spawn_protected().await;
    env.enter_long().await;
    let status = env
        .engine
        .set_kill_switch(kitebreak_engine::risk::KillSwitch::Flatten)
        .await
        .expect("flatten");
    assert_eq!(status.open_trades, 0);
    assert_eq!(stops(&database(&env)).await[0].1, "CANCELLED");
    // The exit's tag was taken when the trade opened (armed), before the stop's.
    assert_eq!(
        crate::helpers::stored_orders(&database(&env), "INFY").await,
        ["entry", "exit", "protect"]
    );
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_stop_that_cannot_be_cancelled_sends_no_exit_and_the_exit_is_retried() {
    let (env, audited) = spawn_protected().await;
    env.enter_long().await;
    // The cancel's answer is lost: the stop may still be working, so no exit goes out.
    audited
        .cancel_fails
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let outcome = env.engine.exit(sym("INFY")).await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(env.placements().len(), 2, "no exit while the stop may rest");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    let pending = status.exit_pending.expect("the exit is pending");
    assert!(
        pending.last_error.contains("not cancelled"),
        "{}",
        pending.last_error
    );
    assert!(status.protection.is_some(), "still guarded");
    // Once the cancel goes through, the retried exit sells.
    audited
        .cancel_fails
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let outcome = env.engine.exit(sym("INFY")).await.expect("exit");
    assert!(matches!(outcome, ExitOutcome::Closed { .. }), "{outcome:?}");
    assert_eq!(stops(&database(&env)).await[0].1, "CANCELLED");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_forced_reset_cancels_the_stop_and_refuses_while_it_may_still_rest() {
    let (env, audited) = spawn_protected().await;
    env.enter_long().await;
    // The cancel fails: dropping the trade would leave a stop nobody watches.
    set(&audited.cancel_fails, true);
    let refused = env.engine.reset(sym("INFY"), true).await;
    assert!(
        matches!(&refused, Err(kitebreak_engine::EngineError::Conflict(m)) if m.contains("not cancelled")),
        "{refused:?}"
    );
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open, "nothing was reset");
    assert!(status.protection.is_some(), "still guarded");
    // Once the cancel goes through, the forced reset drops the trade and no stop rests.
    set(&audited.cancel_fails, false);
    env.engine.reset(sym("INFY"), true).await.expect("reset");
    assert_eq!(stops(&database(&env)).await[0].1, "CANCELLED");
    assert_eq!(resting(&env), 0, "no stop rests at the exchange");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    assert_eq!(status.protection, None);
    assert_eq!(env.placements().len(), 2, "entry and stop; no exit order");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_stop_of_unknown_outcome_the_book_does_not_show_yet_blocks_the_exit_until_found() {
    let (env, audited) = spawn_protected().await;
    // The stop rests at the exchange, but its answer was lost and the book is late.
    set(&audited.stop_answer_lost, true);
    set(&audited.hide_stops, true);
    env.enter_long().await;
    assert_eq!(env.placements().len(), 2, "entry and stop");
    let outcome = env.engine.exit(sym("INFY")).await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(
        env.placements().len(),
        2,
        "no exit beside a stop that may rest"
    );
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    let pending = status.exit_pending.expect("the exit is pending");
    assert!(
        pending.last_error.contains("unknown outcome"),
        "{}",
        pending.last_error
    );
    // The book shows it now: it is cancelled first, then the exit sells.
    set(&audited.hide_stops, false);
    let outcome = env.engine.exit(sym("INFY")).await.expect("exit");
    assert!(matches!(outcome, ExitOutcome::Closed { .. }), "{outcome:?}");
    assert_eq!(stops(&database(&env)).await[0].1, "CANCELLED");
    assert_eq!(resting(&env), 0, "no stop rests at the exchange");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_stop_the_book_does_not_show_after_a_restart_still_blocks_a_second_closing_order() {
    let (mut env, audited) = spawn_protected().await;
    set(&audited.stop_answer_lost, true);
    set(&audited.hide_stops, true);
    env.enter_long().await;
    // Restarted while the book still does not show the resting stop.
    env.engine.shutdown().await;
    env.engine = start_with(env.dir.path(), audited.clone(), protected).await;
    let settled: Vec<_> = env
        .engine
        .reconciliation()
        .orders
        .iter()
        .map(|o| (o.purpose.as_str(), o.outcome))
        .collect();
    assert_eq!(settled, [("protect", "unknown")]);
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert!(status.protection.is_some(), "still counted as guarding");
    let outcome = env.engine.exit(sym("INFY")).await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(
        env.placements().len(),
        2,
        "no exit beside a stop that may rest"
    );
    set(&audited.hide_stops, false);
    let outcome = env.engine.exit(sym("INFY")).await.expect("exit");
    assert!(matches!(outcome, ExitOutcome::Closed { .. }), "{outcome:?}");
    let stops = stops(&database(&env)).await;
    assert_eq!(stops.len(), 1, "one stop, never a second: {stops:?}");
    assert_eq!(stops[0].1, "CANCELLED");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn no_new_stop_is_placed_while_an_exit_is_pending() {
    let (env, _) = spawn_protected().await;
    env.enter_long().await;
    env.sim.set_faults(Faults {
        reject_next_order: 1,
        ..Faults::default()
    });
    let outcome = env.engine.exit(sym("INFY")).await;
    assert!(outcome.is_err(), "the exit was rejected: {outcome:?}");
    assert_eq!(stops(&database(&env)).await[0].1, "CANCELLED");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert!(status.exit_pending.is_some());
    // The exit may yet close the position: a new stop could then open one.
    env.engine.protect_step().await.expect("protect step");
    let all = stops(&database(&env)).await;
    assert_eq!(all.len(), 1, "no second stop: {all:?}");
    assert_eq!(env.placements().len(), 3, "entry, stop, rejected exit");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn paper_places_no_stop_even_when_protection_is_configured() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start_with(dir.path(), Arc::new(PaperBroker::new(0)), protected).await;
    engine.price(sym("INFY"), p("100")).await.ok();
    crate::helpers::enter_long(&engine, "INFY").await;
    let status = engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    assert_eq!(status.protection, None, "nothing to guard on paper");
    assert!(stops(&dir.path().join("kitebreak.db")).await.is_empty());
    engine.protect_step().await.expect("a no-op step");
    engine.shutdown().await;
}
