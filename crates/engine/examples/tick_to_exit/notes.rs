//! Where the relays and the broker wrapper note what they saw, for the measuring
//! loop to read after the exit.
//!
//! A note is a push under an uncontended lock: it wakes no task and no thread. A
//! channel would wake the measuring loop's thread in the middle of the path being
//! measured (the ticker relay notes the tick just as the engine starts on it, the
//! wrapper notes the placement just before the HTTP client writes it), and on a
//! machine of two vCPUs that wake-up competes with the engine for a core.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A queue of notes shared between the writers on the measured path and the loop.
pub struct Notes<T>(Arc<Mutex<VecDeque<T>>>);

impl<T> Clone for Notes<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Default for Notes<T> {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(VecDeque::new())))
    }
}

impl<T> Notes<T> {
    fn queue(&self) -> MutexGuard<'_, VecDeque<T>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes `note`; wakes nobody.
    pub fn push(&self, note: T) {
        self.queue().push_back(note);
    }

    /// The oldest note not read yet, if there is one.
    pub fn try_next(&self) -> Option<T> {
        self.queue().pop_front()
    }

    /// Forgets every note not read yet.
    pub fn clear(&self) {
        self.queue().clear();
    }

    /// The oldest note not read yet, waiting for it if there is none. Called after
    /// the exit has had its time, so the note is normally there already; the
    /// polling is for a slow exit, and the bound only stops a hang.
    pub async fn next(&self, what: &str) -> Result<T, String> {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(note) = self.try_next() {
                return Ok(note);
            }
            if Instant::now() > until {
                return Err(format!("no note of {what} within 10 s"));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_read_oldest_first_and_cleared() {
        let notes = Notes::default();
        let writer = notes.clone();
        writer.push(1);
        writer.push(2);
        assert_eq!(notes.try_next(), Some(1));
        writer.push(3);
        notes.clear();
        assert_eq!(notes.try_next(), None);
    }
}
