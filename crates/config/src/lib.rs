//! kitebreak's configuration: one TOML file plus the environment (which wins), plus
//! the flags of `serve` (which win over both), loaded once into one typed tree
//! ([`Config`]) and validated into [`Settings`].
//!
//! - Unknown keys are refused, in the file and in `KITEBREAK_*` variables alike.
//! - Every error names the key and where its value came from (the file's path, the
//!   environment variable, the flag), and all of them are reported at once.
//! - Each default is set once, in `tree` (taken from the crate that owns the setting
//!   where there is one).
//! - Secrets are never configuration keys: they come from the environment or a
//!   private file (`secrets`), are wrapped in [`Secret`], and [`Loaded::render`]
//!   (`serve --print-config`) shows only whether each is set.
//! - `[risk]` and `[market]` become the engine's `RiskLimits` and `MarketRules`,
//!   which it enforces; `[orders] protection` (with the product) becomes
//!   `EngineConfig::protection`, and `exchange`, `product` and `market_protection`
//!   reach the Kite adapter through the binary (`kitebreak serve --broker kite`).
//!
//! This crate reads files and is handed the environment; it starts nothing. It
//! builds the engine's and the server's own settings types (`Settings::server_config`)
//! so those crates never see a file format.

mod civil;
mod error;
mod market;
mod orders;
mod render;
mod secrets;
mod settings;
mod sources;
mod tree;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};

pub use error::{ConfigError, Problem};
pub use market::{MarketClock, RiskLimits};
pub use orders::{Exchange, MarketProtection, OrderDefaults, OrderType, Product, ProtectionMode};
pub use secrets::{
    API_TOKEN, KITE_ACCESS_TOKEN, KITE_API_KEY, KITE_API_SECRET, Secret, Secrets, WEBHOOK_SECRET,
};
pub use settings::{DATABASE_FILE, Settings};
pub use sources::{CONFIG_VARIABLE, ENV_PREFIX, Flags, Sources};
pub use tree::{
    BrokerKind, Config, FeedSection, KillSwitch, MarketSection, OrdersSection, PaperSection,
    RiskSection, ServerSection, StrategySection, SymbolOverride,
};

/// A loaded configuration: the effective tree and its validated settings.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The merged tree, as `--print-config` shows it.
    pub config: Config,
    /// The same, validated.
    pub settings: Settings,
    /// The file it was read from, if any.
    pub file: Option<std::path::PathBuf>,
}

/// Loads and validates the configuration from `sources`.
pub fn load(sources: Sources) -> Result<Loaded, ConfigError> {
    let env = sources::EnvProvider::new(&sources.env).map_err(ConfigError::Invalid)?;
    let mut figment = Figment::new().merge(Serialized::defaults(Config::default()));
    if let Some(path) = &sources.file {
        // figment skips a missing file; one named on the command line must exist.
        std::fs::File::open(path).map_err(|source| ConfigError::File {
            path: path.clone(),
            source,
        })?;
        figment = figment.merge(Toml::file_exact(path));
    }
    let figment = figment.merge(env).merge(sources.flags);
    let config: Config = figment.extract().map_err(error::from_figment)?;
    let secrets = Secrets::from_env(&sources.env)?;
    let settings = settings::validate(&config, &figment, secrets)?;
    Ok(Loaded {
        config,
        settings,
        file: sources.file,
    })
}

impl Loaded {
    /// The effective configuration as TOML, with secrets shown only as set or not.
    /// The output loads again as a config file.
    pub fn render(&self) -> String {
        render::render(self)
    }
}
