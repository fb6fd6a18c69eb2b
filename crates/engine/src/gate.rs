//! [`Gate`]: the engine-wide state the entry checks need, shared by every shard.
//!
//! Shards report each symbol's position after every step ([`Gate::note`]) and ask
//! [`Gate::admit`] before sending an entry order. The decisions themselves are the
//! pure [`MarketRules`] and [`RiskLimits`]; this module only gathers their inputs
//! (the clock's time, open trades, today's P&L, the kill switch) under one lock,
//! held for microseconds and never across an await. Before any of them it checks the
//! broker's login session: while it is expired or missing, every entry is refused
//! with that reason (see `session`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use jiff::Timestamp;
use jiff::civil::Date;
use kitebreak_price::{Money, Price, Quantity};
use kitebreak_strategy::{Direction, Strategy, Trade};

use crate::clock::Clock;
use crate::market::{MarketRules, ist_datetime};
use crate::risk::{Exposure, KillSwitch, RiskLimits};
use crate::session::BrokerSession;
use crate::{EngineConfig, Symbol};
use kitebreak_kite::SessionState;

/// Where the engine stands on risk, for `GET /risk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskStatus {
    /// The kill switch.
    pub kill_switch: KillSwitch,
    /// The configured limits.
    pub limits: RiskLimits,
    /// P&L of trades closed today (IST), rupees.
    pub realized_today: Money,
    /// P&L of open trades at the latest prices, rupees.
    pub unrealized: Money,
    /// Trades open or being entered or exited.
    pub open_trades: u32,
    /// Why entries are refused by the market clock now, if they are.
    pub market_closed: Option<String>,
    /// The broker's login session (`None`: the broker needs none, as paper).
    pub broker_session: Option<BrokerSession>,
}

/// One symbol as the gate sees it.
#[derive(Debug, Clone, Default)]
struct Held {
    /// A trade is in progress (entering, open or exiting), or an entry was admitted.
    busy: bool,
    /// The open trade's direction, entry price and quantity.
    open: Option<(Direction, Price, Quantity)>,
    /// The latest price observed.
    last: Option<Price>,
}

#[derive(Debug)]
struct State {
    switch: KillSwitch,
    held: HashMap<Symbol, Held>,
    /// The IST day `realized` belongs to.
    day: Date,
    realized: Money,
}

/// Shared entry checks (see the module docs).
#[derive(Debug)]
pub(crate) struct Gate {
    market: Option<MarketRules>,
    limits: RiskLimits,
    clock: Arc<dyn Clock>,
    /// The broker's login session; entries pause while it is not usable.
    session: Option<SessionState>,
    state: Mutex<State>,
}

impl Gate {
    /// A gate with the kill switch in `switch` and `realized` P&L already made today.
    pub fn new(config: &EngineConfig, switch: KillSwitch, realized: Money) -> Gate {
        let day = ist_datetime(config.clock.now()).date();
        Gate {
            market: config.market.clone(),
            limits: config.risk,
            clock: Arc::clone(&config.clock),
            session: None,
            state: Mutex::new(State {
                switch,
                held: HashMap::new(),
                day,
                realized,
            }),
        }
    }

    /// This gate, refusing entries while `session` is expired or missing.
    pub fn with_session(mut self, session: Option<SessionState>) -> Gate {
        self.session = session;
        self
    }

    /// The broker session now, if the broker has one.
    pub fn broker_session(&self) -> Option<BrokerSession> {
        self.session.as_ref().map(BrokerSession::of)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The engine's current time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The market rules, if any are enforced.
    pub fn market(&self) -> Option<&MarketRules> {
        self.market.as_ref()
    }

    /// Whether an entry of `quantity` at about `price` (if known) may be sent for `symbol` now;
    /// the reason if not. With `reserve`, an admitted symbol counts as an open trade
    /// at once, so two shards cannot both take the last free slot.
    pub fn admit(
        &self,
        symbol: &Symbol,
        price: Option<Price>,
        quantity: Quantity,
        reserve: bool,
    ) -> Result<(), String> {
        // First: without a session no entry can reach the broker, whatever else holds.
        if let Some(refusal) = self.broker_session().and_then(|s| s.refusal()) {
            return Err(refusal);
        }
        let now = self.clock.now();
        if let Some(market) = &self.market {
            market
                .entry_allowed(now)
                .map_err(|closed| closed.to_string())?;
        }
        let mut state = self.state();
        state.roll(now);
        let exposure = Exposure {
            open_trades: state.open_trades(Some(symbol)),
            pnl_today: state.realized + state.unrealized(),
        };
        self.limits
            .check_entry(state.switch, exposure, price, quantity)
            .map_err(|refusal| refusal.to_string())?;
        if reserve {
            state.held.entry(symbol.clone()).or_default().busy = true;
        }
        Ok(())
    }

    /// Records `symbol`'s position after a step, and the latest price if one came.
    pub fn note(&self, symbol: &Symbol, strategy: &Strategy, last: Option<Price>) {
        let mut state = self.state();
        // Called after every tick: the symbol is cloned only the first time.
        if !state.held.contains_key(symbol) {
            state.held.insert(symbol.clone(), Held::default());
        }
        let Some(held) = state.held.get_mut(symbol) else {
            return;
        };
        held.busy = strategy.is_locked();
        held.open = strategy
            .trade()
            .map(|t: &Trade| (t.direction, t.price_entry, t.quantity));
        if last.is_some() {
            held.last = last;
        }
    }

    /// Forgets a symbol the shard does not hold (a new symbol whose first candle
    /// could not be committed), releasing any reservation.
    pub fn forget(&self, symbol: &Symbol) {
        self.state().held.remove(symbol);
    }

    /// Symbols with a trade open or being entered or exited.
    pub fn open_trades(&self) -> u32 {
        self.state().open_trades(None)
    }

    /// Adds a closed trade's P&L to today's.
    pub fn realized(&self, pnl: Money) {
        let mut state = self.state();
        state.roll(self.clock.now());
        state.realized = state.realized + pnl;
    }

    /// The kill switch.
    pub fn switch(&self) -> KillSwitch {
        self.state().switch
    }

    /// Sets the kill switch (the caller persists it).
    pub fn set_switch(&self, switch: KillSwitch) {
        self.state().switch = switch;
    }

    /// Where the engine stands now.
    pub fn status(&self) -> RiskStatus {
        let now = self.clock.now();
        let market_closed = self
            .market
            .as_ref()
            .and_then(|m| m.entry_allowed(now).err())
            .map(|closed| closed.to_string());
        let mut state = self.state();
        state.roll(now);
        RiskStatus {
            kill_switch: state.switch,
            limits: self.limits,
            realized_today: state.realized,
            unrealized: state.unrealized(),
            open_trades: state.open_trades(None),
            market_closed,
            broker_session: self.broker_session(),
        }
    }
}

impl State {
    /// A new IST day starts with nothing realized.
    fn roll(&mut self, now: Timestamp) {
        let today = ist_datetime(now).date();
        if today != self.day {
            self.day = today;
            self.realized = Money::ZERO;
        }
    }

    fn open_trades(&self, except: Option<&Symbol>) -> u32 {
        let busy = self
            .held
            .iter()
            .filter(|(symbol, held)| held.busy && Some(*symbol) != except)
            .count();
        u32::try_from(busy).unwrap_or(u32::MAX)
    }

    fn unrealized(&self) -> Money {
        self.held
            .values()
            .filter_map(|held| {
                let (direction, entry, quantity) = held.open?;
                let last = held.last?;
                let per_unit = match direction {
                    Direction::Long => last.minus(entry),
                    Direction::Short => entry.minus(last),
                };
                Some(per_unit.times(quantity))
            })
            .sum()
    }
}
