//! Invariants of the strategy core, checked with proptest on random price walks.
//!
//! The generators walk a price in whole steps of a per-case unit, so equal highs, equal
//! lows, repeated closes and exact hits of targets and stops are common; one candle
//! offset in ten points the wrong way, since the core takes `low <= close <= high` as
//! given rather than required. Scenarios also interleave price observations between
//! candles and (with [`AwaitBroker`]) broker fills and rejections.
//!
//! The last property compares the strategy with a brute-force model of
//! `spec/strategy.md`, written from the spec alone: whole history kept, window rescanned
//! for every candle, targets computed in `i128` micro-units with the spec's rounding rule.
//!
//! This file holds the properties; the modules hold what they use:
//! - `generators`: parameters, markets, bars, walks, scenario actions, trades;
//! - `scenario`: running a scenario step by step, broker fills and the exit checks;
//! - `model`: the brute-force model and the strategy's output in its terms;
//! - `replay`: one-by-one, batch and restored runs and their comparisons;
//! - `coverage`: a check that the generators reach every case the properties name.

mod coverage;
mod generators;
mod model;
mod replay;
mod scenario;

use generators::{
    any_lookback, any_relevel, any_trade, bar, market, observation, params_with, scenario,
    scenario_with, walk,
};
use kitebreak_strategy::{
    AwaitBroker, Candle, CandleEvents, Detection, EntryEvent, ExitEvent, FillAtSignalPrice, Levels,
    Position, Relevel, SkipReason, Strategy,
};
use model::{Model, observed_line};
use proptest::collection::vec;
use proptest::prelude::{Just, ProptestConfig, any, prop_assert, prop_assert_eq, prop_oneof};
use proptest::proptest;
use proptest::sample::Index;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use replay::{read_everything, restore_from, same_decisions, same_state};
use scenario::{
    Input, State, check_exit, closed_reason, observed_price, reason_is_on_its_side, run, run_with,
};

/// 256 cases each; failures are saved to one fixed file for every module, found from the
/// crate directory, where cargo runs tests (proptest's default would derive the place from
/// each test's source file, inside `tests/`).
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::with_cases(256)
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn support_stays_below_resistance_whenever_both_are_set(
        scenario in scenario(),
        await_broker in any::<bool>(),
    ) {
        for (i, step) in run_with(&scenario, await_broker)?.iter().enumerate() {
            let Levels { support, resistance } = step.after.levels;
            if let (Some(support), Some(resistance)) = (support, resistance) {
                prop_assert!(support < resistance, "step {}: {:?}", i, step);
            }
        }
    }

    /// Locked before and after an input, with no trade ending in between (in `rolling`
    /// mode one candle may end a trade, find new levels and enter again: the levels
    /// then change legitimately although the strategy is locked on both sides). A
    /// rejected entry unlocks without a trade and keeps the levels (checked in
    /// `broker_reject`).
    #[test]
    fn levels_never_change_while_a_trade_stays_in_progress(
        scenario in scenario(),
        await_broker in any::<bool>(),
    ) {
        for (i, step) in run_with(&scenario, await_broker)?.iter().enumerate() {
            let locked_before = step.before.position != Position::Flat;
            let locked_after = step.after.position != Position::Flat;
            if locked_before && locked_after && !step.ended_a_trade() {
                prop_assert_eq!(step.after.levels, step.before.levels, "step {}: {:?}", i, step);
                if let Some(detection) = step.outcome.detection {
                    prop_assert_eq!(detection, Detection::Skipped(SkipReason::Locked));
                }
            }
        }
    }

    #[test]
    fn no_entry_happens_while_a_trade_is_active(scenario in scenario()) {
        for (i, step) in run(&scenario, &mut FillAtSignalPrice::default())?.iter().enumerate() {
            let Some(entry) = &step.outcome.entry else { continue };
            // The position between step 1 (exit check) and step 2 (breakout).
            let flat_before_breakout = match &step.outcome.exit {
                Some(ExitEvent::Closed(_)) => true,
                Some(ExitEvent::Signalled(_)) => false,
                None => step.before.position == Position::Flat,
            };
            prop_assert!(
                flat_before_breakout,
                "step {}: entry {:?} during {:?}", i, entry, step.before.position
            );
            let EntryEvent::Opened(trade) = entry else {
                return Err(TestCaseError::fail(format!("step {i}: close-only entry pending")));
            };
            prop_assert_eq!(&step.after.position, &Position::Open(trade.clone()));
        }
    }

    #[test]
    fn no_second_entry_is_signalled_while_an_entry_or_a_trade_is_pending(scenario in scenario()) {
        for (i, step) in run(&scenario, &mut AwaitBroker)?.iter().enumerate() {
            let closed = matches!(step.outcome.exit, Some(ExitEvent::Closed(_)));
            prop_assert!(!closed, "step {}: exit filled without the broker", i);
            let Some(entry) = &step.outcome.entry else { continue };
            let before = &step.before.position;
            prop_assert_eq!(before, &Position::Flat, "step {}: entry {:?}", i, entry);
            let EntryEvent::Signalled(signal) = entry else {
                return Err(TestCaseError::fail(format!("step {i}: entry filled without a broker")));
            };
            prop_assert_eq!(&step.after.position, &Position::Entering(*signal));
        }
    }

    #[test]
    fn every_exit_reason_agrees_with_the_price_against_target_and_stop(
        scenario in scenario(),
        await_broker in any::<bool>(),
    ) {
        for step in run_with(&scenario, await_broker)? {
            let Some(price) = observed_price(&step.input) else { continue };
            // After a candle's exit check (step 1) comes step 2, which may enter again.
            let after = step.outcome.entry.is_none().then_some(&step.after.position);
            check_exit(&step.before.position, after, price, step.outcome.exit.as_ref())?;
            if let Some((reason, price, trade)) = closed_reason(step.outcome.exit.as_ref()) {
                let agrees = reason_is_on_its_side(reason, price, trade);
                prop_assert!(agrees, "{:?} at {} for {:?}", reason, price, trade);
            }
        }
    }

    /// Any trade at all, even one whose target and stop are on the wrong sides so that
    /// both are reached at once (then the exit is a profit: the target is checked first).
    #[test]
    fn a_price_observation_exits_exactly_when_target_or_stop_is_reached(
        params in params_with(any_lookback(), any_relevel()),
        trade in any_trade(),
        observations in vec(observation(), 1..24),
        await_broker in any::<bool>(),
    ) {
        let support = Some(trade.price_stop.min(trade.price_target));
        let levels = Levels { support, resistance: None };
        let mut strategy = Strategy::restore(params, [], levels, Position::Open(trade.clone()));
        let mut exited = false;
        for near in observations {
            let price = near.price(&trade);
            let before = State::of(&strategy);
            let exit = if await_broker {
                strategy.on_price(price, &mut AwaitBroker)
            } else {
                strategy.on_price(price, &mut FillAtSignalPrice::default())
            };
            let after = State::of(&strategy);
            check_exit(&before.position, Some(&after.position), price, exit.as_ref())?;
            if exited {
                prop_assert!(exit.is_none(), "a second exit after the first");
                prop_assert_eq!(&after, &before);
            }
            if let Some(exit) = &exit {
                exited = true;
                if let Some((reason, price, trade)) = closed_reason(Some(exit)) {
                    prop_assert!(reason_is_on_its_side(reason, price, trade));
                    prop_assert_eq!(after.levels, Levels::default(), "ended trades clear levels");
                }
            }
        }
    }

    /// Order of work: the exit candle's close ends the trade (step 1), which clears the
    /// history; the candle is then appended as the first of the fresh history (step 2).
    /// So counting from the exit candle as 1, levels are first found, and an entry first
    /// possible, at candle `lookback + 2`. An exit between candles (a tick, a broker
    /// fill) makes the next candle number 1.
    #[test]
    fn fresh_relevel_allows_no_entry_before_lookback_plus_two_new_candles(
        scenario in scenario_with(Just(Relevel::Fresh)),
        await_broker in any::<bool>(),
    ) {
        let window = scenario.params.window() as u64;
        let mut since_exit: Option<u64> = None;
        for (i, step) in run_with(&scenario, await_broker)?.iter().enumerate() {
            if !matches!(step.input, Input::Candle(_)) {
                if step.ended_a_trade() {
                    since_exit = Some(0);
                }
                continue;
            }
            since_exit = if step.ended_a_trade() {
                Some(1)
            } else {
                since_exit.map(|n| n + 1)
            };
            let Some(n) = since_exit else { continue };
            prop_assert_eq!(step.after.candles_seen, n, "step {}", i);
            if n < window {
                let entry = &step.outcome.entry;
                prop_assert!(entry.is_none(), "step {}: entry on fresh candle {}/{}", i, n, window);
                prop_assert_eq!(step.after.levels, Levels::default(), "step {}", i);
                let insufficient = SkipReason::InsufficientData { have: n, need: window };
                let insufficient = Detection::Skipped(insufficient);
                prop_assert_eq!(step.outcome.detection, Some(insufficient), "step {}", i);
            }
        }
    }

    /// `restore` gets the newest held candles, levels and position. Decisions are
    /// identical as long as it gets at least `lookback + 2` candles (or all of them when
    /// fewer are held, which are then all candles since the last clear). Two counters
    /// legitimately differ: `data_points` / `recent_candles` hold only what was restored
    /// until the ring fills again, and `candles_seen` counts restored candles, not the
    /// candles since the last reset, until the next fresh relevel clears both alike.
    #[test]
    fn feeding_candles_one_by_one_as_a_batch_or_after_a_restore_gives_the_same_result(
        params in params_with(any_lookback(), any_relevel()),
        market in market(),
        bars in vec(bar(), 0..400),
        split in any::<Index>(),
        extra in prop_oneof![Just(0usize), 0usize..60],
    ) {
        let candles = walk(market, &bars);
        let split = split.index(candles.len() + 1);

        let mut one_by_one = Strategy::new(params);
        let mut events_one_by_one = Vec::with_capacity(candles.len());
        let mut restored = None;
        for (i, candle) in candles.iter().enumerate() {
            if i == split {
                restored = Some(restore_from(&one_by_one, extra));
            }
            read_everything(&one_by_one)?;
            events_one_by_one.push(one_by_one.on_candle(candle, &mut FillAtSignalPrice::default()));
            read_everything(&one_by_one)?;
        }
        let (mut restored, missing, full) = match restored {
            Some(restored) => restored,
            None => restore_from(&one_by_one, extra),
        };

        let (batch, events_batch) = candles.iter().fold(
            (Strategy::new(params), Vec::new()),
            |(mut strategy, mut events), candle| {
                events.push(strategy.on_candle(candle, &mut FillAtSignalPrice::default()));
                (strategy, events)
            },
        );
        prop_assert_eq!(&events_batch, &events_one_by_one);
        same_state(&batch, &one_by_one)?;

        let events_restored: Vec<CandleEvents> = candles[split..]
            .iter()
            .map(|candle| restored.on_candle(candle, &mut FillAtSignalPrice::default()))
            .collect();
        prop_assert_eq!(&events_restored[..], &events_one_by_one[split..]);
        same_decisions(&restored, &one_by_one)?;
        let cleared = params.relevel() == Relevel::Fresh
            && events_restored.iter().any(|e| matches!(e.exit, Some(ExitEvent::Closed(_))));
        let missing = if cleared { 0 } else { missing };
        prop_assert_eq!(one_by_one.candles_seen() - restored.candles_seen(), missing);
        let all: Vec<Candle> = one_by_one.recent_candles().copied().collect();
        let kept: Vec<Candle> = restored.recent_candles().copied().collect();
        if full || cleared {
            prop_assert_eq!(kept, all);
        } else {
            prop_assert!(all.ends_with(&kept), "restored history is not the newest candles");
        }
    }

    #[test]
    fn the_strategy_agrees_with_a_brute_force_model_of_the_spec(
        params in params_with(1usize..=30, any_relevel()),
        market in market(),
        bars in vec(bar(), 0..400),
    ) {
        let mut strategy = Strategy::new(params);
        let mut model = Model::new(&params);
        for (i, candle) in walk(market, &bars).iter().enumerate() {
            let events = strategy.on_candle(candle, &mut FillAtSignalPrice::default());
            let expected = model.on_candle(candle);
            let actual = observed_line(&strategy, &events)?;
            prop_assert_eq!(actual, expected, "candle {}: {:?}", i, candle);
        }
    }
}
