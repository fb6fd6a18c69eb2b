//! Lifting a trade's SL-M stop before kitebreak's own exit: cancelled first, so never
//! two closing orders are out at once; a stop of unknown outcome is not taken as never
//! placed until its look-up window is over.

use super::super::unsettled::LOOKUP_WINDOW;
use super::{Book, Context, ended, oco, record_of};
use crate::Symbol;
use crate::report::OrderRecord;
use crate::shard::orders::{event, fill_of};

/// How lifting the stop before an exit went.
pub(crate) enum Lift {
    /// No stop rests any more: send the exit.
    Clear,
    /// The stop filled (wholly or in part) before it could be cancelled.
    Filled(OrderRecord),
    /// The stop may still be working: send nothing.
    Failed(String),
}

/// Cancels the symbol's stop before kitebreak's own exit.
pub(crate) async fn lift(ctx: &Context, symbol: &Symbol, book: &mut Book) -> Lift {
    let Some(guard) = book.protection.clone() else {
        return Lift::Clear;
    };
    if guard.oco.is_some() {
        return oco::lift(ctx, symbol, book, guard).await;
    }
    let id = match &guard.order_id {
        Some(id) => id.clone(),
        None => match ctx.broker.find_by_tag(&guard.tag).await {
            Ok(Some(found)) => found.order_id,
            Ok(None) if !guard.may_be_lost(ctx.gate.now()) => {
                return not_shown_yet(&format!("stop {}", guard.tag));
            }
            Ok(None) => {
                book.protection = None;
                let row = ended(&guard.tag, "LOST", None, "not in the broker's order book");
                if let Err(error) = ctx.store.commit(vec![row]).await {
                    tracing::warn!(%symbol, %error, "lost stop not stored");
                }
                return Lift::Clear;
            }
            Err(error) => {
                ctx.broker_errors.count(&error);
                return Lift::Failed(format!(
                    "stop {} could not be looked up ({error}); no exit sent while it may rest",
                    guard.tag
                ));
            }
        },
    };
    match ctx.broker.cancel(&id).await {
        Ok(status) => {
            book.protection = None;
            let record = record_of(symbol, &guard, id.clone(), status);
            if fill_of(&record).is_some() {
                return Lift::Filled(record);
            }
            tracing::info!(%symbol, tag = %guard.tag, "exchange-side stop cancelled before the exit");
            let detail = serde_json::json!({"tag": guard.tag, "order_id": id});
            let writes = vec![
                ended(
                    &guard.tag,
                    "CANCELLED",
                    Some(id),
                    "cancelled before kitebreak's exit",
                ),
                event(symbol, "protection_cancelled", detail),
            ];
            if let Err(error) = ctx.store.commit(writes).await {
                // Still PENDING on disk: a restart finds it cancelled by its tag.
                tracing::warn!(%symbol, %error, "cancelled stop not stored");
            }
            Lift::Clear
        }
        Err(error) => {
            ctx.broker_errors.count(&error);
            Lift::Failed(format!(
                "stop {} not cancelled ({error}); no exit sent while it may be working",
                guard.tag
            ))
        }
    }
}

/// The lift of a guard whose placement's outcome is unknown and that the broker does
/// not show yet: nothing may go out beside it (`what` names it: "stop KB…").
pub(super) fn not_shown_yet(what: &str) -> Lift {
    Lift::Failed(format!(
        "{what} has an unknown outcome and is not at the broker yet; no exit is sent \
         beside it until it is found or {} s have passed",
        LOOKUP_WINDOW.as_secs()
    ))
}
