//! Fill models: whether a signal becomes a fill at once, and at what price.
//!
//! The strategy never assumes an order filled. A caller that knows the answer
//! synchronously (a close-only backtest, the paper broker) hands it back through a
//! [`FillModel`]; a live caller uses [`AwaitBroker`] and reports the broker's fill
//! later with [`crate::Strategy::entry_filled`] / [`crate::Strategy::exit_filled`].

use jiff::Timestamp;

use crate::{EntrySignal, ExitSignal, Fill, Trade};

/// Decides, at the moment of a signal, whether it has already filled.
pub trait FillModel {
    /// The fill of an entry signal, if it filled at once.
    fn fill_entry(&mut self, signal: &EntrySignal) -> Option<Fill>;
    /// The fill of an exit signal for `trade`, if it filled at once.
    fn fill_exit(&mut self, trade: &Trade, signal: &ExitSignal) -> Option<Fill>;
}

/// Every signal fills immediately at the price that triggered it: the close-only model
/// of the golden files, `trace`, `backtest --fill close` and the paper broker.
#[derive(Debug, Clone, Copy, Default)]
pub struct FillAtSignalPrice {
    /// Fill time to record (the candle's time, when known).
    pub time: Option<Timestamp>,
}

impl FillModel for FillAtSignalPrice {
    fn fill_entry(&mut self, signal: &EntrySignal) -> Option<Fill> {
        Some(Fill {
            price: signal.price,
            quantity: signal.quantity,
            time: self.time,
            order_id: None,
        })
    }

    fn fill_exit(&mut self, trade: &Trade, signal: &ExitSignal) -> Option<Fill> {
        Some(Fill {
            price: signal.price,
            quantity: trade.quantity,
            time: self.time,
            order_id: None,
        })
    }
}

/// Nothing fills at once: signals wait for the broker's report.
#[derive(Debug, Clone, Copy, Default)]
pub struct AwaitBroker;

impl FillModel for AwaitBroker {
    fn fill_entry(&mut self, _signal: &EntrySignal) -> Option<Fill> {
        None
    }

    fn fill_exit(&mut self, _trade: &Trade, _signal: &ExitSignal) -> Option<Fill> {
        None
    }
}
