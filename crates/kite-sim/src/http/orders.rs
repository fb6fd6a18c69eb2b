//! Order and GTT endpoints: `/orders*`, `/trades`, `/gtt/triggers*`.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use serde_json::{Value, json};

use crate::http::reply::{ApiError, ApiResult, Segments, ok};
use crate::json;
use crate::params::Params;
use crate::shared::Shared;

/// `POST /orders/{variety}`.
pub async fn place(
    State(shared): State<Arc<Shared>>,
    Segments(variety): Segments<String>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let second = shared.rate_second();
    let (placed, lost) = shared.with_world(|world, now| {
        let placed = world.place(&variety, &params, now, second);
        let lost = placed.is_ok() && world.faults.take_lost_response();
        (placed, lost)
    });
    let order_id = placed?;
    if lost {
        // Fault: the order stands, but the client never hears so.
        std::future::pending::<()>().await;
    }
    Ok(ok(json!({"order_id": order_id})))
}

/// `PUT /orders/{variety}/{order_id}`.
pub async fn modify(
    State(shared): State<Arc<Shared>>,
    Segments((variety, order_id)): Segments<(String, String)>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let order_id = shared.with_world(|world, now| {
        let token = world.book.order(&order_id).map(|o| o.token);
        let last = token.and_then(|t| world.market.quote(t)).map(|q| q.last);
        world.book.modify(&variety, &order_id, &params, now, last)
    })?;
    Ok(ok(json!({"order_id": order_id})))
}

/// `DELETE /orders/{variety}/{order_id}`.
pub async fn cancel(
    State(shared): State<Arc<Shared>>,
    Segments((variety, order_id)): Segments<(String, String)>,
) -> ApiResult {
    let order_id = shared.with_world(|world, now| world.book.cancel(&variety, &order_id, now))?;
    Ok(ok(json!({"order_id": order_id})))
}

/// `GET /orders`.
pub async fn orders(State(shared): State<Arc<Shared>>) -> ApiResult {
    let user = &shared.config.user_id;
    let list: Vec<Value> = shared.with_world(|w, _| {
        w.book
            .orders()
            .iter()
            .map(|o| json::order(o, user))
            .collect()
    });
    Ok(ok(Value::Array(list)))
}

/// `GET /orders/{order_id}`: every state the order went through, oldest first.
pub async fn history(
    State(shared): State<Arc<Shared>>,
    Segments(order_id): Segments<String>,
) -> ApiResult {
    let user = &shared.config.user_id;
    let list = shared.with_world(|w, _| {
        w.book.order(&order_id).map(|o| {
            o.history
                .iter()
                .map(|s| json::order(s, user))
                .collect::<Vec<_>>()
        })
    });
    list.map(|l| ok(Value::Array(l)))
        .ok_or_else(|| ApiError::input("Couldn't find that `order_id`."))
}

/// `GET /trades`.
pub async fn trades(State(shared): State<Arc<Shared>>) -> ApiResult {
    let list: Vec<Value> =
        shared.with_world(|w, _| w.book.trades().iter().map(json::trade).collect());
    Ok(ok(Value::Array(list)))
}

/// `GET /orders/{order_id}/trades`.
pub async fn order_trades(
    State(shared): State<Arc<Shared>>,
    Segments(order_id): Segments<String>,
) -> ApiResult {
    let list: Vec<Value> = shared.with_world(|w, _| {
        w.book
            .trades()
            .iter()
            .filter(|t| t.order_id == order_id)
            .map(json::trade)
            .collect()
    });
    Ok(ok(Value::Array(list)))
}

/// `POST /gtt/triggers`.
pub async fn place_gtt(
    State(shared): State<Arc<Shared>>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let id = shared
        .with_world(|w, now| w.place_gtt(&params, now))
        .map_err(ApiError::input)?;
    Ok(ok(json!({"trigger_id": id})))
}

/// `GET /gtt/triggers`.
pub async fn gtts(State(shared): State<Arc<Shared>>) -> ApiResult {
    let user = &shared.config.user_id;
    let list: Vec<Value> = shared.with_world(|w, _| {
        w.gtts
            .iter()
            .filter(|g| g.status != "deleted")
            .map(|g| json::gtt(g, user))
            .collect()
    });
    Ok(ok(Value::Array(list)))
}

/// `GET /gtt/triggers/{id}`.
pub async fn gtt(State(shared): State<Arc<Shared>>, Segments(id): Segments<i64>) -> ApiResult {
    let user = &shared.config.user_id;
    shared
        .with_world(|w, _| {
            w.gtts
                .iter()
                .find(|g| g.id == id)
                .map(|g| json::gtt(g, user))
        })
        .map(ok)
        .ok_or_else(|| ApiError::input("No trigger with that id."))
}

/// `PUT /gtt/triggers/{id}`.
pub async fn modify_gtt(
    State(shared): State<Arc<Shared>>,
    Segments(id): Segments<i64>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let id = shared
        .with_world(|w, now| w.modify_gtt(id, &params, now))
        .map_err(ApiError::input)?;
    Ok(ok(json!({"trigger_id": id})))
}

/// `DELETE /gtt/triggers/{id}`.
pub async fn delete_gtt(
    State(shared): State<Arc<Shared>>,
    Segments(id): Segments<i64>,
) -> ApiResult {
    let id = shared
        .with_world(|w, now| w.delete_gtt(id, now))
        .map_err(ApiError::input)?;
    Ok(ok(json!({"trigger_id": id})))
}
