//! [`Updates`]: order updates (the ticker's order messages, verified postbacks) as
//! the fast path to an order's final status, with polling as the fallback.
//!
//! A shard that sent an order waits for whichever comes first: the update registered
//! here for its order id, or the broker's own polling (`Broker::final_status`). Both
//! report the same final state, so whichever wins is right.
//!
//! Updates can come twice (ticker and postback), late (after polling already won),
//! out of order (an `UPDATE` after `COMPLETE`), or before the shard starts waiting
//! (the update races the placement's answer). [`transition`] is the one function that
//! decides what an update does to what is known of an order; the final state is
//! absorbing, so none of those cases can change an outcome once it is known.
//!
//! Orders that are not the engine's (no tag, or a tag of another tool) are
//! acknowledged and ignored. What is remembered is bounded ([`Updates::REMEMBER`]).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::broker::{OrderId, OrderProgress, OrderStatus};
use crate::feed::OrderUpdate;

/// What is known of one order from its updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Known {
    /// Nothing yet.
    Unseen,
    /// At least one update said it is still working.
    Working,
    /// An update said it is final; nothing changes it any more.
    Final(OrderStatus),
}

/// The effect of one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// It told something new (the order is working, or now final).
    Applied,
    /// The order was already final: a duplicate or late update, ignored.
    Duplicate,
    /// Not one of the engine's orders: acknowledged and ignored.
    Ignored,
}

/// The one transition: what an update does to what is known of an order.
///
/// | known      | update says | becomes    | outcome   |
/// |------------|-------------|------------|-----------|
/// | Final(s)   | anything    | Final(s)   | Duplicate |
/// | Unseen     | working     | Working    | Applied   |
/// | Working    | working     | Working    | Applied   |
/// | Unseen     | final(s)    | Final(s)   | Applied   |
/// | Working    | final(s)    | Final(s)   | Applied   |
pub(crate) fn transition(known: Known, update: &OrderProgress) -> (Known, UpdateOutcome) {
    match (known, update) {
        // Final is absorbing: the first final word stands (polling reports the same).
        (Known::Final(status), _) => (Known::Final(status), UpdateOutcome::Duplicate),
        (Known::Unseen | Known::Working, OrderProgress::Working) => {
            (Known::Working, UpdateOutcome::Applied)
        }
        (Known::Unseen | Known::Working, OrderProgress::Done(status)) => {
            (Known::Final(status.clone()), UpdateOutcome::Applied)
        }
    }
}

#[derive(Debug, Default)]
struct State {
    known: HashMap<OrderId, Known>,
    /// Insertion order of `known`, to forget the oldest first.
    order: VecDeque<OrderId>,
    waiters: HashMap<OrderId, Vec<oneshot::Sender<OrderStatus>>>,
}

/// The registry (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Updates {
    state: Mutex<State>,
    /// Orders whose final status came from an update before polling had it.
    fast: AtomicU64,
}

/// Whether `tag` is one the engine makes (`KB` + base 36, see `shard::send::tag`).
fn is_ours(tag: Option<&str>) -> bool {
    tag.is_some_and(|t| t.len() > 2 && t.starts_with("KB"))
}

impl Updates {
    /// Orders remembered at most (oldest forgotten first).
    pub const REMEMBER: usize = 4096;

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies one update; a final one wakes whoever waits for the order.
    pub fn apply(&self, update: &OrderUpdate) -> UpdateOutcome {
        let mut state = self.state();
        let waited = state.waiters.contains_key(&update.order_id);
        if !waited && !is_ours(update.tag.as_deref()) {
            return UpdateOutcome::Ignored;
        }
        let current = state
            .known
            .get(&update.order_id)
            .cloned()
            .unwrap_or(Known::Unseen);
        let fresh = current == Known::Unseen;
        let (next, outcome) = transition(current, &update.progress);
        if let Known::Final(status) = &next
            && outcome == UpdateOutcome::Applied
        {
            for waiter in state.waiters.remove(&update.order_id).unwrap_or_default() {
                let _ = waiter.send(status.clone());
            }
        }
        state.known.insert(update.order_id.clone(), next);
        if fresh {
            state.order.push_back(update.order_id.clone());
            while state.order.len() > Self::REMEMBER {
                if let Some(old) = state.order.pop_front() {
                    state.known.remove(&old);
                }
            }
        }
        outcome
    }

    /// A receiver of `order_id`'s final status from updates (at once if an update
    /// already said it).
    pub fn wait(&self, order_id: &str) -> oneshot::Receiver<OrderStatus> {
        let (sender, receiver) = oneshot::channel();
        let mut state = self.state();
        match state.known.get(order_id) {
            Some(Known::Final(status)) => {
                let _ = sender.send(status.clone());
            }
            _ => state
                .waiters
                .entry(order_id.to_owned())
                .or_default()
                .push(sender),
        }
        receiver
    }

    /// Counts an order settled by an update before polling had it.
    pub fn note_fast_path(&self) {
        self.fast.fetch_add(1, Ordering::Relaxed);
    }

    /// Orders settled by an update before polling had them.
    pub fn fast_path_count(&self) -> u64 {
        self.fast.load(Ordering::Relaxed)
    }

    /// The wait for `order_id` is over (either path won): drop its waiters.
    pub fn done(&self, order_id: &str) {
        self.state().waiters.remove(order_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kitebreak_price::{Price, Quantity};

    fn complete() -> OrderStatus {
        OrderStatus::Complete {
            average_price: Price::from_micros(100_000_000).expect("price"),
            filled_quantity: Quantity::ONE,
            time: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn update(id: &str, tag: &str, progress: OrderProgress) -> OrderUpdate {
        OrderUpdate {
            order_id: id.into(),
            tag: Some(tag.into()),
            progress,
        }
    }

    #[test]
    fn final_is_absorbing_whatever_comes_after() {
        let rejected = OrderStatus::Rejected {
            reason: "late".into(),
        };
        let (known, outcome) = transition(Known::Unseen, &OrderProgress::Done(complete()));
        assert_eq!(outcome, UpdateOutcome::Applied);
        for late in [OrderProgress::Working, OrderProgress::Done(rejected)] {
            let (after, outcome) = transition(known.clone(), &late);
            assert_eq!(after, Known::Final(complete()));
            assert_eq!(outcome, UpdateOutcome::Duplicate);
        }
        let (working, _) = transition(Known::Unseen, &OrderProgress::Working);
        assert_eq!(working, Known::Working);
    }

    #[tokio::test]
    async fn a_waiter_wakes_on_the_final_update_and_duplicates_change_nothing() {
        let updates = Updates::default();
        let waiting = updates.wait("1");
        let working = update("1", "KB000001", OrderProgress::Working);
        assert_eq!(updates.apply(&working), UpdateOutcome::Applied);
        let done = update("1", "KB000001", OrderProgress::Done(complete()));
        assert_eq!(updates.apply(&done), UpdateOutcome::Applied);
        assert_eq!(waiting.await.expect("woken"), complete());
        assert_eq!(updates.apply(&done), UpdateOutcome::Duplicate);
        assert_eq!(updates.apply(&working), UpdateOutcome::Duplicate);
    }

    #[tokio::test]
    async fn an_update_before_the_wait_is_kept_and_foreign_orders_are_ignored() {
        let updates = Updates::default();
        let done = update("2", "KB000002", OrderProgress::Done(complete()));
        assert_eq!(updates.apply(&done), UpdateOutcome::Applied);
        assert_eq!(updates.wait("2").await.expect("at once"), complete());
        let foreign = update("3", "by hand", OrderProgress::Done(complete()));
        assert_eq!(updates.apply(&foreign), UpdateOutcome::Ignored);
        let untagged = OrderUpdate {
            tag: None,
            ..foreign
        };
        assert_eq!(updates.apply(&untagged), UpdateOutcome::Ignored);
    }
}
