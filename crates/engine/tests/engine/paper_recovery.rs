//! Crashes between the paper fill and the engine's own commit: the paper book is a
//! file of its own, so after a restart on both files recovery finds the fill by the
//! order's tag and adopts it (the trade opens, or closes, at the paper fill's
//! price) instead of recording the order LOST, and nothing is sent twice.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kitebreak_engine::{
    BoxFuture, Broker, BrokerError, EngineError, FoundOrder, MarketOrder, Ohlc, OrderId,
    OrderReport, OrderStatus, PaperBroker, PositionReport, PositionState, Side, Symbol,
    TradeFilter, paper_book_path,
};
use kitebreak_price::{Price, Quantity};
use kitebreak_strategy::ExitReason;
use tokio::sync::Notify;

use crate::helpers::{BREAKOUT, candle, feed_setup, p, start_with, stored_statuses, sym};

/// The paper broker of a process that dies once armed: the order reaches the paper
/// book (filled and on disk) and its answer never comes back to the engine.
#[derive(Debug)]
struct DiesAfterFill {
    paper: PaperBroker,
    armed: AtomicBool,
    filled: Notify,
}

impl Broker for DiesAfterFill {
    fn name(&self) -> &'static str {
        "paper"
    }
    fn place_market(&self, order: MarketOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        Box::pin(async move {
            let placed = self.paper.place_market(order).await;
            if self.armed.load(Ordering::SeqCst) {
                self.filled.notify_one();
                // The process is gone: the engine never hears of the fill.
                return std::future::pending().await;
            }
            placed
        })
    }
    fn final_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
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
    fn shows_orders_late(&self) -> bool {
        self.paper.shows_orders_late()
    }
    fn exchange_account(&self) -> bool {
        self.paper.exchange_account()
    }
}

/// Fills are 10 basis points worse than the last price, so a fill's price differs
/// from the signal's and the test can tell which one a trade was built from.
const SLIPPAGE_BPS: u32 = 10;

async fn dying(dir: &Path) -> Arc<DiesAfterFill> {
    let book = paper_book_path(&dir.join("kitebreak.db"));
    Arc::new(DiesAfterFill {
        paper: PaperBroker::open(&book, SLIPPAGE_BPS)
            .await
            .expect("paper book"),
        armed: AtomicBool::new(false),
        filled: Notify::new(),
    })
}

/// The restarted process: a paper broker reopened on the same book.
async fn reopened(dir: &Path) -> Arc<PaperBroker> {
    let book = paper_book_path(&dir.join("kitebreak.db"));
    Arc::new(
        PaperBroker::open(&book, SLIPPAGE_BPS)
            .await
            .expect("paper book reopens"),
    )
}

#[tokio::test]
async fn an_entry_the_paper_book_filled_before_a_crash_opens_its_trade_at_that_fill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = dying(dir.path()).await;
    let engine = start_with(dir.path(), broker.clone(), |_| {}).await;
    feed_setup(&engine, "INFY").await;
    broker.armed.store(true, Ordering::SeqCst);
    let breakout = tokio::spawn({
        let engine = engine.clone();
        let (h, l, c) = BREAKOUT;
        async move { engine.candle(sym("INFY"), candle(h, l, c)).await }
    });
    // The intent was committed (the engine sends nothing before), the paper book
    // filled and wrote the order; then the process died.
    broker.filled.notified().await;
    breakout.abort();
    drop(engine);
    let database = dir.path().join("kitebreak.db");
    assert_eq!(
        stored_statuses(&database, "INFY").await,
        [("entry".to_string(), "PENDING".to_string())],
        "the crash left the entry pending in the engine's database"
    );

    let paper = reopened(dir.path()).await;
    let engine = start_with(dir.path(), paper.clone(), |_| {}).await;
    let settled = &engine.reconciliation().orders;
    assert_eq!(settled.len(), 1, "{settled:?}");
    assert_eq!(settled[0].tag, "KB000001");
    assert_eq!(settled[0].outcome, "filled");
    let status = engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    let trade = status.trade.expect("the paper fill opened the trade");
    // The breakout closed at 106; the paper fill was 10 bps higher.
    assert_eq!(trade.price_entry, p("106.106"));
    assert_eq!(trade.entry_order_id.as_deref(), Some("PAPER-KB000001"));
    assert_eq!(
        stored_statuses(&database, "INFY").await,
        [("entry".to_string(), "COMPLETE".to_string())]
    );
    assert_eq!(
        paper.orders().await.expect("orders").len(),
        1,
        "nothing was sent twice"
    );

    // The adopted trade is watched: its target exits it under the next tag.
    let hit = engine.price(sym("INFY"), p("110")).await.expect("price");
    assert!(hit.exit.is_some(), "{:?}", hit.exit);
    let book = paper.orders().await.expect("orders");
    let tags: Vec<&str> = book.iter().map(|o| o.order.tag.as_str()).collect();
    assert_eq!(tags, ["KB000001", "KB000002"]);
    engine.shutdown().await;
}

#[tokio::test]
async fn an_exit_the_paper_book_filled_before_a_crash_closes_its_trade_at_that_fill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = dying(dir.path()).await;
    let engine = start_with(dir.path(), broker.clone(), |_| {}).await;
    feed_setup(&engine, "INFY").await;
    let (h, l, c) = BREAKOUT;
    engine
        .candle(sym("INFY"), candle(h, l, c))
        .await
        .expect("breakout");
    broker.armed.store(true, Ordering::SeqCst);
    let target = tokio::spawn({
        let engine = engine.clone();
        async move { engine.price(sym("INFY"), p("109.5")).await }
    });
    broker.filled.notified().await;
    target.abort();
    drop(engine);

    let paper = reopened(dir.path()).await;
    let engine = start_with(dir.path(), paper.clone(), |_| {}).await;
    let settled = &engine.reconciliation().orders;
    assert_eq!(settled.len(), 1, "{settled:?}");
    assert_eq!(settled[0].purpose, "exit");
    assert_eq!(settled[0].outcome, "filled");
    let status = engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    let closed = engine
        .closed_trades(&TradeFilter::default())
        .await
        .expect("trades");
    assert_eq!(closed.len(), 1);
    // The exit sold 10 bps below 109.5.
    assert_eq!(closed[0].closed.price_exit, p("109.3905"));
    assert_eq!(closed[0].closed.exit_reason, ExitReason::Profit);
    assert_eq!(
        stored_statuses(&dir.path().join("kitebreak.db"), "INFY").await,
        [
            ("entry".to_string(), "COMPLETE".to_string()),
            ("exit".to_string(), "COMPLETE".to_string()),
        ]
    );
    let book = paper.orders().await.expect("orders");
    assert_eq!(book.len(), 2, "no second exit was sent: {book:?}");
    assert_eq!(book[1].order.side, Side::Sell);
    engine.shutdown().await;
}

#[tokio::test]
async fn a_paper_book_of_another_database_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let paper = reopened(dir.path()).await;
    paper.observe(&sym("INFY"), p("100"));
    let order = MarketOrder {
        tag: "KB000007".into(),
        symbol: sym("INFY"),
        side: Side::Buy,
        quantity: Quantity::ONE,
    };
    paper.place_market(order).await.expect("placed");
    // A fresh database (the old one deleted) beside the old paper book.
    let mut config = kitebreak_engine::EngineConfig::new(dir.path().join("kitebreak.db"));
    config.enforce_every = None;
    match kitebreak_engine::Engine::start(config, paper).await {
        Err(EngineError::ForeignBook { tag, last }) => {
            assert_eq!(tag, "KB000007");
            assert_eq!(last, 0);
        }
        Err(other) => panic!("expected the foreign book refused, got {other:?}"),
        Ok(_) => panic!("a paper book of another database must not be adopted"),
    }
}
