//! JSON bodies with the original service's keys. Exact prices become JSON numbers
//! here and nowhere deeper (`f64` only at this boundary).

use jiff::Timestamp;
use kitebreak_engine::{
    CandleReport, ClosedTradeRecord, EntryOutcome, ExitOutcome, OrderRecord, OrderStatus,
    SymbolStatus,
};
use kitebreak_price::{Price, Rounding};
use kitebreak_strategy::{ClosedTrade, Levels};
use serde_json::{Value, json};

fn price(value: Option<Price>) -> Value {
    value.map_or(Value::Null, |p| json!(p.to_f64()))
}

fn time(value: Option<Timestamp>) -> Value {
    value.map_or(Value::Null, |t| json!(t.to_string()))
}

/// `current_levels` of a candle response.
pub fn levels(levels: Levels, locked: bool) -> Value {
    json!({"support": price(levels.support), "resistance": price(levels.resistance), "locked": locked})
}

/// An order as `order_result` shows it (Kite's order keys).
pub fn order(record: &OrderRecord) -> Value {
    let mut body = json!({
        "order_id": record.order_id,
        "tag": record.tag,
        "tradingsymbol": record.symbol,
        "transaction_type": record.side,
        "order_type": "MARKET",
        "quantity": record.quantity.get(),
    });
    match &record.status {
        OrderStatus::Complete {
            average_price,
            filled_quantity,
            time,
        } => {
            body["status"] = json!("COMPLETE");
            body["average_price"] = json!(average_price.to_f64());
            body["filled_quantity"] = json!(filled_quantity.get());
            body["order_timestamp"] = json!(time.to_string());
        }
        OrderStatus::Rejected { reason } => {
            body["status"] = json!("REJECTED");
            body["status_message"] = json!(reason);
            body["filled_quantity"] = json!(0);
        }
    }
    body
}

/// `trade_summary`: a closed trade with the original's keys.
pub fn trade_summary(symbol: &str, closed: &ClosedTrade) -> Value {
    let trade = &closed.trade;
    json!({
        "symbol": symbol,
        "direction": trade.direction,
        "entry_price": trade.price_entry.to_f64(),
        "exit_price": closed.price_exit.to_f64(),
        "target_price": trade.price_target.to_f64(),
        "stop_price": trade.price_stop.to_f64(),
        "quantity": trade.quantity.get(),
        "entry_time": time(trade.entry_time),
        "exit_time": time(closed.exit_time),
        "exit_reason": closed.exit_reason,
        "pnl": closed.pnl.to_f64(),
        "pnl_percent": closed.pnl_percent.rounded(2, Rounding::HalfEven).to_f64(),
        "entry_order_id": trade.entry_order_id,
        "exit_order_id": closed.exit_order_id,
    })
}

/// A stored closed trade for `GET /trades`.
pub fn closed_record(record: &ClosedTradeRecord) -> Value {
    let mut body = trade_summary(record.symbol.as_str(), &record.closed);
    body["id"] = json!(record.id);
    body
}

/// `strategy_status` of one symbol.
pub fn status(status: &SymbolStatus) -> Value {
    let trade = status.trade.as_ref();
    let params = &status.params;
    json!({
        "symbol": status.symbol,
        "support_level": price(status.levels.support),
        "resistance_level": price(status.levels.resistance),
        "levels_locked": status.locked,
        "active_trade": {
            "is_active": trade.is_some(),
            "direction": trade.map(|t| t.direction),
            "entry_price": price(trade.map(|t| t.price_entry)),
            "entry_time": time(trade.and_then(|t| t.entry_time)),
            "quantity": trade.map(|t| t.quantity.get()),
            "order_id": trade.and_then(|t| t.entry_order_id.clone()),
            "target_price": price(trade.map(|t| t.price_target)),
            "stop_price": price(trade.map(|t| t.price_stop)),
            "exit_pending": status.exit_pending.is_some(),
            "exit_error": status.exit_pending.as_ref().map(|e| e.last_error.clone()),
            "exit_attempts": status.exit_pending.as_ref().map_or(0, |e| e.attempts),
            "next_exit_attempt": time(status.exit_pending.as_ref().map(|e| e.next_attempt)),
            "protection_tag": status.protection.as_ref().and_then(|p| p.tag.clone()),
            "protection_trigger": price(status.protection.as_ref().and_then(|p| p.trigger)),
            "protection_error": status.protection.as_ref().and_then(|p| p.error.clone()),
        },
        "data_points": status.data_points,
        "strategy_params": {
            "lookback_period": params.lookback(),
            "profit_target_percent": params.profit_target().percent().to_f64(),
            "stop_loss_percent": params.stop_loss().percent().to_f64(),
            "relevel": params.relevel(),
            "quantity": params.quantity().get(),
        },
        "position": status.position,
        "candles_seen": status.candles_seen,
    })
}

/// The webhook's answer to a candle.
pub fn candle_report(report: &CandleReport) -> Value {
    let mut body = json!({
        "status": "success",
        "symbol": report.symbol,
        "price_data_added": !report.duplicate,
        "levels_updated": report.levels_updated(),
        "current_levels": levels(report.levels, report.locked),
    });
    if report.duplicate {
        body["duplicate"] = json!(true);
        body["message"] = json!("repeated alert for this candle time: acknowledged, not applied");
    }
    if let Some(exit) = &report.exit {
        add_exit(&mut body, report.symbol.as_str(), exit);
    }
    if let Some(direction) = report.breakout {
        body["breakout_signal"] = json!(direction);
        body["trade_entered"] = json!(matches!(report.entry, Some(EntryOutcome::Filled { .. })));
    }
    match &report.entry {
        Some(EntryOutcome::Filled { order: record, .. }) => body["order_result"] = order(record),
        Some(EntryOutcome::Failed {
            order: record,
            reason,
        }) => {
            body["order_error"] = json!(format!("order rejected: {reason}"));
            body["order"] = order(record);
        }
        Some(EntryOutcome::Unsettled {
            order: record,
            reason,
        }) => {
            body["order_error"] = json!(format!(
                "order outcome unknown ({reason}); it is looked up at the broker by its tag"
            ));
            let mut sent = order(record);
            sent["status"] = json!("UNKNOWN");
            body["order"] = sent;
        }
        Some(EntryOutcome::Refused { reason }) => {
            body["order_error"] = json!(format!("entry refused: {reason}"));
            body["reason"] = json!(reason);
        }
        None => {}
    }
    body
}

/// Adds what an exit did to a response body.
pub fn add_exit(body: &mut Value, symbol: &str, exit: &ExitOutcome) {
    match exit {
        ExitOutcome::Closed {
            order: record,
            closed,
        } => {
            body["trade_exited"] = json!(true);
            body["trade_summary"] = trade_summary(symbol, closed);
            body["exit_order_result"] = order(record);
        }
        ExitOutcome::Failed {
            order: record,
            reason,
        } => {
            body["trade_exited"] = json!(false);
            body["exit_order_error"] = json!(format!("exit rejected: {reason}"));
            body["exit_order"] = order(record);
        }
    }
}
