//! [`Market`]: the last price and day statistics of every instrument, and what moves them.
//!
//! Prices move three ways: a script (`time,symbol,price` rows applied when the clock
//! reaches them), a seeded random walk of whole ticks for unscripted instruments, and
//! direct setting (admin API). [`Market::advance`] returns every price change in order,
//! intermediate ones included, so that resting orders see each price a script passes
//! through. No IO and no clock reads here: time arrives as an argument.

use std::collections::{BTreeMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use kitebreak_price::Price;

use crate::instruments::{Catalogue, Instrument};
use crate::rng::SplitMix;

/// One instrument's market data for the day.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// Last traded price.
    pub last: Price,
    /// Day open.
    pub open: Price,
    /// Day high.
    pub high: Price,
    /// Day low.
    pub low: Price,
    /// Previous session's close.
    pub close: Price,
    /// Volume traded today.
    pub volume: u64,
    /// Quantity of the last trade.
    pub last_quantity: u32,
    /// Sum of price × quantity (micros), for the average traded price.
    pub turnover_micros: i128,
    /// Time of the last trade.
    pub last_trade: Timestamp,
}

impl Quote {
    /// A quote that opens (and closed yesterday) at `price`.
    pub fn new(price: Price, at: Timestamp) -> Quote {
        Quote {
            last: price,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: 0,
            last_quantity: 0,
            turnover_micros: 0,
            last_trade: at,
        }
    }

    /// Records a trade at `price`.
    pub fn trade(&mut self, price: Price, quantity: u32, at: Timestamp) {
        self.last = price;
        self.high = self.high.max(price);
        self.low = self.low.min(price);
        self.volume += u64::from(quantity);
        self.last_quantity = quantity;
        self.turnover_micros += i128::from(price.micros()) * i128::from(quantity);
        self.last_trade = at;
    }

    /// Volume-weighted average traded price (the last price before any volume).
    pub fn average(&self) -> Price {
        if self.volume == 0 {
            return self.last;
        }
        let micros = self.turnover_micros / i128::from(self.volume);
        i64::try_from(micros)
            .ok()
            .and_then(|m| Price::from_micros(m).ok())
            .unwrap_or(self.last)
    }
}

/// A scripted price: at `at`, instrument `token` trades at `price`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScriptedPrice {
    /// When it applies.
    pub at: Timestamp,
    /// Which instrument.
    pub token: u32,
    /// The price.
    pub price: Price,
}

/// The random walk's settings and state.
#[derive(Debug, Clone)]
struct Walk {
    rng: SplitMix,
    every: SignedDuration,
    next_at: Timestamp,
}

/// Most walk steps taken in one advance; a longer jump skips the rest.
const MAX_WALK_STEPS: usize = 3_600;

/// Every instrument's quote plus the movers.
#[derive(Debug, Clone)]
pub struct Market {
    quotes: BTreeMap<u32, Quote>,
    script: Vec<ScriptedPrice>,
    cursor: usize,
    scripted: HashSet<u32>,
    walk: Option<Walk>,
}

impl Market {
    /// A market opening at each instrument's starting price at `now`.
    pub fn new(catalogue: &Catalogue, now: Timestamp) -> Market {
        let quotes = catalogue
            .iter()
            .map(|i| (i.token, Quote::new(starting_price(i), now)))
            .collect();
        Market {
            quotes,
            script: Vec::new(),
            cursor: 0,
            scripted: HashSet::new(),
            walk: None,
        }
    }

    /// Installs a price script; its first price per instrument becomes the opening price.
    pub fn with_script(mut self, mut script: Vec<ScriptedPrice>, now: Timestamp) -> Market {
        script.sort_by_key(|s| s.at);
        for entry in &script {
            if self.scripted.insert(entry.token) {
                self.quotes
                    .insert(entry.token, Quote::new(entry.price, now));
            }
        }
        self.script = script;
        self
    }

    /// Turns on the seeded random walk (one step per `every` of simulated time).
    pub fn with_walk(mut self, seed: u64, every: SignedDuration, now: Timestamp) -> Market {
        self.walk = Some(Walk {
            rng: SplitMix::new(seed),
            every,
            next_at: now.saturating_add(every).unwrap_or(now),
        });
        self
    }

    /// The quote of an instrument.
    pub fn quote(&self, token: u32) -> Option<&Quote> {
        self.quotes.get(&token)
    }

    /// Trades an instrument at `price` now; returns the change. The first price of an
    /// instrument that has not traded yet opens its day there (open and previous close),
    /// so a test or script can start any instrument at any price without tripping the
    /// circuit limits around the dump's price.
    pub fn set(&mut self, token: u32, price: Price, at: Timestamp) -> (u32, Price) {
        let quote = self
            .quotes
            .entry(token)
            .or_insert_with(|| Quote::new(price, at));
        if quote.volume == 0 {
            *quote = Quote::new(price, at);
        }
        quote.trade(price, 1, at);
        (token, price)
    }

    /// Applies what is due up to `now`; returns each change in order.
    pub fn advance(&mut self, now: Timestamp, catalogue: &Catalogue) -> Vec<(u32, Price)> {
        let mut changes = Vec::new();
        while let Some(entry) = self.script.get(self.cursor).copied() {
            if entry.at > now {
                break;
            }
            self.cursor += 1;
            changes.push(self.set(entry.token, entry.price, entry.at));
        }
        changes.extend(self.walk_until(now, catalogue));
        changes
    }

    /// Whether the script still has prices to come.
    pub fn script_pending(&self) -> bool {
        self.cursor < self.script.len()
    }

    fn walk_until(&mut self, now: Timestamp, catalogue: &Catalogue) -> Vec<(u32, Price)> {
        let Some(mut walk) = self.walk.take() else {
            return Vec::new();
        };
        let mut changes = Vec::new();
        let mut steps = 0;
        while walk.next_at <= now {
            let at = walk.next_at;
            walk.next_at = at.saturating_add(walk.every).unwrap_or(now);
            steps += 1;
            if steps > MAX_WALK_STEPS {
                continue;
            }
            for instrument in catalogue.iter() {
                if self.scripted.contains(&instrument.token) {
                    continue;
                }
                let ticks = walk.rng.between(-2, 2);
                if let Some(change) = self.step(instrument, ticks, at) {
                    changes.push(change);
                }
            }
            if walk.every.is_zero() {
                break;
            }
        }
        self.walk = Some(walk);
        changes
    }

    fn step(&mut self, instrument: &Instrument, ticks: i64, at: Timestamp) -> Option<(u32, Price)> {
        if ticks == 0 {
            return None;
        }
        let tick = tick_of(instrument).micros();
        let last = self.quotes.get(&instrument.token)?.last.micros();
        let next = Price::from_micros((last + ticks * tick).max(tick)).ok()?;
        Some(self.set(instrument.token, next, at))
    }
}

/// The tick used to move an instrument's price (0.05 where the dump gives none).
pub fn tick_of(instrument: &Instrument) -> Price {
    instrument
        .tick
        .or_else(|| Price::from_scaled(5, 2).ok())
        .unwrap_or(Price::MAX_INPUT)
}

/// A plausible, deterministic opening price: the dump's, or one derived from the token.
pub fn starting_price(instrument: &Instrument) -> Price {
    if let Some(price) = instrument.dump_price {
        return price;
    }
    let rupees = if instrument.is_index() {
        20_000 + i64::from(instrument.token % 10_000)
    } else {
        100 + i64::from(instrument.token.wrapping_mul(7_919) % 4_900)
    };
    Price::from_scaled(rupees, 0).unwrap_or(Price::MAX_INPUT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instruments::DEFAULT_INSTRUMENTS;
    use std::path::Path;

    fn price(text: &str) -> Price {
        text.parse().expect("price")
    }

    fn setup() -> (Catalogue, Timestamp) {
        let catalogue = Catalogue::from_csv(DEFAULT_INSTRUMENTS, Path::new("d")).expect("dump");
        (
            catalogue,
            Timestamp::from_second(1_764_048_600).expect("time"),
        )
    }

    #[test]
    fn a_script_applies_every_due_price_in_order() {
        let (catalogue, t0) = setup();
        let at = |s: i64| t0.saturating_add(SignedDuration::from_secs(s)).expect("t");
        let script = vec![
            ScriptedPrice {
                at: at(2),
                token: 408_065,
                price: price("1500.5"),
            },
            ScriptedPrice {
                at: at(1),
                token: 408_065,
                price: price("1490"),
            },
            ScriptedPrice {
                at: at(0),
                token: 408_065,
                price: price("1480"),
            },
        ];
        let mut market = Market::new(&catalogue, t0).with_script(script, t0);
        assert_eq!(
            market.advance(at(0), &catalogue),
            vec![(408_065, price("1480"))]
        );
        let changes = market.advance(at(5), &catalogue);
        assert_eq!(
            changes,
            vec![(408_065, price("1490")), (408_065, price("1500.5"))]
        );
        let quote = market.quote(408_065).expect("quote");
        assert_eq!(
            (quote.open, quote.high, quote.low),
            (price("1480"), price("1500.5"), price("1480"))
        );
        assert!(!market.script_pending());
    }

    #[test]
    fn the_walk_repeats_for_a_seed_and_stays_on_ticks() {
        let (catalogue, t0) = setup();
        let later = t0.saturating_add(SignedDuration::from_secs(30)).expect("t");
        let run = || {
            let mut market =
                Market::new(&catalogue, t0).with_walk(9, SignedDuration::from_secs(1), t0);
            market.advance(later, &catalogue)
        };
        let changes = run();
        assert!(!changes.is_empty());
        assert_eq!(changes, run());
        assert!(changes.iter().all(|(_, p)| p.micros() % 50_000 == 0));
    }
}
