//! Feeding the same candles one by one, as a batch or after a restore: a restore from a
//! running strategy, and the checks that two strategies agree.

use kitebreak_strategy::{Candle, Position, Strategy};
use proptest::prelude::{prop_assert, prop_assert_eq};
use proptest::test_runner::TestCaseError;

/// Every read-only accessor, with the relations between them.
pub(crate) fn read_everything(strategy: &Strategy) -> Result<(), TestCaseError> {
    let params = *strategy.params();
    let levels = strategy.levels();
    let position = strategy.position();
    let data_points = strategy.data_points();
    let seen = strategy.candles_seen();
    let capacity = params.window().max(Strategy::HISTORY_CAP);
    prop_assert_eq!(strategy.is_locked(), *position != Position::Flat);
    let open = matches!(position, Position::Open(_) | Position::Exiting { .. });
    prop_assert_eq!(strategy.trade().is_some(), open);
    prop_assert_eq!(strategy.recent_candles().count(), data_points);
    prop_assert_eq!(data_points as u64, seen.min(capacity as u64));
    if let (Some(support), Some(resistance)) = (levels.support, levels.resistance) {
        prop_assert!(support < resistance);
    }
    Ok(())
}

pub(crate) fn same_decisions(left: &Strategy, right: &Strategy) -> Result<(), TestCaseError> {
    prop_assert_eq!(left.levels(), right.levels());
    prop_assert_eq!(left.position(), right.position());
    prop_assert_eq!(left.is_locked(), right.is_locked());
    prop_assert_eq!(left.trade(), right.trade());
    Ok(())
}

pub(crate) fn same_state(left: &Strategy, right: &Strategy) -> Result<(), TestCaseError> {
    same_decisions(left, right)?;
    prop_assert_eq!(left.data_points(), right.data_points());
    prop_assert_eq!(left.candles_seen(), right.candles_seen());
    let left_candles: Vec<Candle> = left.recent_candles().copied().collect();
    let right_candles: Vec<Candle> = right.recent_candles().copied().collect();
    prop_assert_eq!(left_candles, right_candles);
    Ok(())
}

/// How many of the newest held candles a restore gets: one window and `extra` more,
/// or all of them when fewer are held (then they are all candles since the last clear).
fn restored_count(held: usize, window: usize, extra: usize) -> usize {
    held.min(window + extra)
}

/// A strategy restored from `strategy`'s newest candles, how many candles since the
/// last clear it lacks, and whether it got the whole held history.
pub(crate) fn restore_from(strategy: &Strategy, extra: usize) -> (Strategy, u64, bool) {
    let held: Vec<Candle> = strategy.recent_candles().copied().collect();
    let count = restored_count(held.len(), strategy.params().window(), extra);
    let restored = Strategy::restore(
        *strategy.params(),
        held[held.len() - count..].iter().copied(),
        strategy.levels(),
        strategy.position().clone(),
    );
    let missing = strategy.candles_seen() - count as u64;
    (restored, missing, count == held.len())
}
