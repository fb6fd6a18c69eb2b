//! Keeping the broker's API connection open while trades are open.
//!
//! With the ticker live, an open trade makes no REST call until its exit; an idle
//! connection is dropped by the HTTP client (reqwest: after 90 s) or by a proxy on
//! the way, and the exit would then wait for a new TCP and TLS connect. While at
//! least one trade is open, [`Engine::keep_warm_step`] asks the broker to keep its
//! connection warm (one light read when nothing else went out for a while; see
//! [`crate::Broker::keep_warm`]). With no trade open nothing is sent.

use std::time::Duration;

use crate::{Engine, EngineError};

/// How often the engine checks whether the connection needs a request.
pub(crate) const EVERY: Duration = Duration::from_secs(10);

/// Calls [`Engine::keep_warm_step`] every [`EVERY`] until the engine stops.
pub(crate) fn spawn_loop(engine: &Engine) {
    crate::engine::spawn_step_loop(engine, EVERY, |engine| async move {
        engine.keep_warm_step().await.map(drop)
    });
}

impl Engine {
    /// One keep-warm check: with a trade open, the broker sends a light request if
    /// its connection went quiet. Returns whether one was sent. A failed request is
    /// logged and counted with the broker errors; it changes nothing else (a dead
    /// token is flagged by the broker as on any call).
    pub async fn keep_warm_step(&self) -> Result<bool, EngineError> {
        if self.inner.gate.open_trades() == 0 {
            return Ok(false);
        }
        match self.inner.broker.keep_warm().await {
            Ok(sent) => Ok(sent),
            Err(error) => {
                self.inner.broker_errors.count(&error);
                tracing::warn!(%error, "keep-warm request to the broker failed");
                Ok(false)
            }
        }
    }
}
