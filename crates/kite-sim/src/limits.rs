//! [`RateLimits`]: Kite's per-second API limits by endpoint class (opt-in).
//!
//! Kite allows 1 request/s to quotes, 3/s to historical candles and 10/s to everything
//! else combined, counted per calendar second. The sim enforces these only when asked
//! (`--strict-rate-limits`), so a client can prove it stays within them; the 10
//! orders/s limit is always on (see `book`). Seconds are those `clock::RateClock` names.

/// Endpoint classes with their own limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `/quote*`: 1 per second.
    Quote,
    /// `/instruments/historical/*`: 3 per second.
    Historical,
    /// Everything else: 10 per second combined.
    Other,
}

impl Class {
    /// The class of a path.
    pub fn of(path: &str) -> Class {
        if path == "/quote" || path.starts_with("/quote/") {
            Class::Quote
        } else if path.starts_with("/instruments/historical/") {
            Class::Historical
        } else {
            Class::Other
        }
    }

    fn limit(self) -> u32 {
        match self {
            Class::Quote => 1,
            Class::Historical => 3,
            Class::Other => 10,
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// Counters for the current second.
#[derive(Debug, Clone, Default)]
pub struct RateLimits {
    /// Whether the limits apply.
    pub enabled: bool,
    second: i64,
    counts: [u32; 3],
}

impl RateLimits {
    /// Limits that apply when `enabled`.
    pub fn new(enabled: bool) -> RateLimits {
        RateLimits {
            enabled,
            ..RateLimits::default()
        }
    }

    /// Counts a request in `second` (a `RateClock` second); false when over the class's limit.
    pub fn admit(&mut self, path: &str, second: i64) -> bool {
        if !self.enabled {
            return true;
        }
        if self.second != second {
            self.second = second;
            self.counts = [0; 3];
        }
        let class = Class::of(path);
        let count = &mut self.counts[class.slot()];
        *count += 1;
        *count <= class.limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_counts_per_calendar_second() {
        let mut limits = RateLimits::new(true);
        assert!(limits.admit("/quote/ltp", 100));
        assert!(!limits.admit("/quote", 100));
        assert!((0..3).all(|_| limits.admit("/instruments/historical/1/day", 100)));
        assert!(!limits.admit("/instruments/historical/1/day", 100));
        assert!((0..10).all(|_| limits.admit("/orders", 100)));
        assert!(!limits.admit("/trades", 100));
        assert!(limits.admit("/quote", 101));
        assert!(RateLimits::new(false).admit("/quote", 100));
    }
}
