//! `kitebreak serve --demo`: trades appear (the demo logs each exit; the test waits
//! for that line, then reads `/trades`), in a database of their own.

use crate::helpers::Server;

/// The demo's first exit, then `GET /trades`, which shows it (an exit is committed
/// before the demo feed hears of it and logs it).
async fn first_trades(server: &Server) -> serde_json::Value {
    server.wait_for_log("demo: trade exited").await;
    let (status, trades) = server.get("/trades").await;
    assert_eq!(status, 200, "{trades}");
    assert!(trades["count"].as_u64() >= Some(1), "{trades}");
    trades
}

#[tokio::test]
async fn the_demo_shows_levels_entries_and_exits_in_a_database_of_its_own() {
    let mut server = Server::start(&["--demo", "--demo-rate", "0"]).await;
    let trades = first_trades(&server).await;
    // Newest first: the oldest trade is the demo's first, entered on the 18th candle's
    // close and exited at target on the 21st, exactly as `trace` shows for the sample.
    let all = trades["trades"].as_array().expect("a list of trades");
    let first = all.last().expect("at least one trade");
    assert_eq!(first["symbol"], "GOOG");
    assert_eq!(first["direction"], "long", "{first}");
    assert_eq!(first["entry_price"], 111.49, "{first}");
    assert_eq!(first["exit_price"], 117.49, "{first}");
    assert_eq!(first["exit_reason"], "profit", "{first}");
    let (_, strategies) = server.get("/strategies").await;
    assert!(strategies["strategies"]["GOOG"]["candles_seen"].as_u64() > Some(0));
    assert!(server.terminate().await.success());
    let log = server.stderr();
    assert!(log.contains("demo: trade entered"), "{log}");
    assert!(log.contains("demo: trade exited"), "{log}");
    assert!(server.data.path().join("demo.db").exists());
    assert!(server.data.path().join("demo.paper.db").exists());
    for real in ["kitebreak.db", "kitebreak.paper.db"] {
        assert!(
            !server.data.path().join(real).exists(),
            "real state untouched: {real}"
        );
    }

    // A second demo starts afresh, its paper book too (an old book's tags would
    // collide with the new database's).
    let mut again = Server::start_in(server.data, &["--demo", "--demo-rate", "0"]).await;
    let trades = first_trades(&again).await;
    let all = trades["trades"].as_array().expect("a list of trades");
    let first = all.last().expect("at least one trade");
    assert_eq!(first["entry_price"], 111.49, "{first}");
    assert!(again.terminate().await.success());
}

#[tokio::test]
async fn the_demo_feed_carries_the_passphrase_when_secrets_are_set() {
    let envs = [
        ("KITEBREAK_WEBHOOK_SECRET", "demo-passphrase-2b9e"),
        ("KITEBREAK_API_TOKEN", "demo-token-c41f"),
    ];
    let mut server = Server::start_with_env(&["--demo", "--demo-rate", "0"], &envs).await;
    first_trades(&server).await;
    assert!(server.terminate().await.success());
    let log = server.stderr();
    assert!(
        !log.contains("rejected") && !log.contains("stopped at"),
        "{log}"
    );
    assert!(!log.contains("demo-passphrase-2b9e") && !log.contains("demo-token-c41f"));
}
