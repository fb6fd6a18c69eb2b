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

use crate::helpers::{log, price, spawn};

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

/// A loopback relay in front of `upstream` that copies every connection both ways and
/// counts the connections it accepted.
async fn counting_relay(upstream: std::net::SocketAddr) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (url, accepted)
}

/// A broker on kite-sim (INFY at 1500) whose REST calls go through a counting relay,
/// its instruments loaded.
struct Relayed {
    sim: kite_sim::SimHandle,
    broker: KiteBroker,
    /// Connections the relay accepted.
    accepted: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

async fn relayed() -> Relayed {
    let sim = kite_sim::Sim::start(kite_sim::SimConfig::for_tests(crate::helpers::start()))
        .await
        .expect("sim");
    sim.set_price("NSE:INFY", crate::helpers::price("1500"));
    let (url, accepted) = counting_relay(sim.addr()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = crate::helpers::config_for(&url, &sim.ws_url(), dir.path());
    let token = kiteconnect::AccessToken::new(crate::helpers::TOKEN).expect("token");
    let broker = KiteBroker::new(config, kitebreak_kite::SessionState::new(Some(token)));
    broker.load_instruments().await.expect("instruments");
    Relayed {
        sim,
        broker,
        accepted,
        _dir: dir,
    }
}

/// An exit must not pay for a TCP (in production, TLS) connect: placements reuse the
/// API client's kept-alive connection. (Only while it is pooled: the official crate's
/// reqwest client drops a connection idle for 90 s.)
#[tokio::test]
async fn successive_placements_reuse_one_kept_alive_connection() {
    let Relayed {
        sim,
        broker,
        accepted,
        _dir,
    } = relayed().await;
    // The first call of the API client opens its connection (the instrument dump
    // has a client of its own); the placements after it must not.
    broker
        .place_order(&market_buy("kbwarm"))
        .await
        .expect("placed");
    let warm = accepted.load(Ordering::SeqCst);
    assert_eq!(
        warm, 2,
        "one connection for the dump, one for the API client"
    );
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
    sim.shutdown().await;
}

/// With nothing else to ask Kite (a trade open, the ticker live), `keep_warm` sends
/// one light read on the API client's kept-alive connection once no request went out
/// for the quiet time, and nothing sooner or without a usable session.
#[tokio::test]
async fn keep_warm_reads_on_the_kept_alive_connection_only_after_a_quiet_time() {
    let Relayed {
        sim,
        broker,
        accepted,
        _dir,
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
    assert_eq!(profile_reads(), 1);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        opened,
        "the read went on the connection it keeps open"
    );
    // It counts as a request itself: the next check within the quiet time is silent.
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
    assert_eq!(profile_reads(), 1);
    sim.shutdown().await;
}
