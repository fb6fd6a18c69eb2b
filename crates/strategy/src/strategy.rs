//! [`Strategy`]: one symbol's state machine: history, levels, and the trade's lifecycle.

use kitebreak_price::Price;

use crate::history::{History, ORIGINAL_HISTORY_CAP};
use crate::quiet::QuietCloses;
use crate::swings::{Detection, Levels, SkipReason, SwingWindow};
use crate::trade::{ClosedTrade, Direction, EntrySignal, ExitReason, ExitSignal, Fill, Trade};
use crate::{Candle, FillModel, Relevel, StrategyError, StrategyParams};

/// Where the symbol stands with respect to a trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// No trade; breakouts may enter.
    Flat,
    /// An entry was signalled and awaits its fill. Levels are locked meanwhile.
    Entering(EntrySignal),
    /// A trade is open and watched against its target and stop.
    Open(Trade),
    /// An exit was signalled and awaits its fill; no further exit is signalled.
    Exiting {
        /// The trade being closed.
        trade: Trade,
        /// The exit that was asked for.
        exit: ExitSignal,
    },
}

impl Position {
    fn name(&self) -> &'static str {
        match self {
            Position::Flat => "flat",
            Position::Entering(_) => "entering",
            Position::Open(_) => "in a trade",
            Position::Exiting { .. } => "exiting",
        }
    }
}

/// What an exit check produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitEvent {
    /// The exit was signalled; report its fill with [`Strategy::exit_filled`].
    Signalled(ExitSignal),
    /// The exit filled at once; the trade is over.
    Closed(ClosedTrade),
}

/// What a breakout check produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryEvent {
    /// The entry was signalled; report its fill with [`Strategy::entry_filled`].
    Signalled(EntrySignal),
    /// The entry filled at once; the trade is open.
    Opened(Trade),
}

/// Everything one candle did, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandleEvents {
    /// Step 1: the close as a price observation against an open trade.
    pub exit: Option<ExitEvent>,
    /// Step 2: level detection on the history including this candle.
    pub detection: Detection,
    /// Step 2: the close against the levels.
    pub entry: Option<EntryEvent>,
}

/// One symbol's strategy state.
#[derive(Debug, Clone)]
pub struct Strategy {
    params: StrategyParams,
    history: History,
    swings: SwingWindow,
    levels: Levels,
    position: Position,
    /// Kept with `position` by `set_position`.
    quiet: QuietCloses,
}

impl Strategy {
    /// A fresh strategy: no history, no levels, flat.
    pub fn new(params: StrategyParams) -> Strategy {
        Strategy {
            params,
            history: History::new(params.window()),
            swings: SwingWindow::new(params.lookback()),
            levels: Levels::default(),
            position: Position::Flat,
            quiet: QuietCloses::of(&Position::Flat),
        }
    }

    /// Rebuilds a strategy from persisted state: the candles since the last reset or
    /// fresh relevel (oldest first; only the newest `max(50, lookback + 2)` matter),
    /// the levels and the position. No detection or signal happens while rebuilding.
    pub fn restore(
        params: StrategyParams,
        candles: impl IntoIterator<Item = Candle>,
        levels: Levels,
        position: Position,
    ) -> Strategy {
        let mut strategy = Strategy::new(params);
        for candle in candles {
            // Swings are settled from the history at the first candle detection runs on.
            strategy.history.push(candle);
        }
        strategy.levels = levels;
        strategy.set_position(position);
        strategy
    }

    /// The parameters this strategy runs with.
    pub fn params(&self) -> &StrategyParams {
        &self.params
    }

    /// Current support and resistance.
    pub fn levels(&self) -> Levels {
        self.levels
    }

    /// Where the symbol stands.
    pub fn position(&self) -> &Position {
        &self.position
    }

    /// The open trade, also while its exit is pending.
    pub fn trade(&self) -> Option<&Trade> {
        match &self.position {
            Position::Open(trade) | Position::Exiting { trade, .. } => Some(trade),
            Position::Flat | Position::Entering(_) => None,
        }
    }

    /// True while a trade is in progress (entering, open or exiting): levels do not move.
    pub fn is_locked(&self) -> bool {
        !matches!(self.position, Position::Flat)
    }

    /// Candles held, as the original reported them (capped at 50 for lookbacks up to 48).
    pub fn data_points(&self) -> usize {
        self.history.len()
    }

    /// Candles since the last reset or fresh relevel.
    pub fn candles_seen(&self) -> u64 {
        self.history.count()
    }

    /// The candles held, oldest first (what an engine persists to restore later).
    pub fn recent_candles(&self) -> impl DoubleEndedIterator<Item = &Candle> + '_ {
        self.history.iter()
    }

    /// The original's cap on history, for callers that report it.
    pub const HISTORY_CAP: usize = ORIGINAL_HISTORY_CAP;

    /// Processes one closed candle in the spec's order of work.
    #[inline]
    pub fn on_candle(&mut self, candle: &Candle, fills: &mut impl FillModel) -> CandleEvents {
        debug_assert_eq!(self.quiet, QuietCloses::of(&self.position));
        // Most candles of a trade: the close cannot exit (step 1), so the levels stay
        // locked and step 2 only adds the candle to the history.
        if self.quiet.contain(candle.close) {
            return self.locked_candle(candle, None);
        }
        let exit = self.on_price(candle.close, fills);
        if self.is_locked() {
            return self.locked_candle(candle, exit);
        }
        // Step 2: the swing state first takes in any candles of a locked stretch.
        self.swings.catch_up(&self.history);
        self.history.push(*candle);
        self.swings.push(candle);
        let detection = self.swings.detect();
        if let Detection::Found {
            support,
            resistance,
        } = detection
        {
            self.levels = Levels {
                support: Some(support),
                resistance: Some(resistance),
            };
        }
        let entry = self.check_breakout(candle.close, fills);
        CandleEvents {
            exit,
            detection,
            entry,
        }
    }

    /// Checks a price observation (tick, poll, candle close) against the open trade.
    pub fn on_price(&mut self, price: Price, fills: &mut impl FillModel) -> Option<ExitEvent> {
        let Position::Open(trade) = &self.position else {
            return None;
        };
        let reason = trade.exit_reason_at(price)?;
        Some(self.begin_exit(ExitSignal { reason, price }, fills))
    }

    /// Asks to leave the open trade now, at market; `price` is the reference price a
    /// fill model may use.
    pub fn exit_manually(
        &mut self,
        price: Price,
        fills: &mut impl FillModel,
    ) -> Result<ExitEvent, StrategyError> {
        if !matches!(self.position, Position::Open(_)) {
            return Err(self.wrong_state("exit"));
        }
        let signal = ExitSignal {
            reason: ExitReason::Manual,
            price,
        };
        Ok(self.begin_exit(signal, fills))
    }

    /// The pending entry filled: the trade opens with target and stop from the fill's
    /// average price.
    pub fn entry_filled(&mut self, fill: Fill) -> Result<&Trade, StrategyError> {
        let Position::Entering(signal) = &self.position else {
            return Err(self.wrong_state("record an entry fill"));
        };
        match Trade::open(signal.direction, fill, &self.params) {
            Ok(trade) => {
                self.set_position(Position::Open(trade));
                self.trade().ok_or(StrategyError::WrongState {
                    action: "open a trade",
                    state: "flat",
                })
            }
            Err(error) => {
                self.set_position(Position::Flat);
                Err(error)
            }
        }
    }

    /// The pending entry was rejected or cancelled: no trade, levels unlocked and kept.
    pub fn entry_failed(&mut self) -> Result<(), StrategyError> {
        if !matches!(self.position, Position::Entering(_)) {
            return Err(self.wrong_state("record a failed entry"));
        }
        self.set_position(Position::Flat);
        Ok(())
    }

    /// The pending exit filled: the trade is over.
    pub fn exit_filled(&mut self, fill: Fill) -> Result<ClosedTrade, StrategyError> {
        let position = self.take_position();
        let Position::Exiting { trade, exit } = position else {
            self.set_position(position);
            return Err(self.wrong_state("record an exit fill"));
        };
        Ok(self.finish(trade, fill, exit.reason))
    }

    /// The pending exit failed: the trade stays open and the next price observation
    /// (or a manual exit) signals again.
    pub fn exit_failed(&mut self) -> Result<(), StrategyError> {
        let position = self.take_position();
        let Position::Exiting { trade, .. } = position else {
            self.set_position(position);
            return Err(self.wrong_state("record a failed exit"));
        };
        self.set_position(Position::Open(trade));
        Ok(())
    }

    /// Forgets everything: history, levels and any trade. Callers decide whether a
    /// reset with an open trade is allowed.
    pub fn reset(&mut self) {
        *self = Strategy::new(self.params);
    }

    /// Step 2 while locked: no detection and no breakout. The candle joins the
    /// history, and its swing status is settled from there once the levels unlock.
    #[inline]
    fn locked_candle(&mut self, candle: &Candle, exit: Option<ExitEvent>) -> CandleEvents {
        self.history.push(*candle);
        CandleEvents {
            exit,
            detection: Detection::Skipped(SkipReason::Locked),
            entry: None,
        }
    }

    /// Every change of position goes through here, which keeps `quiet` with it.
    fn set_position(&mut self, position: Position) {
        self.quiet = QuietCloses::of(&position);
        self.position = position;
    }

    /// The position, leaving `Flat` in its place.
    fn take_position(&mut self) -> Position {
        self.quiet = QuietCloses::of(&Position::Flat);
        std::mem::replace(&mut self.position, Position::Flat)
    }

    fn check_breakout(&mut self, close: Price, fills: &mut impl FillModel) -> Option<EntryEvent> {
        if self.is_locked() {
            return None;
        }
        let (Some(support), Some(resistance)) = (self.levels.support, self.levels.resistance)
        else {
            return None;
        };
        let direction = if close > resistance {
            Direction::Long
        } else if close < support {
            Direction::Short
        } else {
            return None;
        };
        // An entry whose stop would not be a positive price is never signalled.
        crate::trade::targets(direction, close, &self.params).ok()?;
        let signal = EntrySignal {
            direction,
            price: close,
            quantity: self.params.quantity(),
        };
        self.set_position(Position::Entering(signal));
        let Some(fill) = fills.fill_entry(&signal) else {
            return Some(EntryEvent::Signalled(signal));
        };
        match self.entry_filled(fill) {
            Ok(trade) => Some(EntryEvent::Opened(trade.clone())),
            Err(_) => None,
        }
    }

    fn begin_exit(&mut self, exit: ExitSignal, fills: &mut impl FillModel) -> ExitEvent {
        let position = self.take_position();
        let Position::Open(trade) = position else {
            // Callers check for an open trade first.
            self.set_position(position);
            return ExitEvent::Signalled(exit);
        };
        match fills.fill_exit(&trade, &exit) {
            Some(fill) => ExitEvent::Closed(self.finish(trade, fill, exit.reason)),
            None => {
                self.set_position(Position::Exiting { trade, exit });
                ExitEvent::Signalled(exit)
            }
        }
    }

    /// Ends a trade: levels cleared, unlocked, and in `fresh` mode the history too.
    fn finish(&mut self, trade: Trade, fill: Fill, reason: ExitReason) -> ClosedTrade {
        self.set_position(Position::Flat);
        self.levels = Levels::default();
        if self.params.relevel() == Relevel::Fresh {
            self.history.clear();
            self.swings.clear();
        }
        ClosedTrade::new(trade, fill, reason)
    }

    fn wrong_state(&self, action: &'static str) -> StrategyError {
        StrategyError::WrongState {
            action,
            state: self.position.name(),
        }
    }
}
