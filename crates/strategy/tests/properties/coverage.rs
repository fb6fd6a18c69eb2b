//! The generators themselves: a sample of scenarios must reach every case the
//! properties talk about, or the properties would pass without checking them.

use kitebreak_strategy::{EntryEvent, ExitReason, Relevel};
use proptest::strategy::{Strategy as _, ValueTree};
use proptest::test_runner::TestRunner;

use crate::generators::{Scenario, scenario};
use crate::model::MICROS;
use crate::scenario::{Input, Step, closed_reason, run_with};

/// What a sample of generated scenarios exercised.
#[derive(Debug, Default)]
struct Coverage {
    entries: usize,
    profit_exits: usize,
    loss_exits: usize,
    exits_between_candles: usize,
    broker_fills: usize,
    fresh_entries_at_the_earliest_candle: usize,
    rolling_exit_and_entry_on_one_candle: usize,
    equal_neighbouring_highs: usize,
    inconsistent_candles: usize,
    rounded_targets: usize,
}

impl Coverage {
    fn add(&mut self, scenario: &Scenario, steps: &[Step]) {
        let window = scenario.params.window() as u64;
        let mut previous_high = None;
        let mut exited = false;
        for step in steps {
            if let Input::Candle(candle) = step.input {
                self.equal_neighbouring_highs += usize::from(previous_high == Some(candle.high));
                self.inconsistent_candles += usize::from(candle.check_consistent().is_err());
                previous_high = Some(candle.high);
            }
            if let Some(entry) = &step.outcome.entry {
                self.entries += 1;
                let fresh = scenario.params.relevel() == Relevel::Fresh;
                if fresh && exited && step.after.candles_seen == window {
                    self.fresh_entries_at_the_earliest_candle += 1;
                }
                if let EntryEvent::Opened(trade) = entry {
                    let scaled = i128::from(trade.price_entry.micros())
                        * i128::from(scenario.params.profit_target().micros());
                    self.rounded_targets += usize::from(scaled % MICROS != 0);
                }
            }
            if let Some((reason, _, _)) = closed_reason(step.outcome.exit.as_ref()) {
                self.profit_exits += usize::from(reason == ExitReason::Profit);
                self.loss_exits += usize::from(reason == ExitReason::Loss);
                self.exits_between_candles += usize::from(matches!(step.input, Input::Price(_)));
                self.rolling_exit_and_entry_on_one_candle +=
                    usize::from(step.outcome.entry.is_some());
            }
            self.broker_fills += usize::from(step.outcome.exit_filled.is_some());
            exited |= step.ended_a_trade();
        }
    }
}

#[test]
fn the_generators_reach_every_case_the_properties_talk_about() {
    let mut runner = TestRunner::deterministic();
    let generator = scenario();
    let mut coverage = Coverage::default();
    for _ in 0..200 {
        let scenario = generator
            .new_tree(&mut runner)
            .expect("the scenario generator never rejects")
            .current();
        for await_broker in [false, true] {
            let steps = run_with(&scenario, await_broker).expect("a generated scenario runs");
            coverage.add(&scenario, &steps);
        }
    }
    let counts = [
        coverage.entries,
        coverage.profit_exits,
        coverage.loss_exits,
        coverage.exits_between_candles,
        coverage.broker_fills,
        coverage.fresh_entries_at_the_earliest_candle,
        coverage.rolling_exit_and_entry_on_one_candle,
        coverage.equal_neighbouring_highs,
        coverage.inconsistent_candles,
        coverage.rounded_targets,
    ];
    assert!(counts.iter().all(|&count| count > 0), "{coverage:#?}");
}
