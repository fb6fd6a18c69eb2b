//! [`EngineConfig`]: what the engine needs to start, already validated.

use std::collections::HashMap;
use std::path::PathBuf;

use kitebreak_strategy::StrategyParams;

use crate::Symbol;

/// Settings of one engine. The binary builds this from its configuration file and
/// flags; tests build it directly.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The SQLite database file (created if missing).
    pub database: PathBuf,
    /// How many shard tasks own the symbols (at least 1).
    pub shards: usize,
    /// Strategy parameters for symbols without an override.
    pub strategy: StrategyParams,
    /// Per-symbol parameter overrides.
    pub symbol_params: HashMap<Symbol, StrategyParams>,
}

impl EngineConfig {
    /// Defaults for everything but the database file: 4 shards, default parameters.
    pub fn new(database: impl Into<PathBuf>) -> EngineConfig {
        EngineConfig {
            database: database.into(),
            shards: 4,
            strategy: StrategyParams::default(),
            symbol_params: HashMap::new(),
        }
    }

    /// The parameters `symbol` runs with.
    pub fn params_for(&self, symbol: &Symbol) -> StrategyParams {
        self.symbol_params
            .get(symbol)
            .copied()
            .unwrap_or(self.strategy)
    }
}
