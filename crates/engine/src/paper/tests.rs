//! The paper book's file: what a restart must still know, and files it must refuse.

use std::path::Path;

use kitebreak_price::{Price, Quantity};
use sqlx::{ConnectOptions, Executor};

use super::{PaperBroker, paper_book_path};
use crate::broker::{Broker, BrokerError, MarketOrder, OrderProgress, OrderStatus, Side};
use crate::{EngineError, Symbol};

fn p(text: &str) -> Price {
    text.parse().expect("price")
}

fn sym(text: &str) -> Symbol {
    Symbol::parse(text).expect("symbol")
}

fn order(tag: &str, symbol: &str, side: Side, units: u32) -> MarketOrder {
    MarketOrder {
        tag: tag.into(),
        symbol: sym(symbol),
        side,
        quantity: Quantity::new(units).expect("quantity"),
    }
}

async fn raw(path: &Path) -> sqlx::SqliteConnection {
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .expect("open the file directly")
}

/// The whole error chain, as the binary prints it.
fn chain(error: &EngineError) -> String {
    super::error_chain(error)
}

#[test]
fn the_book_sits_beside_its_database_and_is_named_after_it() {
    assert_eq!(
        paper_book_path(Path::new("/data/kitebreak.db")),
        Path::new("/data/kitebreak.paper.db")
    );
    assert_eq!(
        paper_book_path(Path::new("/data/demo.db")),
        Path::new("/data/demo.paper.db")
    );
}

#[tokio::test]
async fn orders_and_fills_are_still_there_after_reopening_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested").join("kitebreak.paper.db");
    let paper = PaperBroker::open(&path, 10).await.expect("open");
    paper.observe(&sym("INFY"), p("100"));
    let bought = paper
        .place_market(order("KB000001", "INFY", Side::Buy, 3))
        .await
        .expect("placed");
    let refused = paper
        .place_market(order("KB000002", "TCS", Side::Sell, 1))
        .await
        .expect("placed (and rejected: no price)");
    let before = paper.orders().await.expect("orders");
    let fills_before = paper.trades(None).await.expect("trades");
    drop(paper);

    let paper = PaperBroker::open(&path, 10).await.expect("reopen");
    assert_eq!(paper.orders().await.expect("orders"), before);
    let found = paper
        .find_by_tag("KB000001")
        .await
        .expect("look-up")
        .expect("the filled order is found by its tag after a restart");
    assert_eq!(found.order_id, bought);
    let OrderProgress::Done(OrderStatus::Complete {
        average_price,
        filled_quantity,
        ..
    }) = found.progress
    else {
        panic!("filled before the restart: {:?}", found.progress);
    };
    // 10 basis points above the last price, rounded up.
    assert_eq!(average_price, p("100.1"));
    assert_eq!(filled_quantity.get(), 3);
    let fills = paper.trades(Some(&bought)).await.expect("fills");
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].price, p("100.1"));
    assert_eq!(paper.trades(None).await.expect("trades"), fills_before);
    assert!(matches!(
        paper.final_status(&refused).await,
        Ok(OrderStatus::Rejected { .. })
    ));
    let history = paper.order_history(&refused).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].state, "REJECTED");
    // Ids are looked up through their tag: a tag alone, or an id of no paper
    // order, is unknown.
    for unknown in ["KB000001", "PAPER-KB00000Z", "PAPER-", ""] {
        assert!(
            matches!(
                paper.final_status(unknown).await,
                Err(BrokerError::UnknownOrder(_))
            ),
            "{unknown}"
        );
    }
    assert_eq!(
        paper.tags().await.expect("tags"),
        ["KB000001", "KB000002"],
        "every tag, oldest first"
    );
    let positions = paper.positions().await.expect("positions");
    assert_eq!(positions.len(), 1);
    assert_eq!(positions[0].buy_quantity, 3);
    assert!(
        paper
            .find_by_tag("KB000003")
            .await
            .expect("look-up")
            .is_none(),
        "a tag never placed is absent"
    );
    // Prices are not stored: the engine observes the last stored close again.
    assert!(matches!(
        paper.ltp(&sym("INFY")).await,
        Err(BrokerError::NoPrice(_))
    ));
}

#[tokio::test]
async fn a_reused_tag_is_refused_and_never_answered_with_the_old_fill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kitebreak.paper.db");
    let paper = PaperBroker::open(&path, 0).await.expect("open");
    paper.observe(&sym("INFY"), p("100"));
    paper
        .place_market(order("KB000001", "INFY", Side::Buy, 1))
        .await
        .expect("placed");
    drop(paper);

    let paper = PaperBroker::open(&path, 0).await.expect("reopen");
    paper.observe(&sym("INFY"), p("120"));
    match paper
        .place_market(order("KB000001", "INFY", Side::Buy, 1))
        .await
    {
        Err(BrokerError::Rejected(reason)) => {
            assert!(reason.contains("another database"), "{reason}");
        }
        other => panic!("a tag the book holds must be refused, got {other:?}"),
    }
    assert_eq!(paper.orders().await.expect("orders").len(), 1);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_with_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kitebreak.paper.db");
    std::fs::write(
        &path,
        b"this is not an SQLite file, just some text ".repeat(200),
    )
    .expect("write garbage");
    let Err(error) = PaperBroker::open(&path, 0).await else {
        panic!("a garbage file must not open");
    };
    assert!(matches!(error, EngineError::PaperBook { .. }), "{error:?}");
    let text = chain(&error);
    assert!(text.contains("kitebreak.paper.db"), "{text}");
    assert!(text.contains("not a database"), "{text}");
}

#[tokio::test]
async fn the_engines_database_is_not_taken_for_a_paper_book() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kitebreak.db");
    let store = crate::Store::open(&path).await.expect("engine database");
    store.close().await;
    let Err(error) = PaperBroker::open(&path, 0).await else {
        panic!("the engine's database is not a paper book");
    };
    let text = chain(&error);
    assert!(matches!(error, EngineError::PaperBook { .. }), "{text}");
    assert!(text.contains("migration"), "{text}");
}

#[tokio::test]
async fn a_corrupt_row_is_reported_not_panicked_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kitebreak.paper.db");
    let paper = PaperBroker::open(&path, 0).await.expect("open");
    paper.observe(&sym("INFY"), p("100"));
    paper
        .place_market(order("KB000001", "INFY", Side::Buy, 1))
        .await
        .expect("placed");
    drop(paper);
    let mut db = raw(&path).await;
    db.execute("UPDATE paper_orders SET placed_at = 'yesterday-ish'")
        .await
        .expect("damage the row");
    drop(db);

    let Err(error) = PaperBroker::open(&path, 0).await else {
        panic!("a row that cannot be read must not be skipped");
    };
    let text = chain(&error);
    assert!(text.contains("KB000001"), "{text}");
    assert!(text.contains("placed_at"), "{text}");
}

#[tokio::test]
async fn an_order_the_file_did_not_take_is_not_placed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kitebreak.paper.db");
    let paper = PaperBroker::open(&path, 0).await.expect("open");
    paper.observe(&sym("INFY"), p("100"));
    let mut db = raw(&path).await;
    db.execute("DROP TABLE paper_orders")
        .await
        .expect("break the book");
    drop(db);
    match paper
        .place_market(order("KB000001", "INFY", Side::Buy, 1))
        .await
    {
        Err(BrokerError::Unavailable(reason)) => {
            assert!(reason.contains("paper book"), "{reason}");
        }
        other => panic!("an unrecorded order must not count as placed, got {other:?}"),
    }
    assert!(
        paper
            .find_by_tag("KB000001")
            .await
            .expect("look-up")
            .is_none(),
        "memory never runs ahead of the file"
    );
}

/// A book bigger than what memory keeps ([`super::book::RECENT`]): the orders let
/// go from memory are still found, listed, counted in the positions and refused as
/// reused tags, while running and after a restart, from the file.
#[tokio::test]
async fn orders_older_than_memory_keeps_are_read_from_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kitebreak.paper.db");
    let total = super::book::RECENT + 3;
    let paper = PaperBroker::open(&path, 0).await.expect("open");
    paper.observe(&sym("INFY"), p("100"));
    for n in 0..total {
        let side = if n % 2 == 0 { Side::Buy } else { Side::Sell };
        paper
            .place_market(order(&numbered(n), "INFY", side, 1))
            .await
            .expect("placed");
    }
    reads_the_whole_book(&paper, total).await;
    drop(paper);
    let paper = PaperBroker::open(&path, 0).await.expect("reopen");
    paper.observe(&sym("INFY"), p("100"));
    reads_the_whole_book(&paper, total).await;
}

fn numbered(n: usize) -> String {
    format!("KB{n:06}")
}

/// `paper`, holding `total` orders (half bought, half sold, oldest first), answers
/// for all of them though memory keeps only the newest.
async fn reads_the_whole_book(paper: &PaperBroker, total: usize) {
    assert!(!paper.book().is_whole(), "memory holds only the newest");
    let oldest = paper
        .find_by_tag(&numbered(0))
        .await
        .expect("look-up")
        .expect("the oldest order is found in the file");
    assert_eq!(oldest.order_id, format!("PAPER-{}", numbered(0)));
    assert!(matches!(
        paper.final_status(&oldest.order_id).await,
        Ok(OrderStatus::Complete { .. })
    ));
    let history = paper
        .order_history(&oldest.order_id)
        .await
        .expect("history");
    assert_eq!(history.len(), 1);
    let fills = paper.trades(Some(&oldest.order_id)).await.expect("fill");
    assert_eq!(fills.len(), 1);
    let orders = paper.orders().await.expect("orders");
    assert_eq!(orders.len(), total);
    assert_eq!(orders[0].order.tag, numbered(0), "oldest first");
    assert_eq!(paper.trades(None).await.expect("fills").len(), total);
    assert_eq!(paper.tags().await.expect("tags").len(), total);
    let positions = paper.positions().await.expect("positions");
    let bought = u64::try_from(total.div_ceil(2)).expect("small");
    let sold = u64::try_from(total / 2).expect("small");
    assert_eq!(
        (positions[0].buy_quantity, positions[0].sell_quantity),
        (bought, sold)
    );
    assert!(
        matches!(
            paper
                .place_market(order(&numbered(0), "INFY", Side::Buy, 1))
                .await,
            Err(BrokerError::Rejected(_))
        ),
        "a tag only the file still holds is refused"
    );
}
