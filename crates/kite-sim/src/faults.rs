//! [`Faults`]: broker trouble on demand, set by flags at start and by `/_sim/faults`.
//!
//! Shares are drawn from a seeded generator so a run with the same seed and the same
//! requests fails the same requests. One-shot faults (`hang_next`, `lose_next_order`,
//! `reject_next_order`) count down as they fire.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::rng::SplitMix;

/// Fault settings. Every field defaults to "no fault".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every Kite API response, milliseconds.
    pub latency_ms: u64,
    /// Share of API requests answered 429 NetworkException (0.0–1.0).
    pub share_429: f64,
    /// Share answered 500 GeneralException.
    pub share_500: f64,
    /// Share answered 503 NetworkException.
    pub share_503: f64,
    /// The next N API requests are accepted and never answered.
    pub hang_next: u32,
    /// The next N order placements take effect but their responses never come.
    pub lose_next_order: u32,
    /// The next N order placements are rejected.
    pub reject_next_order: u32,
    /// Message for those rejections (default: an RMS margin message).
    pub reject_message: Option<String>,
    /// The next N order placements fill in two parts: half at the first matching
    /// price (an UPDATE), the rest at the next one.
    pub partial_fill_next: u32,
    /// WebSocket connections stay open but send nothing (no ticks, no heartbeats).
    pub ws_silent: bool,
    /// Every access token stops working at this time (RFC 3339).
    pub tokens_expire_at: Option<Timestamp>,
}

/// What a fault does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answer with this HTTP status and Kite's error body.
    Status(u16),
    /// Never answer.
    Hang,
}

impl Faults {
    /// Draws the fault for one API request, if any.
    pub fn draw(&mut self, rng: &mut SplitMix) -> Option<Outcome> {
        if self.hang_next > 0 {
            self.hang_next -= 1;
            return Some(Outcome::Hang);
        }
        let roll = rng.fraction();
        let shares = [
            (self.share_429, 429),
            (self.share_500, 500),
            (self.share_503, 503),
        ];
        let mut edge = 0.0;
        for (share, status) in shares {
            edge += share;
            if roll < edge {
                return Some(Outcome::Status(status));
            }
        }
        None
    }

    /// Why these settings make no sense, if they do not (a share outside 0–1).
    pub fn check(&self) -> Result<(), String> {
        for (name, share) in [
            ("share_429", self.share_429),
            ("share_500", self.share_500),
            ("share_503", self.share_503),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("`{name}` must be between 0 and 1, got {share}."));
            }
        }
        Ok(())
    }

    /// Takes one forced rejection, if armed.
    pub fn take_rejection(&mut self) -> Option<String> {
        if self.reject_next_order == 0 {
            return None;
        }
        self.reject_next_order -= 1;
        Some(self.reject_message.clone().unwrap_or_else(|| {
            "Insufficient funds. Required margin is 95417.84 but available margin is 74251.80."
                .into()
        }))
    }

    /// Takes one lost order response, if armed.
    pub fn take_lost_response(&mut self) -> bool {
        let armed = self.lose_next_order > 0;
        self.lose_next_order = self.lose_next_order.saturating_sub(1);
        armed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_one_shots() {
        let mut rng = SplitMix::new(1);
        let mut faults = Faults {
            share_503: 1.0,
            hang_next: 1,
            reject_next_order: 1,
            ..Faults::default()
        };
        assert_eq!(faults.draw(&mut rng), Some(Outcome::Hang));
        assert_eq!(faults.draw(&mut rng), Some(Outcome::Status(503)));
        assert!(faults.take_rejection().is_some());
        assert!(faults.take_rejection().is_none());
        assert_eq!(Faults::default().draw(&mut rng), None);
        assert!(Faults::default().check().is_ok());
        let wild = Faults {
            share_500: 1.5,
            ..Faults::default()
        };
        assert!(wild.check().is_err());
    }
}
