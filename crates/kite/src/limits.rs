//! Client-side rate limits: Kite's documented request budgets, enforced with governor
//! so that callers wait instead of collecting 429s.
//!
//! Budgets (kite-api.md §11): quotes 1/s, historical candles 3/s, order placement
//! 10/s and 400/min and 5000/day, every other endpoint 10/s combined. Kite counts
//! per calendar second, and a GCRA bucket that starts full would let nearly twice the
//! limit into one window, so each budget is a bucket with a small burst whose refill
//! rate keeps *any* window within the limit: `burst + window / period ≤ limit`.
//! The per-second buckets have burst 1 (evenly spaced), the minute and day buckets
//! allow bursts of 100 and 4000 and then refill at the remaining rate.
//!
//! Time comes from [`TokioClock`] (tokio's clock), so tests run these waits under
//! `tokio::time::pause` without wall-clock sleeps. Waiting is `tokio::time::sleep`.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// governor's clock over `tokio::time::Instant`; an instant is the time since start.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose zero is now.
    pub fn new() -> TokioClock {
        TokioClock {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> TokioClock {
        TokioClock::new()
    }
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

type Bucket = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;

/// Which budget a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/quote`, `/quote/ltp`, `/quote/ohlc`.
    Quote,
    /// `/instruments/historical/...`.
    Historical,
    /// `POST /orders/:variety`.
    PlaceOrder,
    /// Everything else (orders list, positions, modify, cancel, profile, ...).
    Other,
}

impl Endpoint {
    /// Every class.
    pub const ALL: [Endpoint; 4] = [
        Endpoint::Quote,
        Endpoint::Historical,
        Endpoint::PlaceOrder,
        Endpoint::Other,
    ];

    /// Lower-case name (metric labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Quote => "quote",
            Endpoint::Historical => "historical",
            Endpoint::PlaceOrder => "place_order",
            Endpoint::Other => "other",
        }
    }

    fn index(self) -> usize {
        match self {
            Endpoint::Quote => 0,
            Endpoint::Historical => 1,
            Endpoint::PlaceOrder => 2,
            Endpoint::Other => 3,
        }
    }
}

/// How often callers waited for a budget, and for how long in total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleStats {
    /// Requests that had to wait for budget.
    pub waits: u64,
    /// The total time they waited.
    pub waited: Duration,
}

#[derive(Debug, Default)]
struct WaitCounter {
    waits: std::sync::atomic::AtomicU64,
    micros: std::sync::atomic::AtomicU64,
}

impl WaitCounter {
    fn add(&self, waited: Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        self.waits.fetch_add(1, Relaxed);
        let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        self.micros.fetch_add(micros, Relaxed);
    }

    fn get(&self) -> ThrottleStats {
        use std::sync::atomic::Ordering::Relaxed;
        ThrottleStats {
            waits: self.waits.load(Relaxed),
            waited: Duration::from_micros(self.micros.load(Relaxed)),
        }
    }
}

/// The shared budgets of one API key. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Limits {
    clock: TokioClock,
    quote: Bucket,
    historical: Bucket,
    other: Bucket,
    /// Longest window first: a cell taken from a longer window while a shorter one
    /// waits only makes that longer window more conservative.
    orders: [Bucket; 3],
    /// Waits per endpoint class, in [`Endpoint::ALL`] order.
    waited: [WaitCounter; 4],
    /// When a request was last let out: microseconds on `clock`, plus one (0: never).
    last_request: std::sync::atomic::AtomicU64,
}

impl Limits {
    /// Kite's documented budgets.
    pub fn kite() -> Limits {
        let clock = TokioClock::new();
        let bucket = |limit: u32, window: Duration, burst: u32| {
            RateLimiter::direct_with_clock(strict_quota(limit, window, burst), clock)
        };
        Limits {
            clock,
            quote: bucket(1, Duration::from_secs(1), 1),
            historical: bucket(3, Duration::from_secs(1), 1),
            other: bucket(10, Duration::from_secs(1), 1),
            orders: [
                bucket(5000, Duration::from_secs(86_400), 4000),
                bucket(400, Duration::from_secs(60), 100),
                bucket(10, Duration::from_secs(1), 1),
            ],
            waited: Default::default(),
            last_request: Default::default(),
        }
    }

    /// How long since a request of any kind was last let out; `None` before the first.
    /// (Each connection's own idle time is the broker's: `KiteBroker::keep_warm`.)
    pub fn quiet_for(&self) -> Option<Duration> {
        use std::sync::atomic::Ordering::Relaxed;
        let last = self.last_request.load(Relaxed).checked_sub(1)?;
        Some(self.clock.now().saturating_sub(Duration::from_micros(last)))
    }

    /// How often requests of `endpoint` waited for budget, and for how long.
    pub fn throttled(&self, endpoint: Endpoint) -> ThrottleStats {
        self.waited[endpoint.index()].get()
    }

    /// Waits until a request of this kind may go out, and spends its budget.
    pub async fn acquire(&self, endpoint: Endpoint) {
        let waited = match endpoint {
            Endpoint::Quote => self.wait(&self.quote).await,
            Endpoint::Historical => self.wait(&self.historical).await,
            Endpoint::Other => self.wait(&self.other).await,
            Endpoint::PlaceOrder => {
                let mut waited = Duration::ZERO;
                for bucket in &self.orders {
                    waited += self.wait(bucket).await;
                }
                waited
            }
        };
        if !waited.is_zero() {
            self.waited[endpoint.index()].add(waited);
        }
        let now = u64::try_from(self.clock.now().as_micros()).unwrap_or(u64::MAX - 1);
        self.last_request
            .fetch_max(now + 1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Waits for one cell of `bucket`; returns how long it waited.
    async fn wait(&self, bucket: &Bucket) -> Duration {
        let mut waited = Duration::ZERO;
        while let Err(not_until) = bucket.check() {
            let wait = not_until.wait_time_from(self.clock.now());
            let wait = wait.max(Duration::from_millis(1));
            tokio::time::sleep(wait).await;
            waited += wait;
        }
        waited
    }
}

/// A quota of `burst` at once that never lets more than `limit` cells into any
/// `window`: the refill period is `window / (limit - burst)`.
fn strict_quota(limit: u32, window: Duration, burst: u32) -> Quota {
    let burst = burst.clamp(1, limit);
    let refills = (limit - burst).max(1);
    let period = window / refills;
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_thirty_placements_takes_at_least_two_seconds() {
        let limits = Limits::kite();
        let start = tokio::time::Instant::now();
        for _ in 0..30 {
            limits.acquire(Endpoint::PlaceOrder).await;
        }
        assert!(
            start.elapsed() >= Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_calendar_second_sees_more_than_ten_placements() {
        let limits = Limits::kite();
        let start = tokio::time::Instant::now();
        let mut per_second = std::collections::BTreeMap::<u64, u32>::new();
        for _ in 0..50 {
            limits.acquire(Endpoint::PlaceOrder).await;
            *per_second.entry(start.elapsed().as_secs()).or_default() += 1;
        }
        assert!(per_second.values().all(|n| *n <= 10), "{per_second:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn quotes_go_once_a_second() {
        let limits = Limits::kite();
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            limits.acquire(Endpoint::Quote).await;
        }
        assert!(start.elapsed() >= Duration::from_secs(2));
        let throttled = limits.throttled(Endpoint::Quote);
        assert_eq!(throttled.waits, 2, "the first call went at once");
        assert!(
            throttled.waited >= Duration::from_millis(1900),
            "{throttled:?}"
        );
        assert_eq!(limits.throttled(Endpoint::Other), ThrottleStats::default());
    }

    #[tokio::test(start_paused = true)]
    async fn quiet_for_counts_from_the_last_request_of_any_kind() {
        let limits = Limits::kite();
        assert_eq!(limits.quiet_for(), None, "nothing sent yet");
        limits.acquire(Endpoint::Other).await;
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(limits.quiet_for(), Some(Duration::from_secs(20)));
        limits.acquire(Endpoint::PlaceOrder).await;
        assert_eq!(limits.quiet_for(), Some(Duration::ZERO));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(limits.quiet_for(), Some(Duration::from_secs(5)));
    }

    #[test]
    fn strict_quotas_bound_every_window() {
        for (limit, window, burst) in [(400, 60, 100), (5000, 86_400, 4000), (10, 1, 1)] {
            let quota = strict_quota(limit, Duration::from_secs(window), burst);
            let refills = window as f64 / quota.replenish_interval().as_secs_f64();
            assert!(f64::from(quota.burst_size().get()) + refills <= f64::from(limit) + 0.001);
        }
    }
}
