//! Order flows: fills, rejections, the lost answer reconciled by tag, and placements
//! on one kept-alive connection, kept open while nothing else is asked.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kite_sim::Faults;
use kitebreak_kite::{
    ErrorClass, ExpiryCause, KiteBroker, KiteError, OrderKind, OrderRequest, OrderState, Product,
    Side, Tag,
};
use kitebreak_price::Quantity;

use crate::helpers::{Relay, log, price, spawn};

/// Whether `request` came through the official crate's reqwest client, which asks
/// for compressed answers; the placement connection does not.
fn through_the_crate(request: &kite_sim::shared::LoggedRequest) -> bool {
    crate::helpers::header(request, "accept-encoding").is_some()
}

fn order_posts(sim: &kite_sim::SimHandle) -> Vec<kite_sim::shared::LoggedRequest> {
    log(sim)
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/orders/regular")
        .collect()
}

fn market_buy(tag: &str) -> OrderRequest {
    OrderRequest {
        tag: Tag::new(tag).expect("tag"),
        instrument: "NSE:INFY".into(),
        side: Side::Buy,
        quantity: Quantity::new(1).expect("quantity"),
        kind: OrderKind::Market,
        product: Product::Mis,
    }
}

#[tokio::test]
async fn a_market_order_completes_at_an_exact_price() {
    let env = spawn().await;
    let id = env
        .broker
        .place_order(&market_buy("kbfill1"))
        .await
        .expect("placed");
    let done = env.broker.final_status(&id).await.expect("final");
    assert_eq!(done.state, OrderState::Complete);
    assert_eq!(done.average_price, Some(price("1500")));
    assert_eq!(done.filled_quantity, 1);
    assert_eq!(done.tag.as_deref(), Some("kbfill1"));
}

#[tokio::test]
async fn a_rejected_order_reports_kites_reason() {
    let env = spawn().await;
    env.sim.set_faults(Faults {
        reject_next_order: 1,
        ..Faults::default()
    });
    let id = env
        .broker
        .place_order(&market_buy("kbrej1"))
        .await
        .expect("accepted");
    let done = env.broker.final_status(&id).await.expect("final");
    assert_eq!(done.state, OrderState::Rejected);
    assert!(
        done.message
            .unwrap_or_default()
            .contains("Insufficient funds")
    );
}

#[tokio::test]
async fn a_lost_placement_answer_is_unknown_and_found_by_tag_without_resending() {
    let env = spawn().await;
    env.sim.set_faults(Faults {
        lose_next_order: 1,
        ..Faults::default()
    });
    let error = env
        .broker
        .place_order(&market_buy("kblost1"))
        .await
        .expect_err("the answer is lost");
    assert_eq!(error.class(), ErrorClass::UnknownOutcome);
    assert!(matches!(&error, KiteError::OutcomeUnknown { tag, .. } if tag == "kblost1"));
    let found = env
        .broker
        .reconcile("kblost1", 3)
        .await
        .expect("read")
        .expect("found");
    let done = env
        .broker
        .final_status(&found.order_id)
        .await
        .expect("final");
    assert_eq!(done.state, OrderState::Complete);
    let posts = log(&env.sim)
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/orders/regular")
        .count();
    assert_eq!(posts, 1, "nothing is sent twice");
    assert_eq!(
        env.broker.reconcile("kbnever", 2).await.expect("read"),
        None
    );
}

#[tokio::test]
async fn quantities_off_the_lot_and_unknown_symbols_are_refused_before_sending() {
    let env = spawn().await;
    let mut order = market_buy("kbbad1");
    order.instrument = "NSE:NOSUCH".into();
    let error = env.broker.place_order(&order).await.expect_err("unknown");
    assert_eq!(error.class(), ErrorClass::Rejected);
    assert!(log(&env.sim).iter().all(|r| r.path != "/orders/regular"));
}

#[tokio::test]
async fn fills_are_exact_trades_of_the_order() {
    let env = spawn().await;
    env.sim.set_price("NSE:INFY", price("1512.35"));
    let id = env
        .broker
        .place_order(&market_buy("kbtrade1"))
        .await
        .expect("placed");
    env.broker.final_status(&id).await.expect("final");
    let fills = env.broker.trades().await.expect("trades");
    let fill = fills.iter().find(|f| f.order_id == id).expect("a fill");
    assert_eq!((fill.quantity, fill.price), (1, price("1512.35")));
    assert_eq!(fill.instrument, "NSE:INFY");
}

fn resting_buy(tag: &str) -> OrderRequest {
    OrderRequest {
        kind: OrderKind::Limit {
            price: price("1400"),
        },
        ..market_buy(tag)
    }
}

#[tokio::test]
async fn a_bounded_wait_on_a_resting_order_says_still_working_and_changes_nothing() {
    let env = spawn().await;
    let id = env
        .broker
        .place_order(&resting_buy("kbrest2"))
        .await
        .expect("placed");
    let error = env
        .broker
        .final_status_within(&id, std::time::Duration::from_millis(300))
        .await
        .expect_err("it rests");
    assert_eq!(error.class(), ErrorClass::UnknownOutcome);
    assert!(
        matches!(&error, KiteError::StillWorking { order_id, status } if *order_id == id && status == "OPEN"),
        "{error}"
    );
    assert!(log(&env.sim).iter().all(|r| r.method != "DELETE"));
    assert_eq!(
        env.broker.order(&id).await.expect("read").state,
        OrderState::Pending("OPEN".into())
    );
}

#[tokio::test]
async fn settle_cancels_an_order_still_working_after_the_wait_and_reports_its_end() {
    let env = spawn().await;
    let id = env
        .broker
        .place_order(&resting_buy("kbrest3"))
        .await
        .expect("placed");
    let done = env
        .broker
        .settle(&id, std::time::Duration::from_millis(300))
        .await
        .expect("settled");
    assert_eq!(done.state, OrderState::Cancelled);
    assert_eq!(done.filled_quantity, 0);
    let cancels: Vec<_> = log(&env.sim)
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path)
        .collect();
    assert_eq!(cancels, [format!("/orders/regular/{id}")]);

    let filled = env
        .broker
        .place_order(&market_buy("kbfill9"))
        .await
        .expect("placed");
    let done = env
        .broker
        .settle(&filled, std::time::Duration::from_secs(5))
        .await
        .expect("settled");
    assert_eq!(done.state, OrderState::Complete);
    assert_eq!(
        log(&env.sim)
            .iter()
            .filter(|r| r.method == "DELETE")
            .count(),
        1,
        "a filled order is not cancelled"
    );
}

/// A broker on kite-sim (INFY at 1500) whose REST calls go through a counting relay,
/// its instruments loaded and its placement connection open.
struct Relayed {
    sim: kite_sim::SimHandle,
    broker: KiteBroker,
    /// Connections the relay accepted.
    accepted: Arc<AtomicUsize>,
    /// The relay itself, to cut its connections.
    relay: Relay,
    _dir: tempfile::TempDir,
}

async fn relayed() -> Relayed {
    let sim = kite_sim::Sim::start(kite_sim::SimConfig::for_tests(crate::helpers::start()))
        .await
        .expect("sim");
    sim.set_price("NSE:INFY", crate::helpers::price("1500"));
    let relay = Relay::start(sim.addr()).await;
    let accepted = Arc::clone(&relay.accepted);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = crate::helpers::config_for(&relay.url, &sim.ws_url(), dir.path());
    let token = kiteconnect::AccessToken::new(crate::helpers::TOKEN).expect("token");
    let broker = KiteBroker::new(config, kitebreak_kite::SessionState::new(Some(token)));
    broker.load_instruments().await.expect("instruments");
    assert!(broker.open_placement_connection().await);
    Relayed {
        sim,
        broker,
        accepted,
        relay,
        _dir: dir,
    }
}

/// An exit must not pay for a TCP (in production, TLS) connect: placements reuse
/// their own kept-alive connection (`keep_warm` keeps it open while nothing else goes
/// out on it).
#[tokio::test]
async fn successive_placements_reuse_one_kept_alive_connection() {
    let Relayed {
        sim,
        broker,
        accepted,
        _dir,
        ..
    } = relayed().await;
    // One connection was opened for the dump (a client of its own), one for
    // placements; no placement opens another.
    broker
        .place_order(&market_buy("kbwarm"))
        .await
        .expect("placed");
    let warm = accepted.load(Ordering::SeqCst);
    assert_eq!(warm, 2, "one connection for the dump, one for placements");
    for n in 0..3 {
        broker
            .place_order(&market_buy(&format!("kbreuse{n}")))
            .await
            .expect("placed");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        warm,
        "no placement opened a connection of its own"
    );
    let posts = order_posts(&sim);
    assert_eq!(posts.len(), 4);
    assert!(
        posts.iter().all(|p| !through_the_crate(p)),
        "all on the placement connection"
    );
    sim.shutdown().await;
}

/// With nothing else to ask Kite (a trade open, the ticker live), `keep_warm` sends
/// one light read on each kept-alive connection (the API client's and placements')
/// once no request went out on it for the quiet time, and nothing sooner or without a
/// usable session.
#[tokio::test]
async fn keep_warm_reads_on_the_kept_alive_connection_only_after_a_quiet_time() {
    let Relayed {
        sim,
        broker,
        accepted,
        _dir,
        ..
    } = relayed().await;
    broker
        .place_order(&market_buy("kbwarm2"))
        .await
        .expect("placed");
    let opened = accepted.load(Ordering::SeqCst);
    let profile_reads = || {
        log(&sim)
            .iter()
            .filter(|r| r.method == "GET" && r.path == "/user/profile")
            .count()
    };

    let hour = std::time::Duration::from_secs(3600);
    assert!(
        !broker.keep_warm(hour).await.expect("kept warm"),
        "a placement just went out"
    );
    assert_eq!(profile_reads(), 0);

    assert!(
        broker
            .keep_warm(std::time::Duration::ZERO)
            .await
            .expect("kept warm")
    );
    assert_eq!(profile_reads(), 2, "one read on each connection");
    let both = accepted.load(Ordering::SeqCst);
    assert_eq!(both, opened + 1, "the API client's first request opened it");
    assert!(
        broker
            .keep_warm(std::time::Duration::ZERO)
            .await
            .expect("kept warm")
    );
    assert_eq!(profile_reads(), 4);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        both,
        "the reads went on the connections they keep open"
    );
    // They count as requests: the next check within the quiet time is silent.
    assert!(!broker.keep_warm(hour).await.expect("kept warm"));

    broker
        .session()
        .mark_expired(ExpiryCause::Refused, jiff::Timestamp::now());
    assert!(
        !broker
            .keep_warm(std::time::Duration::ZERO)
            .await
            .expect("not sent"),
        "no request on a dead token"
    );
    assert_eq!(profile_reads(), 4);
    sim.shutdown().await;
}

/// A placement that finds the placement connection busy (another order's answer not
/// back yet) goes through the API client instead, and both send the same request (so
/// a change in the official crate's request shows up here).
#[tokio::test]
async fn a_placement_that_finds_the_connection_busy_goes_through_the_api_client_alike() {
    let Relayed {
        sim,
        broker,
        accepted,
        relay,
        _dir,
    } = relayed().await;
    broker
        .place_order(&market_buy("kbpair0"))
        .await
        .expect("placed");
    let before = accepted.load(Ordering::SeqCst);
    relay.hold();
    let in_flight = tokio::spawn({
        let broker = broker.clone();
        async move { broker.place_order(&market_buy("kbpair1")).await }
    });
    relay.holding(1).await;
    // The bound only turns a wait for the busy connection (a hang here) into a failure.
    let order = market_buy("kbpair2");
    let second = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        broker.place_order(&order),
    );
    second
        .await
        .expect("a busy connection is not waited for")
        .expect("placed");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        before + 1,
        "the API client opened its connection"
    );
    relay.release();
    in_flight.await.expect("joined").expect("placed");
    let posts = order_posts(&sim);
    assert_eq!(posts.len(), 3, "each order went out once");
    let paths: Vec<_> = posts.iter().map(through_the_crate).collect();
    assert_eq!(
        paths,
        [false, false, true],
        "only the third through the crate"
    );
    let significant = |request: &kite_sim::shared::LoggedRequest| {
        let mut headers: Vec<_> = request
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            // reqwest asks for gzip (the crate's dump needs it); order answers are tiny.
            .filter(|(k, _)| k != "accept-encoding")
            .collect();
        headers.sort();
        let form: Vec<_> = request
            .form
            .iter()
            .filter(|(k, _)| k != "tag")
            .cloned()
            .collect();
        (headers, form)
    };
    assert_eq!(significant(&posts[1]), significant(&posts[2]));
    let tags: Vec<_> = posts
        .iter()
        .filter_map(|r| crate::helpers::field(&r.form, "tag"))
        .collect();
    assert_eq!(tags, ["kbpair0", "kbpair1", "kbpair2"]);
    sim.shutdown().await;
}

/// A kept connection the server (or a proxy) closed while it was idle is noticed
/// before the next order is written: that order goes through the API client, once,
/// and is placed (not an unknown outcome), and the connection is reopened for the
/// next one.
#[tokio::test]
async fn a_connection_closed_while_idle_is_replaced_before_the_next_placement() {
    let Relayed {
        sim,
        broker,
        accepted,
        relay,
        _dir,
    } = relayed().await;
    broker
        .place_order(&market_buy("kbcut1"))
        .await
        .expect("placed");
    let before = accepted.load(Ordering::SeqCst);
    relay.cut().await;
    // Lets the runtime's I/O driver see the close (a yield is woken only after the
    // driver ran), as it would in the time between two orders.
    tokio::task::yield_now().await;
    broker
        .place_order(&market_buy("kbcut2"))
        .await
        .expect("placed through the API client");
    assert!(broker.open_placement_connection().await, "reopened");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        before + 2,
        "one for the API client, one for placements"
    );
    broker
        .place_order(&market_buy("kbcut3"))
        .await
        .expect("placed on the new connection");
    let posts = order_posts(&sim);
    let paths: Vec<_> = posts.iter().map(through_the_crate).collect();
    assert_eq!(paths, [false, true, false], "each order went out once");
    sim.shutdown().await;
}
