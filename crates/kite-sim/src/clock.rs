//! [`SimClock`]: the simulator's notion of "now".
//!
//! Either real time run `speed` times faster from a chosen start, or a manual clock that
//! only moves when told (tests, and the admin API). Everything time-dependent in the sim
//! (scripted prices, the random walk, token expiry, the orders-per-second limit, order
//! timestamps) reads this clock, never the system clock directly.

use std::sync::Mutex;
use std::time::Instant;

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

/// India Standard Time, the zone of every Kite timestamp.
pub fn ist() -> Offset {
    // 5:30 is a valid offset; the fallback is unreachable.
    Offset::from_seconds(19_800).unwrap_or(Offset::UTC)
}

/// Formats a time as Kite does in JSON bodies: `2021-05-31 09:16:39` in IST, no offset.
pub fn kite_time(at: Timestamp) -> String {
    ist()
        .to_datetime(at)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// How the clock runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockMode {
    /// Real time from `start`, `speed` times faster (1.0 = real time).
    Running {
        /// Simulated time at start-up.
        start: Timestamp,
        /// How many simulated seconds pass per real second.
        speed: f64,
    },
    /// Stands still at `start` until advanced.
    Manual {
        /// Simulated time at start-up.
        start: Timestamp,
    },
}

#[derive(Debug)]
enum State {
    Running {
        origin_real: Instant,
        origin_sim: Timestamp,
        speed: f64,
    },
    Manual {
        now: Timestamp,
    },
}

/// The shared clock.
#[derive(Debug)]
pub struct SimClock {
    state: Mutex<State>,
}

impl SimClock {
    /// A clock in the given mode.
    pub fn new(mode: ClockMode) -> SimClock {
        let state = match mode {
            ClockMode::Running { start, speed } => State::Running {
                origin_real: Instant::now(),
                origin_sim: start,
                speed,
            },
            ClockMode::Manual { start } => State::Manual { now: start },
        };
        SimClock {
            state: Mutex::new(state),
        }
    }

    /// The current simulated time.
    pub fn now(&self) -> Timestamp {
        match &*self.lock() {
            State::Running {
                origin_real,
                origin_sim,
                speed,
            } => {
                let real = origin_real.elapsed().as_secs_f64() * speed;
                let elapsed =
                    SignedDuration::try_from_secs_f64(real).unwrap_or(SignedDuration::MAX);
                origin_sim.saturating_add(elapsed).unwrap_or(*origin_sim)
            }
            State::Manual { now } => *now,
        }
    }

    /// Moves simulated time forward (or back, for a negative duration).
    pub fn advance(&self, by: SignedDuration) {
        match &mut *self.lock() {
            State::Running { origin_sim, .. } => {
                *origin_sim = origin_sim.saturating_add(by).unwrap_or(*origin_sim);
            }
            State::Manual { now } => *now = now.saturating_add(by).unwrap_or(*now),
        }
    }

    /// Jumps to a given simulated time.
    pub fn set(&self, to: Timestamp) {
        let now = self.now();
        self.advance(to.duration_since(now));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-written.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = Timestamp::from_second(1_764_048_600).expect("valid");
        let clock = SimClock::new(ClockMode::Manual { start });
        assert_eq!(clock.now(), start);
        clock.advance(SignedDuration::from_secs(90));
        assert_eq!(clock.now().as_second(), 1_764_048_690);
        assert_eq!(kite_time(start), "2025-11-25 11:00:00");
    }

    #[test]
    fn a_running_clock_runs_speed_times_faster() {
        let start = Timestamp::from_second(1_764_048_600).expect("valid");
        let clock = SimClock::new(ClockMode::Running {
            start,
            speed: 3_600.0,
        });
        let real = Instant::now();
        while real.elapsed() < std::time::Duration::from_millis(2) {
            std::hint::spin_loop();
        }
        let elapsed = clock.now().duration_since(start);
        assert!(elapsed >= SignedDuration::from_secs(7), "{elapsed:?}");
        clock.advance(SignedDuration::from_hours(1));
        assert!(clock.now().duration_since(start) >= SignedDuration::from_hours(1));
    }
}
