//! The kill switch and MIS square-off at the engine level: the durable kill-switch
//! state, [`Engine::enforce_step`] (flatten, square-off) and the thin loop that calls
//! it every second.
//!
//! The kill switch is stored as `kill_switch` events in the append-only event log; at
//! start the last one wins over the configured state, so a restart never silently
//! re-enables trading. A state change is committed before it takes effect.

use std::time::Duration;

use jiff::civil::Time;
use tokio::sync::oneshot;

use crate::gate::{Gate, RiskStatus};
use crate::market::{ist, ist_datetime};
use crate::report::ExitOutcome;
use crate::risk::KillSwitch;
use crate::shard::Command;
use crate::store::{Store, WriteOp};
use crate::{Engine, EngineConfig, EngineError, Symbol};

/// What one exit of a sweep did, per symbol.
pub type SweepOutcome = Vec<(Symbol, Result<ExitOutcome, EngineError>)>;

/// The gate at start: the stored kill switch (else the configured one) and the P&L
/// of trades closed earlier today (IST).
pub(crate) async fn open_gate(store: &Store, config: &EngineConfig) -> Result<Gate, EngineError> {
    let stored = store.last_kill_switch().await?;
    let switch = match stored.as_deref().map(KillSwitch::parse) {
        Some(Some(stored)) => {
            if stored != config.kill_switch {
                tracing::warn!(
                    stored = stored.as_str(),
                    configured = config.kill_switch.as_str(),
                    "the kill switch stored by the last run wins over the configured one"
                );
            }
            stored
        }
        Some(None) => {
            tracing::error!("unreadable stored kill switch; starting halted");
            KillSwitch::Halted
        }
        None => config.kill_switch,
    };
    let now = config.clock.now();
    let midnight = ist_datetime(now).date().to_datetime(Time::midnight());
    let (_, realized) = store
        .closed_totals(ist().to_timestamp(midnight).ok())
        .await?;
    if switch != KillSwitch::Active {
        tracing::warn!(
            kill_switch = switch.as_str(),
            "no new entries until POST /risk/resume"
        );
    }
    Ok(Gate::new(config, switch, realized))
}

/// Calls [`Engine::enforce_step`] every `every` until the engine stops; a failed
/// step is logged and the next one runs as usual.
pub(crate) fn spawn_loop(engine: &Engine, every: Duration) {
    crate::engine::spawn_step_loop(engine, every, |engine| async move {
        match engine.enforce_step().await {
            Err(EngineError::Stopped) => Err(EngineError::Stopped),
            Err(error) => {
                tracing::error!(%error, "risk enforcement step failed");
                Ok(())
            }
            Ok(_) => Ok(()),
        }
    });
}

impl Engine {
    /// Where the engine stands on risk: kill switch, limits, today's P&L, open trades.
    pub fn risk_status(&self) -> RiskStatus {
        self.inner.gate.status()
    }

    /// Sets the kill switch, durably first. `Flatten` then exits every open trade at
    /// once and, when none is left open, becomes `Halted`.
    pub async fn set_kill_switch(&self, switch: KillSwitch) -> Result<RiskStatus, EngineError> {
        self.store_switch(switch).await?;
        if switch == KillSwitch::Flatten {
            self.enforce_step().await?;
        }
        Ok(self.risk_status())
    }

    async fn store_switch(&self, switch: KillSwitch) -> Result<(), EngineError> {
        let was = self.inner.gate.switch();
        let detail = serde_json::json!({"state": switch.as_str(), "was": was.as_str()});
        let event = WriteOp::Event {
            symbol: None,
            kind: "kill_switch",
            detail,
        };
        self.inner.store.commit(vec![event]).await?;
        self.inner.gate.set_switch(switch);
        tracing::warn!(
            kill_switch = switch.as_str(),
            was = was.as_str(),
            "kill switch set"
        );
        Ok(())
    }

    /// One enforcement step (the background loop's body, which tests call directly):
    /// with the kill switch at `flatten`, or at and after the MIS square-off time on a
    /// trading day, every open trade is exited through the normal exit path. A
    /// flatten that leaves nothing open becomes `halted`.
    pub async fn enforce_step(&self) -> Result<SweepOutcome, EngineError> {
        let gate = &self.inner.gate;
        let flatten = gate.switch() == KillSwitch::Flatten;
        let square_off = gate
            .market()
            .is_some_and(|market| market.square_off_due(gate.now()));
        if !flatten && !square_off {
            return Ok(Vec::new());
        }
        let why = if flatten {
            "kill switch: flatten"
        } else {
            "MIS square-off"
        };
        let outcomes = self.exit_all(why).await?;
        if flatten && gate.status().open_trades == 0 {
            self.store_switch(KillSwitch::Halted).await?;
        }
        Ok(outcomes)
    }

    async fn exit_all(&self, why: &'static str) -> Result<SweepOutcome, EngineError> {
        let mut waiting = Vec::with_capacity(self.inner.shards.len());
        for shard in &self.inner.shards {
            let (reply, answer) = oneshot::channel();
            shard
                .send(Command::ExitAll(why, reply))
                .await
                .map_err(|_| EngineError::Stopped)?;
            waiting.push(answer);
        }
        let mut all = Vec::new();
        for answer in waiting {
            all.extend(answer.await.map_err(|_| EngineError::Stopped)??);
        }
        Ok(all)
    }
}
