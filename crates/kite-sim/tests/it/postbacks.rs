//! Postbacks reach a local listener with Kite's checksum and the fixture's keys.

use kite_sim::SimConfig;
use kite_sim::sessions::sha256_hex;
use kiteconnect::{Exchange, OrderParams, OrderType, Product, TransactionType, Variety};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::{assert_keys, config, fixture, kite, price, spawn_with};

async fn receive(listener: &TcpListener) -> Value {
    let (mut stream, _) = listener.accept().await.expect("postback connection");
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).await.expect("read");
        bytes.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&bytes);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if body.len() >= length {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                    .await
                    .expect("reply");
                return serde_json::from_str(&body[..length]).expect("JSON body");
            }
        }
        assert!(read > 0, "connection closed before the body arrived");
    }
}

#[tokio::test]
async fn a_completed_order_is_posted_with_kites_checksum() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let url = format!(
        "http://{}/kite/postback",
        listener.local_addr().expect("addr")
    );
    let sim = spawn_with(SimConfig {
        postback_url: Some(url),
        ..config()
    })
    .await;
    sim.set_price("NSE:INFY", price("1500"));
    let order = OrderParams::new()
        .exchange(Exchange::Nse)
        .tradingsymbol("INFY")
        .transaction_type(TransactionType::Buy)
        .order_type(OrderType::Market)
        .market_protection(-1.0)
        .product(Product::Cnc)
        .quantity(1);
    let placed = kite(&sim)
        .place_order(Variety::Regular, order)
        .await
        .expect("placed");
    let body = receive(&listener).await;
    assert_keys(&body, &fixture("postback.json"), "postback");
    assert_eq!(body["order_id"], placed.order_id.as_str());
    assert_eq!(body["status"], "COMPLETE");
    let timestamp = body["order_timestamp"].as_str().expect("timestamp");
    let expected = sha256_hex(&[
        &placed.order_id,
        timestamp,
        kite_sim::config::DEFAULT_API_SECRET,
    ]);
    assert_eq!(body["checksum"], expected.as_str());
    sim.shutdown().await;
}
