//! Running a scenario: each action becomes one input to the strategy, and every step
//! records the state before and after it with what the strategy returned. Broker fills
//! and rejections are checked as they are made; the spec's exit rule is checked here too,
//! for every price observation the properties hand over.

use kitebreak_strategy::{
    AwaitBroker, Candle, CandleEvents, ClosedTrade, Detection, Direction, EntryEvent, ExitEvent,
    ExitReason, Fill, FillAtSignalPrice, FillModel, Levels, Position, Price, Quantity, Strategy,
    Trade,
};
use proptest::prelude::{prop_assert, prop_assert_eq};
use proptest::test_runner::TestCaseError;

use crate::generators::{Action, Scenario, Walker};

/// What a caller can see of the strategy between two inputs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub(crate) levels: Levels,
    pub(crate) position: Position,
    pub(crate) candles_seen: u64,
}

impl State {
    pub(crate) fn of(strategy: &Strategy) -> State {
        State {
            levels: strategy.levels(),
            position: strategy.position().clone(),
            candles_seen: strategy.candles_seen(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Input {
    Candle(Candle),
    Price(Price),
    BrokerFill,
    BrokerReject,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    pub(crate) exit: Option<ExitEvent>,
    pub(crate) detection: Option<Detection>,
    pub(crate) entry: Option<EntryEvent>,
    /// A pending exit that the broker's fill closed.
    pub(crate) exit_filled: Option<ClosedTrade>,
}

#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) input: Input,
    pub(crate) before: State,
    pub(crate) after: State,
    pub(crate) outcome: Outcome,
}

impl Step {
    pub(crate) fn ended_a_trade(&self) -> bool {
        matches!(self.outcome.exit, Some(ExitEvent::Closed(_)))
            || self.outcome.exit_filled.is_some()
    }
}

fn fill(price: Price, quantity: Quantity) -> Fill {
    Fill {
        price,
        quantity,
        time: None,
        order_id: None,
    }
}

/// Plays `scenario` with `fills`, recording the state around every input.
pub(crate) fn run(
    scenario: &Scenario,
    fills: &mut impl FillModel,
) -> Result<Vec<Step>, TestCaseError> {
    let mut strategy = Strategy::new(scenario.params);
    let mut walker = Walker::new(scenario.market);
    let mut steps = Vec::with_capacity(scenario.actions.len());
    for action in &scenario.actions {
        let before = State::of(&strategy);
        let (input, outcome) = match *action {
            Action::Candle(bar) => {
                let candle = walker.next(bar);
                let events = strategy.on_candle(&candle, fills);
                (Input::Candle(candle), from_candle(events))
            }
            Action::Tick(thousandths) => {
                let price = walker.shift(walker.last_close(), thousandths);
                let exit = strategy.on_price(price, fills);
                let outcome = Outcome {
                    exit,
                    ..Outcome::default()
                };
                (Input::Price(price), outcome)
            }
            Action::BrokerFill(thousandths) => broker_fill(&mut strategy, &walker, thousandths)?,
            Action::BrokerReject => (Input::BrokerReject, broker_reject(&mut strategy)?),
        };
        let after = State::of(&strategy);
        steps.push(Step {
            input,
            before,
            after,
            outcome,
        });
    }
    Ok(steps)
}

pub(crate) fn run_with(
    scenario: &Scenario,
    await_broker: bool,
) -> Result<Vec<Step>, TestCaseError> {
    if await_broker {
        run(scenario, &mut AwaitBroker)
    } else {
        run(scenario, &mut FillAtSignalPrice::default())
    }
}

fn from_candle(events: CandleEvents) -> Outcome {
    Outcome {
        exit: events.exit,
        detection: Some(events.detection),
        entry: events.entry,
        exit_filled: None,
    }
}

fn broker_fill(
    strategy: &mut Strategy,
    walker: &Walker,
    thousandths: i64,
) -> Result<(Input, Outcome), TestCaseError> {
    match strategy.position().clone() {
        Position::Entering(signal) => {
            let price = walker.shift(signal.price, thousandths);
            let levels = strategy.levels();
            let trade = strategy
                .entry_filled(fill(price, signal.quantity))
                .map_err(|error| TestCaseError::fail(format!("entry fill refused: {error}")))?
                .clone();
            prop_assert_eq!(trade.direction, signal.direction);
            prop_assert_eq!(trade.price_entry, price);
            prop_assert_eq!(strategy.levels(), levels);
            Ok((Input::BrokerFill, Outcome::default()))
        }
        Position::Exiting { trade, exit } => {
            let price = walker.shift(exit.price, thousandths);
            let closed = strategy
                .exit_filled(fill(price, trade.quantity))
                .map_err(|error| TestCaseError::fail(format!("exit fill refused: {error}")))?;
            prop_assert_eq!(&closed.trade, &trade);
            prop_assert_eq!(closed.exit_reason, exit.reason);
            prop_assert_eq!(closed.price_exit, price);
            let outcome = Outcome {
                exit_filled: Some(closed),
                ..Outcome::default()
            };
            Ok((Input::BrokerFill, outcome))
        }
        Position::Flat | Position::Open(_) => {
            // Nothing pending: both reports are refused and change nothing.
            let before = State::of(strategy);
            let price = walker.shift(walker.last_close(), thousandths);
            prop_assert!(strategy.entry_filled(fill(price, Quantity::ONE)).is_err());
            prop_assert!(strategy.exit_filled(fill(price, Quantity::ONE)).is_err());
            prop_assert_eq!(State::of(strategy), before);
            Ok((Input::BrokerFill, Outcome::default()))
        }
    }
}

fn broker_reject(strategy: &mut Strategy) -> Result<Outcome, TestCaseError> {
    let before = State::of(strategy);
    match before.position.clone() {
        Position::Entering(_) => {
            prop_assert!(strategy.entry_failed().is_ok());
            prop_assert_eq!(strategy.position(), &Position::Flat);
            prop_assert_eq!(
                strategy.levels(),
                before.levels,
                "a rejected entry keeps the levels"
            );
        }
        Position::Exiting { trade, .. } => {
            prop_assert!(strategy.exit_failed().is_ok());
            prop_assert_eq!(strategy.position(), &Position::Open(trade));
        }
        Position::Flat | Position::Open(_) => {
            prop_assert!(strategy.entry_failed().is_err());
            prop_assert!(strategy.exit_failed().is_err());
            prop_assert_eq!(State::of(strategy), before);
        }
    }
    Ok(Outcome::default())
}

/// The price a step observed as a price observation (step 1 of a candle, or a tick).
pub(crate) fn observed_price(input: &Input) -> Option<Price> {
    match input {
        Input::Candle(candle) => Some(candle.close),
        Input::Price(price) => Some(*price),
        Input::BrokerFill | Input::BrokerReject => None,
    }
}

/// The spec's exit rule, written out: target first, then stop.
fn spec_exit_reason(trade: &Trade, price: Price) -> Option<ExitReason> {
    let (target_reached, stop_reached) = match trade.direction {
        Direction::Long => (price >= trade.price_target, price <= trade.price_stop),
        Direction::Short => (price <= trade.price_target, price >= trade.price_stop),
    };
    if target_reached {
        Some(ExitReason::Profit)
    } else if stop_reached {
        Some(ExitReason::Loss)
    } else {
        None
    }
}

/// Checks one exit (or its absence) for an observation of `price` while `before` held;
/// `after` is the position right after the exit check, when the caller can see it.
pub(crate) fn check_exit(
    before: &Position,
    after: Option<&Position>,
    price: Price,
    exit: Option<&ExitEvent>,
) -> Result<(), TestCaseError> {
    let Position::Open(trade) = before else {
        prop_assert!(exit.is_none(), "exit {:?} without an open trade", exit);
        return Ok(());
    };
    let expected = spec_exit_reason(trade, price);
    match (expected, exit) {
        (None, None) => {}
        (Some(reason), Some(ExitEvent::Closed(closed))) => {
            prop_assert_eq!(
                closed.exit_reason,
                reason,
                "price {} for {:?}",
                price,
                trade
            );
            prop_assert_eq!(&closed.trade, trade);
            prop_assert_eq!(closed.price_exit, price);
            if let Some(after) = after {
                prop_assert_eq!(after, &Position::Flat);
            }
        }
        (Some(reason), Some(ExitEvent::Signalled(signal))) => {
            prop_assert_eq!(signal.reason, reason, "price {} for {:?}", price, trade);
            prop_assert_eq!(signal.price, price);
            let exiting = Position::Exiting {
                trade: trade.clone(),
                exit: *signal,
            };
            if let Some(after) = after {
                prop_assert_eq!(after, &exiting);
            }
        }
        (expected, actual) => {
            return Err(TestCaseError::fail(format!(
                "price {price} for {trade:?}: expected exit {expected:?}, got {actual:?}"
            )));
        }
    }
    Ok(())
}

pub(crate) fn closed_reason(exit: Option<&ExitEvent>) -> Option<(ExitReason, Price, &Trade)> {
    match exit {
        Some(ExitEvent::Closed(closed)) => {
            Some((closed.exit_reason, closed.price_exit, &closed.trade))
        }
        Some(ExitEvent::Signalled(_)) | None => None,
    }
}

/// The side of target or stop a profit or loss exit must be on (a loss also means the
/// target was not reached: the target is checked first).
pub(crate) fn reason_is_on_its_side(reason: ExitReason, price: Price, trade: &Trade) -> bool {
    match (reason, trade.direction) {
        (ExitReason::Profit, Direction::Long) => price >= trade.price_target,
        (ExitReason::Profit, Direction::Short) => price <= trade.price_target,
        (ExitReason::Loss, Direction::Long) => {
            price <= trade.price_stop && price < trade.price_target
        }
        (ExitReason::Loss, Direction::Short) => {
            price >= trade.price_stop && price > trade.price_target
        }
        (ExitReason::Manual, _) => false,
    }
}
