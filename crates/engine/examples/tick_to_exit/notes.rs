//! How the relays and the broker wrapper report what they saw to the measuring
//! loop: on `std::sync::mpsc` channels, read with `try_recv` once the exit has had
//! its time.
//!
//! A send on that channel wakes a thread only if one is blocked in `recv`, and the
//! loop never blocks there, so a note wakes no task and no thread. A tokio channel
//! would wake the loop's task, and with it the runtime's main thread, in the middle
//! of the path being measured (the ticker relay notes the tick just as the engine
//! starts on it, the wrapper notes the placement just before the HTTP client writes
//! it); on a machine of two vCPUs that wake-up competes with the engine for a core.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

pub use std::sync::mpsc::{Sender, channel};

/// The oldest note not read yet, waiting for it if there is none. Called after
/// the exit has had its time, so the note is normally there already; the polling
/// is for a slow exit, and the bound only stops a hang.
pub async fn next<T>(notes: &Receiver<T>, what: &str) -> Result<T, String> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        match notes.try_recv() {
            Ok(note) => return Ok(note),
            Err(TryRecvError::Disconnected) => return Err(format!("nobody notes {what} any more")),
            Err(TryRecvError::Empty) if Instant::now() > until => {
                return Err(format!("no note of {what} within 10 s"));
            }
            Err(TryRecvError::Empty) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

/// Forgets every note not read yet.
pub fn clear<T>(notes: &Receiver<T>) {
    while notes.try_recv().is_ok() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notes_are_read_oldest_first_and_cleared() {
        let (writer, notes) = channel();
        writer.send(1).expect("the receiver is alive");
        writer.send(2).expect("the receiver is alive");
        assert_eq!(next(&notes, "a number").await, Ok(1));
        writer.send(3).expect("the receiver is alive");
        clear(&notes);
        assert_eq!(notes.try_recv(), Err(TryRecvError::Empty));
    }
}
