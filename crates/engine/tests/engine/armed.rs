//! Armed exits (`journal`): an open trade's exit is committed as an ARMED row with
//! the trade, sent at once on its price, and a restart tells "armed, never sent"
//! (handed back to the trade, nothing looked up) from "maybe sent" (looked up by
//! its tag like any PENDING order) by the send journal beside the database.
//! The crash after the send is in `paper_recovery` (an exit the paper book filled
//! before a crash closes its trade at that fill, nothing sent twice).

use std::path::Path;
use std::sync::Arc;

use kitebreak_engine::{Engine, ExitOutcome, PaperBroker, PositionState, paper_book_path};
use sqlx::{ConnectOptions, Row};

use crate::helpers::{enter_long, p, start_with, sym};

async fn paper(dir: &Path) -> Arc<PaperBroker> {
    let book = paper_book_path(&dir.join("kitebreak.db"));
    Arc::new(PaperBroker::open(&book, 0).await.expect("paper book"))
}

async fn engine_in(dir: &Path, boot: &str) -> Engine {
    let boot = boot.to_owned();
    start_with(dir, paper(dir).await, move |config| {
        config.boot_id = Some(boot);
    })
    .await
}

fn journal(dir: &Path) -> std::path::PathBuf {
    dir.join("kitebreak.db.sending")
}

/// What a kill -9 leaves of the journal: no clean mark.
fn without_clean_mark(dir: &Path) {
    let text = std::fs::read_to_string(journal(dir)).expect("journal");
    let kept: Vec<&str> = text.lines().filter(|line| *line != "clean").collect();
    assert!(
        kept.len() < text.lines().count(),
        "a clean stop marks it: {text}"
    );
    std::fs::write(journal(dir), kept.join("\n") + "\n").expect("rewrite journal");
}

/// `(tag, status)` of INFY's exit orders, oldest first.
async fn exits(dir: &Path) -> Vec<(String, String)> {
    let mut db = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join("kitebreak.db"))
        .read_only(true)
        .connect()
        .await
        .expect("open database");
    sqlx::query("SELECT tag, status FROM orders WHERE purpose = 'exit' ORDER BY seq")
        .fetch_all(&mut db)
        .await
        .expect("orders")
        .iter()
        .map(|row| (row.get("tag"), row.get("status")))
        .collect()
}

async fn exit_at_target(engine: &Engine) -> String {
    let hit = engine.price(sym("INFY"), p("110")).await.expect("price");
    match hit.exit {
        Some(ExitOutcome::Closed { order, .. }) => order.tag,
        other => panic!("expected the trade closed at its target, got {other:?}"),
    }
}

#[tokio::test]
async fn a_trade_opens_with_its_exit_armed_and_the_exit_goes_out_under_that_tag() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = engine_in(dir.path(), "boot-a").await;
    enter_long(&engine, "INFY").await;
    assert_eq!(
        exits(dir.path()).await,
        [("KB000002".to_string(), "ARMED".to_string())]
    );
    assert_eq!(exit_at_target(&engine).await, "KB000002");
    assert_eq!(
        exits(dir.path()).await,
        [("KB000002".to_string(), "COMPLETE".to_string())]
    );
    let journal = std::fs::read_to_string(journal(dir.path())).expect("journal");
    assert!(journal.lines().any(|l| l == "sent KB000002"), "{journal}");
    engine.shutdown().await;
}

#[tokio::test]
async fn after_a_crash_in_the_same_boot_an_unsent_armed_exit_is_handed_back_unlooked_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = engine_in(dir.path(), "boot-a").await;
    enter_long(&engine, "INFY").await;
    engine.shutdown().await;
    without_clean_mark(dir.path());

    let engine = engine_in(dir.path(), "boot-a").await;
    let settled = &engine.reconciliation().orders;
    assert!(settled.is_empty(), "nothing to look up: {settled:?}");
    let status = engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    assert_eq!(exit_at_target(&engine).await, "KB000002");
    engine.shutdown().await;
}

#[tokio::test]
async fn after_a_reboot_without_a_clean_stop_an_armed_exit_is_looked_up_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = engine_in(dir.path(), "boot-a").await;
    enter_long(&engine, "INFY").await;
    engine.shutdown().await;
    without_clean_mark(dir.path());

    // Power lost: the journal's unsynced lines may be gone, so the armed tag may
    // have been sent. It is looked up by its tag (the paper book, on disk, never
    // took it) before anything else, and the exit goes out under a fresh tag.
    let engine = engine_in(dir.path(), "boot-b").await;
    let settled = &engine.reconciliation().orders;
    assert_eq!(settled.len(), 1, "{settled:?}");
    assert_eq!(settled[0].tag, "KB000002");
    assert_eq!(settled[0].purpose, "exit");
    assert_eq!(settled[0].outcome, "not_placed");
    let tag = exit_at_target(&engine).await;
    assert_ne!(
        tag, "KB000002",
        "a tag that may have been sent is never reused"
    );
    assert_eq!(
        exits(dir.path()).await,
        [
            ("KB000002".to_string(), "LOST".to_string()),
            (tag, "COMPLETE".to_string())
        ]
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_clean_stop_is_trusted_after_a_reboot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = engine_in(dir.path(), "boot-a").await;
    enter_long(&engine, "INFY").await;
    engine.shutdown().await;

    let engine = engine_in(dir.path(), "boot-b").await;
    assert!(engine.reconciliation().orders.is_empty());
    assert_eq!(exit_at_target(&engine).await, "KB000002");
    engine.shutdown().await;
}

#[tokio::test]
async fn a_trade_restored_without_an_armed_exit_is_armed_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = engine_in(dir.path(), "boot-a").await;
    enter_long(&engine, "INFY").await;
    engine.shutdown().await;
    // A database from before armed exits: the open trade has none.
    let mut db = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("kitebreak.db"))
        .connect()
        .await
        .expect("open database");
    sqlx::query("DELETE FROM orders WHERE status = 'ARMED'")
        .execute(&mut db)
        .await
        .expect("delete armed");
    drop(db);

    let engine = engine_in(dir.path(), "boot-a").await;
    assert!(engine.reconciliation().orders.is_empty());
    assert_eq!(
        exits(dir.path()).await,
        [("KB000002".to_string(), "ARMED".to_string())],
        "armed anew after the highest tag stored"
    );
    assert_eq!(exit_at_target(&engine).await, "KB000002");
    engine.shutdown().await;
}

#[tokio::test]
async fn a_rejected_exit_is_armed_again_under_a_fresh_tag() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(crate::helpers::TestBroker::default());
    let (engine, clock) = crate::lifecycle::manual_engine(dir.path(), broker.clone()).await;
    enter_long(&engine, "INFY").await;
    broker.rejecting(true);
    let hit = engine.price(sym("INFY"), p("110")).await.expect("price");
    assert!(
        matches!(hit.exit, Some(ExitOutcome::Failed { .. })),
        "{hit:?}"
    );
    assert_eq!(
        exits(dir.path()).await,
        [
            ("KB000002".to_string(), "REJECTED".to_string()),
            ("KB000003".to_string(), "ARMED".to_string())
        ]
    );
    broker.rejecting(false);
    clock.advance(jiff::SignedDuration::from_secs(1));
    assert_eq!(exit_at_target(&engine).await, "KB000003");
    engine.shutdown().await;
}
