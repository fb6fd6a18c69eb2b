//! [`Changes`]: a signal that something observable about the engine may have changed.
//!
//! Why: whoever watches the engine from outside (a test waiting for a trade to exit,
//! later a dashboard) should wait for a change and then look, never poll on a timer.
//! The engine signals after every shard command that may change state (status reads
//! do not signal: a watcher that reads statuses must not wake itself) and every
//! candle commit, every feed state change, every tick and poll delivered, and every
//! order update; whoever waits re-reads what it cares about (statuses, counters)
//! and waits again if it is not there yet. A signal says only "look again": it carries no state, and several
//! changes may wake one wait.
//!
//! Signalling is on the hot path (every candle, every tick), so it takes no lock:
//! one atomic add, and a wake-up only when someone waits.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};

use tokio::sync::Notify;

/// See the module docs. Shared by the shards, the feed and [`crate::Engine`].
#[derive(Debug, Default)]
pub struct Changes {
    /// How many signals so far.
    count: AtomicU64,
    /// How many [`Changes::until`] calls are waiting.
    waiting: AtomicUsize,
    notify: Notify,
}

impl Changes {
    /// Says that something may have changed: wakes every waiter.
    pub(crate) fn signal(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
        // Pairs with the fence in `until`: either the waiter's check sees this
        // change, or this load sees the waiter (and wakes it).
        fence(Ordering::SeqCst);
        if self.waiting.load(Ordering::Relaxed) > 0 {
            self.notify.notify_waiters();
        }
    }

    /// How many signals there have been (for tests of the signal itself).
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Waits until `check` holds, checking it once now and again after every signal.
    /// `check` may await (an engine status read, say). Never returns if `check` never
    /// holds: callers that must not hang bound it themselves.
    pub async fn until<F, Fut>(&self, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the check: a signal from here on wakes this wait.
            notified.as_mut().enable();
            self.waiting.fetch_add(1, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            let holds = check().await;
            if !holds {
                notified.await;
            }
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            if holds {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use super::*;

    #[tokio::test]
    async fn a_wait_ends_when_a_signal_follows_the_change_it_waits_for() {
        let changes = Arc::new(Changes::default());
        let flag = Arc::new(AtomicBool::new(false));
        let waiter = tokio::spawn({
            let (changes, flag) = (Arc::clone(&changes), Arc::clone(&flag));
            async move {
                changes
                    .until(|| {
                        let flag = Arc::clone(&flag);
                        async move { flag.load(Ordering::SeqCst) }
                    })
                    .await
            }
        });
        // Signals without the change do not end it.
        for _ in 0..3 {
            changes.signal();
            tokio::task::yield_now().await;
        }
        assert!(!waiter.is_finished());
        flag.store(true, Ordering::SeqCst);
        changes.signal();
        waiter.await.expect("the wait ends");
        assert_eq!(changes.count(), 4);
        assert_eq!(changes.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_condition_that_already_holds_needs_no_signal() {
        let changes = Changes::default();
        changes.until(|| async { true }).await;
        assert_eq!(changes.count(), 0);
    }
}
