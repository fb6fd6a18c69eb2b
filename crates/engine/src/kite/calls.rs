//! The Kite adapter's order and catalogue calls beyond the order path: moving the
//! resting SL-M stop's trigger, one order's history, fills, instrument lookup and
//! OHLC of many symbols, each mapped from Kite's exact types to the engine's.

use kitebreak_kite::{OrderSnapshot, OrderState};
use kitebreak_price::Quantity;

use super::{KiteAdapter, broker_error};
use crate::Symbol;
use crate::broker::{BrokerError, Fill, InstrumentInfo, Ohlc, OrderId, OrderStep, StopOrder};

impl KiteAdapter {
    /// Moves stop `id` to `order`'s trigger (Kite's modify, rounded onto the tick so
    /// it triggers no later). Not retried, like Kite's modify: on an error the stop
    /// may still rest at its old trigger, and the caller reads it again.
    pub(super) async fn modify_stop_order(
        &self,
        id: &str,
        order: StopOrder,
    ) -> Result<OrderId, BrokerError> {
        let request = self.stop_request(order)?;
        self.kite
            .modify_order(id, &request)
            .await
            .map_err(broker_error)
    }

    /// Every state order `id` went through, oldest first.
    pub(super) async fn history(&self, id: &str) -> Result<Vec<OrderStep>, BrokerError> {
        let history = self.kite.order_history(id).await.map_err(broker_error)?;
        Ok(history.iter().map(step_of).collect())
    }

    /// Today's fills, or order `id`'s. Fills of instruments the engine cannot name
    /// (another exchange's odd symbol) are left out.
    pub(super) async fn fills(&self, id: Option<&str>) -> Result<Vec<Fill>, BrokerError> {
        let fills = match id {
            Some(id) => self.kite.order_fills(id).await,
            None => self.kite.trades().await,
        }
        .map_err(broker_error)?;
        Ok(fills
            .iter()
            .filter_map(|fill| {
                Some(Fill {
                    trade_id: fill.trade_id.clone(),
                    order_id: fill.order_id.clone(),
                    symbol: self.symbol_of(&fill.instrument)?,
                    quantity: Quantity::new(fill.quantity).ok()?,
                    price: fill.price,
                    time: fill.time,
                })
            })
            .collect())
    }

    /// `symbol` in the loaded instrument dump; unknown is `Rejected` naming the key.
    pub(super) fn instrument_info(&self, symbol: &Symbol) -> Result<InstrumentInfo, BrokerError> {
        let found = self
            .kite
            .instrument(&self.key(symbol))
            .map_err(broker_error)?;
        Ok(InstrumentInfo {
            symbol: symbol.clone(),
            token: found.token,
            tick: found.tick,
            lot_size: found.lot_size,
            segment: found.segment,
        })
    }

    /// OHLC of many symbols in batched quote calls; symbols without one left out.
    /// The engine's `close` is Kite's `last` (Kite's `close` is yesterday's).
    pub(super) async fn ohlc_of(
        &self,
        symbols: &[Symbol],
    ) -> Result<Vec<(Symbol, Ohlc)>, BrokerError> {
        let keys: Vec<String> = symbols.iter().map(|s| self.key(s)).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut all = self.kite.ohlc(&refs).await.map_err(broker_error)?;
        Ok(symbols
            .iter()
            .zip(&keys)
            .filter_map(|(symbol, key)| {
                let found = all.remove(key)?;
                let ohlc = Ohlc {
                    open: found.open,
                    high: found.high,
                    low: found.low,
                    close: found.last,
                };
                Some((symbol.clone(), ohlc))
            })
            .collect())
    }
}

/// One state of an order's history, with Kite's status text.
fn step_of(snapshot: &OrderSnapshot) -> OrderStep {
    let state = match &snapshot.state {
        OrderState::Pending(status) => status.clone(),
        OrderState::Complete => "COMPLETE".to_owned(),
        OrderState::Rejected => "REJECTED".to_owned(),
        OrderState::Cancelled => "CANCELLED".to_owned(),
    };
    OrderStep {
        state,
        filled_quantity: snapshot.filled_quantity,
        average_price: snapshot.average_price,
        time: snapshot.time,
    }
}
