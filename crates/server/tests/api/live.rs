//! Live-trading surfaces of the API: a failed exit shows as `exit_pending` with its
//! last error in `GET /strategy/{symbol}` and counts in `/metrics`; the metrics show
//! the live feed's state, broker errors by kind and throttling waits.

use std::sync::Arc;

use axum_test::TestServer;
use kitebreak_engine::{
    BoxFuture, Broker, BrokerError, FoundOrder, MarketOrder, Ohlc, OrderId, OrderReport,
    OrderStatus, PaperBroker, PositionReport, Side, Symbol,
};
use kitebreak_price::Price;
use kitebreak_server::App;
use serde_json::{Value, json};

use crate::helpers::{TestApp, config, spawn_app};

/// Paper trading whose sell orders are refused by "RMS".
#[derive(Debug, Default)]
struct NoSells {
    paper: PaperBroker,
}

impl Broker for NoSells {
    fn name(&self) -> &'static str {
        "no-sells"
    }
    fn place_market(&self, order: MarketOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        if order.side == Side::Sell {
            return Box::pin(async { Err(BrokerError::Rejected("RMS: sells blocked".into())) });
        }
        self.paper.place_market(order)
    }
    fn final_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        self.paper.final_status(id)
    }
    fn find_by_tag<'a>(
        &'a self,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Option<FoundOrder>, BrokerError>> {
        self.paper.find_by_tag(tag)
    }
    fn ltp<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Price, BrokerError>> {
        self.paper.ltp(symbol)
    }
    fn ohlc<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Ohlc, BrokerError>> {
        self.paper.ohlc(symbol)
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
    fn place_oco(
        &self,
        order: kitebreak_engine::OcoOrder,
    ) -> BoxFuture<'_, Result<kitebreak_engine::OcoId, BrokerError>> {
        self.paper.place_oco(order)
    }
    fn modify_oco<'a>(
        &'a self,
        id: &'a str,
        order: kitebreak_engine::OcoOrder,
    ) -> BoxFuture<'a, Result<kitebreak_engine::OcoId, BrokerError>> {
        self.paper.modify_oco(id, order)
    }
    fn cancel_oco<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<kitebreak_engine::OcoReport, BrokerError>> {
        self.paper.cancel_oco(id)
    }
    fn oco_status<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<kitebreak_engine::OcoReport, BrokerError>> {
        self.paper.oco_status(id)
    }
    fn ocos(&self) -> BoxFuture<'_, Result<Vec<kitebreak_engine::OcoReport>, BrokerError>> {
        self.paper.ocos()
    }
    fn find_oco<'a>(
        &'a self,
        order: &'a kitebreak_engine::OcoOrder,
    ) -> BoxFuture<'a, Result<Option<kitebreak_engine::OcoReport>, BrokerError>> {
        self.paper.find_oco(order)
    }
    fn order_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<FoundOrder, BrokerError>> {
        self.paper.order_status(id)
    }
}

fn metric_line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find(|line| line.starts_with(prefix))
}

#[tokio::test]
async fn a_failed_exit_shows_as_pending_with_its_error_and_counts_in_metrics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = App::start_with_broker(config(dir.path()), Arc::new(NoSells::default()))
        .await
        .expect("app");
    let app = TestApp {
        server: TestServer::new(app.router()),
        app,
        _dir: dir,
    };
    app.enter_long("TCS").await;
    let response = app
        .server
        .post("/price")
        .json(&json!({"symbol": "TCS", "price": 110}))
        .await;
    response.assert_status_ok();
    let status = app.status("TCS").await;
    let trade = &status["strategy_status"]["active_trade"];
    assert_eq!(trade["is_active"], true, "{status}");
    assert_eq!(trade["exit_pending"], true, "{status}");
    assert_eq!(trade["exit_attempts"], 1);
    assert!(
        trade["exit_error"]
            .as_str()
            .is_some_and(|e| e.contains("sells blocked")),
        "{trade}"
    );
    assert!(trade["next_exit_attempt"].is_string(), "{trade}");
    let text = app.server.get("/metrics").await.text();
    assert_eq!(
        metric_line(&text, "kitebreak_exit_failures_total"),
        Some("kitebreak_exit_failures_total 1")
    );
    assert_eq!(
        metric_line(
            &text,
            "kitebreak_broker_call_errors_total{kind=\"rejected\"}"
        ),
        Some("kitebreak_broker_call_errors_total{kind=\"rejected\"} 1")
    );
    // A manual exit fails the same way: 400 (as the original), with the reason.
    let manual = app.server.post("/strategy/TCS/exit").await;
    manual.assert_status_bad_request();
    let body = manual.json::<Value>();
    assert_eq!(body["status"], "error", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("sells blocked")),
        "{body}"
    );
    assert_eq!(
        app.status("TCS").await["strategy_status"]["active_trade"]["is_active"],
        true
    );
    app.app.shutdown().await;
}

#[tokio::test]
async fn a_paper_server_reports_no_live_feed_and_no_failures() {
    let app = spawn_app().await;
    let text = app.server.get("/metrics").await.text();
    assert!(
        text.contains("kitebreak_ticker_state{state=\"none\"} 1"),
        "{text}"
    );
    assert!(text.contains("kitebreak_ticker_state{state=\"live\"} 0"));
    assert!(text.contains("kitebreak_exit_failures_total 0"));
    assert!(text.contains("kitebreak_watched_symbols 0"));
    let body: Value = app.server.get("/strategy/NONE").await.json();
    assert_eq!(body["status"], "error");
}
