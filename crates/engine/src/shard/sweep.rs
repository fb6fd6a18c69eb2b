//! Exiting every open trade of a shard at once: the kill switch's `flatten` and the
//! MIS square-off. Each exit takes the normal exit path (`exit_now`), reason manual.
//! Trades with an exit already pending are left to its backoff.

use kitebreak_strategy::Position;

use super::Shard;
use crate::report::ExitOutcome;
use crate::{EngineError, Symbol};

impl Shard {
    /// Exits every trade that is open (not one already entering or exiting), logging
    /// `why`; returns each symbol's outcome.
    pub(super) async fn exit_all(
        &mut self,
        why: &'static str,
    ) -> Vec<(Symbol, Result<ExitOutcome, EngineError>)> {
        let mut open: Vec<Symbol> = self
            .books
            .iter()
            // A trade whose exit already failed is retried on its own backoff
            // (`shard::retry`); sweeping it every second would defeat that.
            .filter(|(_, book)| {
                matches!(book.strategy.position(), Position::Open(_)) && book.exit_retry.is_none()
            })
            .map(|(symbol, _)| symbol.clone())
            .collect();
        open.sort();
        let mut outcomes = Vec::with_capacity(open.len());
        for symbol in open {
            tracing::warn!(%symbol, why, "exiting the open trade");
            let outcome = self.exit_now(&symbol).await;
            outcomes.push((symbol, outcome));
        }
        outcomes
    }
}
