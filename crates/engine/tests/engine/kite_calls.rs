//! The Kite adapter's order and catalogue calls against kite-sim: moving a resting
//! SL-M stop's trigger (rounded onto the tick so it triggers no later), one order's
//! history, its fills, instrument lookup, and OHLC of many symbols.

use kite_sim::shared::lock;
use kitebreak_engine::{
    Broker, BrokerError, MarketOrder, OrderStatus, PaperBroker, Side, StopOrder,
};
use kitebreak_price::Quantity;

use crate::helpers::{p, sym};
use crate::kite::{adapter, field, sim};

fn one() -> Quantity {
    Quantity::new(1).expect("quantity")
}

#[tokio::test]
async fn a_resting_stop_moves_its_trigger_rounded_up_for_a_sell() {
    let sim = sim().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = adapter(&sim, dir.path()).await;
    assert!(sim.set_price("NSE:INFY", p("100")));
    let stop = StopOrder {
        tag: "kbstop1".into(),
        symbol: sym("INFY"),
        side: Side::Sell,
        quantity: one(),
        trigger: p("95"),
    };
    let id = broker.place_stop(stop.clone()).await.expect("stop placed");
    let moved = StopOrder {
        trigger: p("96.03"),
        ..stop
    };
    let modified = broker.modify_stop(&id, moved).await.expect("stop moved");
    assert_eq!(modified, id);

    let put = lock(&sim.shared().log)
        .iter()
        .find(|r| r.method == "PUT" && r.path == format!("/orders/regular/{id}"))
        .cloned()
        .expect("a modify reached the sim");
    assert_eq!(put.status, 200);
    // A sell stop rounds up onto the 0.05 tick: it triggers no later than asked.
    assert_eq!(field(&put, "trigger_price"), Some("96.05"));
    assert_eq!(field(&put, "order_type"), Some("SL-M"));

    let steps = broker.order_history(&id).await.expect("history");
    let last = steps.last().expect("a state");
    assert_eq!(last.state, "TRIGGER PENDING");
    assert_eq!(last.filled_quantity, 0);
}

#[tokio::test]
async fn a_filled_order_shows_its_states_and_its_fills() {
    let sim = sim().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = adapter(&sim, dir.path()).await;
    assert!(sim.set_price("NSE:INFY", p("100")));
    let order = MarketOrder {
        tag: "kbbuy1".into(),
        symbol: sym("INFY"),
        side: Side::Buy,
        quantity: one(),
    };
    let id = broker.place_market(order).await.expect("placed");
    let OrderStatus::Complete { average_price, .. } =
        broker.final_status(&id).await.expect("final")
    else {
        panic!("the buy did not fill");
    };

    let steps = broker.order_history(&id).await.expect("history");
    assert!(steps.len() >= 2, "more than one state: {steps:?}");
    let last = steps.last().expect("a state");
    assert_eq!(last.state, "COMPLETE");
    assert_eq!(last.filled_quantity, 1);
    assert_eq!(last.average_price, Some(average_price));

    let fills = broker.trades(Some(&id)).await.expect("fills");
    assert_eq!(fills.len(), 1, "{fills:?}");
    assert_eq!(fills[0].order_id, id);
    assert_eq!(fills[0].symbol, sym("INFY"));
    assert_eq!(fills[0].quantity, one());
    assert_eq!(fills[0].price, average_price);
    let today = broker.trades(None).await.expect("today's fills");
    assert!(today.iter().any(|fill| fill.order_id == id));
}

#[tokio::test]
async fn instrument_lookup_gives_tick_and_lot_and_refuses_an_unknown_symbol() {
    let sim = sim().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = adapter(&sim, dir.path()).await;
    let infy = broker.instrument(&sym("INFY")).expect("INFY");
    assert_eq!(infy.token, 408_065);
    assert_eq!(infy.tick, p("0.05"));
    assert_eq!(infy.lot_size, 1);
    assert_eq!(infy.segment, "NSE");

    match broker.instrument(&sym("NOSUCHCO")) {
        Err(BrokerError::Rejected(message)) => {
            assert!(message.contains("NSE:NOSUCHCO"), "{message}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn ohlc_of_many_symbols_leaves_out_the_unpriced() {
    let sim = sim().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = adapter(&sim, dir.path()).await;
    assert!(sim.set_price("NSE:INFY", p("100")));
    let all = broker
        .ohlc_many(&[sym("INFY"), sym("NOSUCHCO")])
        .await
        .expect("ohlc");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].0, sym("INFY"));
    assert_eq!(all[0].1.close, p("100"));
}

#[tokio::test]
async fn paper_history_and_fills_come_from_its_book() {
    let paper = PaperBroker::new(0);
    paper.observe(&sym("INFY"), p("100"));
    let order = MarketOrder {
        tag: "kbpaper1".into(),
        symbol: sym("INFY"),
        side: Side::Buy,
        quantity: one(),
    };
    let id = paper.place_market(order).await.expect("placed");
    let steps = paper.order_history(&id).await.expect("history");
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].state, "COMPLETE");
    let fills = paper.trades(Some(&id)).await.expect("fills");
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].price, p("100"));
    assert!(matches!(
        paper.order_history("PAPER-none").await,
        Err(BrokerError::UnknownOrder(_))
    ));
    assert!(matches!(
        paper.instrument(&sym("INFY")),
        Err(BrokerError::Unsupported(_))
    ));
    assert!(matches!(
        paper
            .modify_stop(
                &id,
                StopOrder {
                    tag: "kbpaper2".into(),
                    symbol: sym("INFY"),
                    side: Side::Sell,
                    quantity: one(),
                    trigger: p("95"),
                }
            )
            .await,
        Err(BrokerError::Unsupported(_))
    ));
}
