//! A failed exit, retried with backoff until the trade is out.
//!
//! When an exit order is rejected or fails, the trade stays open and its book records
//! an [`ExitRetry`]: why the exit was decided, how many attempts failed, the last
//! error, and when the next attempt is due on the engine clock (1 s, doubling to 60 s:
//! [`backoff`]). Until then no price observation sends anything for that trade (no
//! tight loop on a stream of ticks); once due, the next observation or the engine's
//! one-second retry step ([`crate::Engine::retry_step`]) exits again at market with
//! the original reason, whatever the price does meanwhile: the decision to leave was
//! already made. Each failure is logged at ERROR and counted
//! ([`crate::Engine::exit_failures`]); `GET /strategy/{symbol}` shows the pending
//! exit and its last error.
//!
//! Never two exits at once: a shard handles one command at a time, so an exit in
//! flight blocks the next; and when an attempt's outcome was unknown (the placement
//! answer or the final status was lost), its order row stays PENDING and every later
//! attempt first looks its tag up at the broker ([`settle_outstanding`]): found filled
//! closes the trade, found working gets a bounded wait, found rejected lets a new
//! order (new tag) go; absent, or unreadable, sends nothing and looks again after the
//! backoff, until `unsettled::LOOKUP_WINDOW` has passed: only then is it LOST and a
//! new exit goes. A placement refused for certain (a rejection, a 429, a refused
//! connection) leaves nothing outstanding: the retry sends a new order, new tag.

use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::Timestamp;
use kitebreak_price::Price;
use kitebreak_strategy::{AwaitBroker, ExitEvent, ExitReason, ExitSignal, Position, Strategy};

use super::send::final_row;
use super::unsettled::{LOOKUP_WINDOW, Unsettled};
use super::{Book, Context, Shard, orders};
use crate::broker::{OrderProgress, OrderStatus};
use crate::report::{ExitOutcome, OrderRecord};
use crate::store::WriteOp;
use crate::{EngineError, Symbol};

/// The first retry delay; each failure doubles it up to [`MAX_BACKOFF`].
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest delay between two exit attempts.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The delay after `failures` failed attempts: 1, 2, 4 … 60 s.
pub(crate) fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_BACKOFF
        .saturating_mul(1u32 << doublings)
        .min(MAX_BACKOFF)
}

/// A decided exit that has not gone through yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExitRetry {
    /// Why the trade is being left (kept across attempts).
    pub reason: ExitReason,
    /// The latest price seen, the reference of the next attempt.
    pub price: Price,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The last failure's words.
    pub last_error: String,
    /// When the next attempt may go (engine clock).
    pub next_at: Timestamp,
    /// The last attempt's order, when its outcome is unknown: looked up by tag
    /// before anything is sent again.
    pub outstanding: Option<Unsettled>,
}

impl ExitRetry {
    /// Records one more failure at `now`.
    pub fn failed(&mut self, now: Timestamp, error: String, outstanding: Option<Unsettled>) {
        self.attempts += 1;
        self.last_error = error;
        self.outstanding = outstanding;
        let delay = jiff::SignedDuration::try_from(backoff(self.attempts))
            .unwrap_or(jiff::SignedDuration::from_secs(60));
        self.next_at = now.checked_add(delay).unwrap_or(now);
    }
}

/// The same strategy in another position (history and levels kept).
pub(crate) fn repositioned(strategy: &Strategy, position: Position) -> Strategy {
    Strategy::restore(
        *strategy.params(),
        strategy.recent_candles().copied(),
        strategy.levels(),
        position,
    )
}

/// A price observation against the trade: the normal target/stop check, or, with an
/// exit pending, the retry once it is due. Returns what an exit did, if one was sent.
pub(crate) async fn check_exit(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
    price: Price,
) -> Result<Option<ExitOutcome>, EngineError> {
    if let Some(retry) = &mut book.exit_retry {
        retry.price = price;
        if ctx.gate.now() < retry.next_at {
            return Ok(None);
        }
        return retry_now(ctx, symbol, book).await.map(Some);
    }
    match book.strategy.on_price(price, &mut AwaitBroker) {
        Some(ExitEvent::Signalled(signal)) => {
            Ok(Some(orders::exit(ctx, symbol, book, signal).await?))
        }
        _ => Ok(None),
    }
}

/// Sends the pending exit again (the caller checked it is due).
async fn retry_now(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
) -> Result<ExitOutcome, EngineError> {
    let Some(retry) = book.exit_retry.clone() else {
        return Err(EngineError::Conflict("no exit is pending".into()));
    };
    let Position::Open(trade) = book.strategy.position().clone() else {
        book.exit_retry = None;
        return Err(EngineError::NoOpenTrade(symbol.clone()));
    };
    tracing::warn!(%symbol, attempt = retry.attempts + 1, reason = %retry.reason,
        "retrying the exit at market");
    let exit = ExitSignal {
        reason: retry.reason,
        price: retry.price,
    };
    book.strategy = repositioned(&book.strategy, Position::Exiting { trade, exit });
    orders::exit(ctx, symbol, book, exit).await
}

/// What became of the last exit attempt of unknown outcome.
#[derive(Debug)]
pub(crate) enum Outstanding {
    /// Nothing was outstanding.
    Nothing,
    /// It is final (filled, rejected, or LOST after the look-up window), with the
    /// row recording it: use a fill, else send anew.
    Final(OrderRecord, Box<WriteOp>),
    /// Still unknown (absent within the window, working, unreadable): send nothing.
    Unknown(String),
}

/// Before an exit is sent: if the last attempt's outcome is unknown, finds its tag at
/// the broker. The outstanding attempt stays on the book until the caller records
/// the outcome.
pub(crate) async fn settle_outstanding(ctx: &Context, book: &Book) -> Outstanding {
    let Some(parked) = book
        .exit_retry
        .as_ref()
        .and_then(|retry| retry.outstanding.clone())
    else {
        return Outstanding::Nothing;
    };
    let tag = parked.record.tag.clone();
    let found = match ctx.broker.find_by_tag(&tag).await {
        Ok(found) => found,
        Err(error) => {
            ctx.broker_errors.count(&error);
            return Outstanding::Unknown(format!("exit tagged {tag} not looked up: {error}"));
        }
    };
    let Some(found) = found else {
        if !parked.window_over(ctx.gate.now()) {
            return Outstanding::Unknown(format!(
                "exit tagged {tag} has an unknown outcome and is not in the broker's book yet; \
                 no other exit is sent until it is found or {} s have passed",
                LOOKUP_WINDOW.as_secs()
            ));
        }
        tracing::warn!(%tag, "the exit of unknown outcome was never placed");
        let mut lost = parked.record.clone();
        lost.status = OrderStatus::Rejected {
            reason: "not in the broker's order book".into(),
        };
        return Outstanding::Final(lost, Box::new(parked.lost_row()));
    };
    let status = match found.progress {
        OrderProgress::Done(status) => status,
        OrderProgress::Working => match ctx.broker.final_status(&found.order_id).await {
            Ok(status) => status,
            Err(error) => {
                ctx.broker_errors.count(&error);
                return Outstanding::Unknown(format!(
                    "exit tagged {tag} is still working: {error}"
                ));
            }
        },
    };
    let record = OrderRecord {
        order_id: Some(found.order_id),
        status,
        ..parked.record
    };
    let row = Box::new(final_row(&record));
    Outstanding::Final(record, row)
}

impl Shard {
    /// Retries every pending exit of this shard that is due (the timer's path, for
    /// trades that see no price observations). Returns whether work is still
    /// parked for the timer here (an exit to retry, an entry to look up).
    pub(super) async fn retry_due(&mut self) -> bool {
        self.settle_entries_due().await;
        // Monitoring off pauses automatic exits, retries included (candles still
        // check their close, as the original's webhook did).
        if self.ctx.monitoring.load(Ordering::Relaxed) {
            self.retry_exits_due().await;
        }
        self.books
            .values()
            .any(|book| book.exit_retry.is_some() || book.entry_unsettled.is_some())
    }

    async fn retry_exits_due(&mut self) {
        let now = self.ctx.gate.now();
        let mut due: Vec<Symbol> = self
            .books
            .iter()
            .filter(|(_, book)| book.exit_retry.as_ref().is_some_and(|r| r.next_at <= now))
            .map(|(symbol, _)| symbol.clone())
            .collect();
        due.sort();
        for symbol in due {
            let Some(book) = self.books.get_mut(&symbol) else {
                continue;
            };
            if let Err(error) = retry_now(&self.ctx, &symbol, book).await {
                tracing::error!(%symbol, %error, "exit retry failed");
            }
            self.note(&symbol, None);
        }
    }
}

/// Counts a failed exit attempt.
pub(crate) fn count_failure(ctx: &Context) {
    ctx.exit_failures.fetch_add(1, Ordering::Relaxed);
}

/// Tells the retry timer that this shard has parked work for it (see
/// [`crate::Engine::retry_step`]); called wherever an exit retry or an entry
/// look-up is parked.
pub(crate) fn wake_timer(ctx: &Context) {
    ctx.timer_work.store(true, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_a_minute() {
        let delays: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
        assert_eq!(backoff(0), FIRST_BACKOFF);
    }
}
