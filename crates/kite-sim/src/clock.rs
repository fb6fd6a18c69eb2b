//! [`SimClock`]: the simulator's notion of "now".
//!
//! Either real time run `speed` times faster from a chosen start, or a manual clock that
//! only moves when told (tests, and the admin API). Everything time-dependent in the sim
//! (scripted prices, the random walk, token expiry, order timestamps) reads this clock,
//! never the system clock directly. The per-second request limits are the exception:
//! they count in the seconds [`RateClock`] names, real ones by default, because Kite's
//! limits are about how fast a client sends, not about market time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

/// Which seconds the per-second limits (10 orders/s, and the opt-in API limits) count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateClock {
    /// Real seconds since the sim started (monotonic). A client that paces itself in real
    /// time, as it must against Kite, is never refused however the sim clock moves; a
    /// manual clock that stands still does not pile a whole test into one second.
    #[default]
    Real,
    /// The sim clock's calendar seconds. Deterministic under a manual clock: every
    /// placement until the clock moves is in the same second, so a test can prove the
    /// 429 on the 11th and a fresh budget after `advance(1 s)`.
    Sim,
}

impl RateClock {
    /// The counting second for a request at simulated `sim_now`, `real_elapsed` after
    /// the sim started.
    pub fn second(self, sim_now: Timestamp, real_elapsed: Duration) -> i64 {
        match self {
            RateClock::Real => i64::try_from(real_elapsed.as_secs()).unwrap_or(i64::MAX),
            RateClock::Sim => sim_now.as_second(),
        }
    }

    /// From a flag value: `real` or `sim`.
    pub fn parse(text: &str) -> Option<RateClock> {
        match text {
            "real" => Some(RateClock::Real),
            "sim" => Some(RateClock::Sim),
            _ => None,
        }
    }
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
    started: Instant,
    /// Real time a test said has passed on top of the real elapsed time
    /// ([`SimClock::skip_real`]), in nanoseconds.
    skipped: AtomicU64,
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
            started: Instant::now(),
            skipped: AtomicU64::new(0),
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

    /// Real time since the clock was made (for [`RateClock::Real`]).
    pub fn real_elapsed(&self) -> Duration {
        let skipped = Duration::from_nanos(self.skipped.load(Ordering::Relaxed));
        self.started.elapsed().saturating_add(skipped)
    }

    /// Counts `by` as real time passed for the per-second limits of
    /// [`RateClock::Real`], without waiting for it: a test proves a fresh real second
    /// with no sleep. The simulated time does not move.
    pub fn skip_real(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.skipped.fetch_add(nanos, Ordering::Relaxed);
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
    fn rate_seconds_follow_the_chosen_clock() {
        let at = Timestamp::from_second(1_764_048_600).expect("valid");
        let real = |ms| Duration::from_millis(ms);
        assert_eq!(RateClock::Sim.second(at, real(0)), 1_764_048_600);
        assert_eq!(RateClock::Sim.second(at, real(5_000)), 1_764_048_600);
        assert_eq!(RateClock::Real.second(at, real(999)), 0);
        assert_eq!(RateClock::Real.second(at, real(1_000)), 1);
        let later = at
            .checked_add(SignedDuration::from_hours(1))
            .expect("valid");
        assert_eq!(RateClock::Real.second(later, real(1_500)), 1);
        assert_eq!(RateClock::parse("sim"), Some(RateClock::Sim));
        assert_eq!(RateClock::parse("real"), Some(RateClock::Real));
        assert_eq!(RateClock::parse("wall"), None);
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
