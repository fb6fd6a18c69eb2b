//! Kite's JSON shapes for orders, trades, positions, quotes and GTTs.
//!
//! This is the only place exact values become `f64`: JSON numbers are what Kite sends.
//! Keys follow the fixture files (`shared/kite-fixtures`), nullable fields included.

use jiff::Timestamp;
use kitebreak_price::Price;
use serde_json::{Value, json};

use crate::clock::kite_time;
use crate::gtt::Gtt;
use crate::market::Quote;
use crate::order::Order;
use crate::positions::{Position, Trade};

/// A price as a JSON number (0 for none).
pub fn price(value: Option<Price>) -> f64 {
    value.map_or(0.0, Price::to_f64)
}

/// Micro-rupees as a JSON number.
pub fn money(micros: i128) -> f64 {
    micros as f64 / 1e6
}

fn time(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |t| Value::String(kite_time(t)))
}

/// An order as `GET /orders` shows it.
pub fn order(order: &Order, user_id: &str) -> Value {
    let request = &order.request;
    let tags: Vec<&str> = request.tag.iter().map(String::as_str).collect();
    json!({
        "account_id": user_id,
        "placed_by": user_id,
        "order_id": order.order_id,
        "exchange_order_id": order.exchange_order_id,
        "parent_order_id": null,
        "status": order.status.as_str(),
        "status_message": order.status_message,
        "status_message_raw": order.status_message,
        "order_timestamp": kite_time(order.placed_at),
        "exchange_update_timestamp": time(order.updated_at),
        "exchange_timestamp": time(order.exchange_at),
        "variety": request.variety,
        "modified": order.modified,
        "exchange": request.exchange,
        "tradingsymbol": request.tradingsymbol,
        "instrument_token": order.token,
        "order_type": request.order_type.as_str(),
        "transaction_type": request.side.as_str(),
        "validity": request.validity,
        "validity_ttl": 0,
        "product": request.product,
        "quantity": request.quantity,
        "disclosed_quantity": request.disclosed_quantity,
        "price": price(request.price),
        "trigger_price": price(request.trigger),
        "average_price": price(order.average),
        "filled_quantity": order.filled,
        "pending_quantity": if order.status.is_final() { 0 } else { order.pending() },
        "cancelled_quantity": order.cancelled,
        "auction_number": null,
        "market_protection": request.market_protection,
        "meta": {},
        "tag": request.tag,
        "tags": tags,
        "guid": order.guid,
        "terminal_id": null,
    })
}

/// An order update as WebSocket text messages and postbacks carry it.
pub fn order_update(order: &Order, user_id: &str, app_id: u64, api_secret: &str) -> Value {
    let mut value = self::order(order, user_id);
    let timestamp = kite_time(order.placed_at);
    let checksum = crate::sessions::sha256_hex(&[&order.order_id, &timestamp, api_secret]);
    let unfilled = if order.status.is_final() {
        0
    } else {
        order.pending()
    };
    if let Some(map) = value.as_object_mut() {
        map.insert("user_id".into(), json!(user_id));
        map.insert("unfilled_quantity".into(), json!(unfilled));
        map.insert("app_id".into(), json!(app_id));
        map.insert("checksum".into(), json!(checksum));
        if let Some(status) = order.update_status() {
            map.insert("status".into(), json!(status));
        }
    }
    value
}

/// A trade as `GET /trades` shows it (`order_timestamp` is time-only there).
pub fn trade(trade: &Trade) -> Value {
    let order_time = kite_time(trade.order_at);
    json!({
        "trade_id": trade.trade_id,
        "order_id": trade.order_id,
        "exchange": trade.exchange,
        "tradingsymbol": trade.tradingsymbol,
        "instrument_token": trade.token,
        "product": trade.product,
        "average_price": trade.price.to_f64(),
        "quantity": trade.quantity,
        "exchange_order_id": trade.exchange_order_id,
        "transaction_type": trade.side.as_str(),
        "fill_timestamp": kite_time(trade.at),
        "order_timestamp": order_time.get(11..).unwrap_or_default(),
        "exchange_timestamp": kite_time(trade.at),
    })
}

/// A position marked at `last`.
pub fn position(p: &Position, last: Price, close: Price) -> Value {
    let pnl = p.pnl(last);
    let realised = p.realised();
    json!({
        "tradingsymbol": p.tradingsymbol,
        "exchange": p.exchange,
        "instrument_token": p.token,
        "product": p.product,
        "quantity": p.net(),
        "overnight_quantity": 0,
        "multiplier": 1,
        "average_price": money(p.average_price()),
        "close_price": close.to_f64(),
        "last_price": last.to_f64(),
        "value": money(p.sell_value - p.buy_value),
        "pnl": money(pnl),
        "m2m": money(pnl),
        "unrealised": money(pnl - realised),
        "realised": money(realised),
        "buy_quantity": p.buy_quantity,
        "buy_price": money(p.buy_price()),
        "buy_value": money(p.buy_value),
        "buy_m2m": money(p.buy_value),
        "sell_quantity": p.sell_quantity,
        "sell_price": money(p.sell_price()),
        "sell_value": money(p.sell_value),
        "sell_m2m": money(p.sell_value),
        "day_buy_quantity": p.buy_quantity,
        "day_buy_price": money(p.buy_price()),
        "day_buy_value": money(p.buy_value),
        "day_sell_quantity": p.sell_quantity,
        "day_sell_price": money(p.sell_price()),
        "day_sell_value": money(p.sell_value),
    })
}

/// `{open, high, low, close}`.
pub fn ohlc(quote: &Quote) -> Value {
    json!({
        "open": quote.open.to_f64(),
        "high": quote.high.to_f64(),
        "low": quote.low.to_f64(),
        "close": quote.close.to_f64(),
    })
}

/// Five levels a side around the last price, one tick apart.
pub fn depth(quote: &Quote, tick: Price) -> Value {
    let level = |i: i64, side: i64| {
        let micros = quote.last.micros() + side * i * tick.micros();
        json!({
            "price": money(i128::from(micros.max(0))),
            "quantity": 100 * i,
            "orders": i,
        })
    };
    json!({
        "buy": (1..=5).map(|i| level(i, -1)).collect::<Vec<_>>(),
        "sell": (1..=5).map(|i| level(i, 1)).collect::<Vec<_>>(),
    })
}

/// The full quote of `GET /quote`.
pub fn quote(token: u32, quote: &Quote, tick: Price, now: Timestamp) -> Value {
    let (lower, upper) = crate::book::circuit(quote.close);
    json!({
        "instrument_token": token,
        "timestamp": kite_time(now),
        "last_trade_time": kite_time(quote.last_trade),
        "last_price": quote.last.to_f64(),
        "last_quantity": quote.last_quantity,
        "buy_quantity": 1_500,
        "sell_quantity": 1_500,
        "volume": quote.volume,
        "average_price": quote.average().to_f64(),
        "oi": 0,
        "oi_day_high": 0,
        "oi_day_low": 0,
        "net_change": money(i128::from(quote.last.micros() - quote.close.micros())),
        "lower_circuit_limit": money(i128::from(lower)),
        "upper_circuit_limit": money(i128::from(upper)),
        "ohlc": ohlc(quote),
        "depth": depth(quote, tick),
    })
}

/// A GTT as `GET /gtt/triggers` shows it.
pub fn gtt(gtt: &Gtt, user_id: &str) -> Value {
    let orders: Vec<Value> = gtt
        .legs
        .iter()
        .map(|leg| {
            let result = leg.fired.as_ref().map(|(at_price, at, order_id)| {
                json!({
                    "account_id": user_id,
                    "exchange": gtt.exchange,
                    "tradingsymbol": gtt.tradingsymbol,
                    "validity": "DAY",
                    "product": leg.product,
                    "order_type": leg.order_type,
                    "transaction_type": leg.side.as_str(),
                    "quantity": leg.quantity,
                    "price": leg.price.to_f64(),
                    "meta": format!("{{\"app_id\":0,\"gtt\":{}}}", gtt.id),
                    "timestamp": kite_time(*at),
                    "triggered_at": at_price.to_f64(),
                    "order_result": {"status": "success", "order_id": order_id, "rejection_reason": ""},
                })
            });
            json!({
                "exchange": gtt.exchange,
                "tradingsymbol": gtt.tradingsymbol,
                "product": leg.product,
                "order_type": leg.order_type,
                "transaction_type": leg.side.as_str(),
                "quantity": leg.quantity,
                "price": leg.price.to_f64(),
                "result": result,
            })
        })
        .collect();
    let expires = gtt
        .created_at
        .saturating_add(jiff::SignedDuration::from_hours(24 * 365))
        .unwrap_or(gtt.created_at);
    json!({
        "id": gtt.id,
        "user_id": user_id,
        "parent_trigger": null,
        "type": gtt.kind,
        "created_at": kite_time(gtt.created_at),
        "updated_at": kite_time(gtt.updated_at),
        "expires_at": kite_time(expires),
        "status": gtt.status,
        "condition": {
            "exchange": gtt.exchange,
            "last_price": gtt.last_price.to_f64(),
            "tradingsymbol": gtt.tradingsymbol,
            "trigger_values": gtt.triggers.iter().map(|p| p.to_f64()).collect::<Vec<_>>(),
            "instrument_token": gtt.token,
        },
        "orders": orders,
        "meta": null,
    })
}

/// A delivery holding marked at `last`.
pub fn holding(
    instrument: &crate::instruments::Instrument,
    seed: &crate::config::HoldingSeed,
    quote: &Quote,
) -> Value {
    let quantity = i128::from(seed.quantity);
    let average = i128::from(seed.average.micros());
    let last = i128::from(quote.last.micros());
    let change = last - i128::from(quote.close.micros());
    json!({
        "tradingsymbol": instrument.tradingsymbol,
        "exchange": instrument.exchange,
        "instrument_token": instrument.token,
        "isin": format!("INE{:06}01010", instrument.token % 1_000_000),
        "product": "CNC",
        "price": 0,
        "quantity": seed.quantity,
        "used_quantity": 0,
        "t1_quantity": 0,
        "realised_quantity": seed.quantity,
        "authorised_quantity": 0,
        "authorised_date": null,
        "authorisation": {},
        "opening_quantity": seed.quantity,
        "short_quantity": 0,
        "collateral_quantity": 0,
        "collateral_type": "",
        "discrepancy": false,
        "average_price": seed.average.to_f64(),
        "last_price": quote.last.to_f64(),
        "close_price": quote.close.to_f64(),
        "pnl": money((last - average) * quantity),
        "day_change": money(change),
        "day_change_percentage": if quote.close.micros() == 0 { 0.0 } else { change as f64 * 100.0 / quote.close.micros() as f64 },
        "mtf": {"quantity": 0, "used_quantity": 0, "average_price": 0, "value": 0, "initial_margin": 0},
    })
}
