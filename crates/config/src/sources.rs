//! Where configuration values come from, lowest priority first: the defaults, the
//! `--config` file, environment variables, command-line flags.
//!
//! Environment variables are `KITEBREAK_` plus the key path in upper case with `__`
//! between levels: `KITEBREAK_SERVER__LISTEN`, `KITEBREAK_STRATEGY__SYMBOLS__INFY__LOOKBACK`.
//! figment's own `Env` provider reads the process environment directly and names
//! keys `SERVER.LISTEN` in errors; this one takes the variables as a list (so tests
//! need not touch the process environment) and names them as the user typed them.
//! Any other `KITEBREAK_*` variable that is not a secret is refused, as an unknown
//! key in the file is: a typo must not be silently ignored.

use std::path::PathBuf;

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

use crate::error::Problem;
use crate::secrets;

/// The prefix of configuration variables.
pub const ENV_PREFIX: &str = "KITEBREAK_";
/// The variable naming the config file (an alternative to `--config`).
pub const CONFIG_VARIABLE: &str = "KITEBREAK_CONFIG";
/// How errors name a value from the environment.
pub(crate) const ENV_NAME: &str = "environment variable";
/// How errors name a value from a flag.
pub(crate) const FLAG_NAME: &str = "command-line flag";

/// Everything configuration is loaded from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The TOML file, if one was given. A missing file is an error.
    pub file: Option<PathBuf>,
    /// The environment (`std::env::vars()` in the binary).
    pub env: Vec<(String, String)>,
    /// Values given as flags, which win over everything else.
    pub flags: Flags,
}

/// The `serve` flags that override configuration keys.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--listen` → `server.listen`.
    pub listen: Option<String>,
    /// `--data-dir` → `server.data_dir`.
    pub data_dir: Option<PathBuf>,
    /// `--broker` → `server.broker`.
    pub broker: Option<String>,
}

/// The configuration variables among `env`, as a figment provider.
pub(crate) struct EnvProvider {
    values: Vec<(String, String)>,
}

impl EnvProvider {
    /// Picks the configuration variables out of `env`; unknown `KITEBREAK_*` names
    /// are problems.
    pub(crate) fn new(env: &[(String, String)]) -> Result<EnvProvider, Vec<Problem>> {
        let mut values = Vec::new();
        let mut problems = Vec::new();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if secrets::is_secret_variable(name) || name == CONFIG_VARIABLE {
                continue;
            }
            let parts: Vec<&str> = rest.split("__").collect();
            if parts.len() < 2 || parts.iter().any(|part| part.is_empty()) {
                problems.push(Problem {
                    key: String::new(),
                    origin: format!("{ENV_NAME} {name}"),
                    message: format!(
                        "unknown variable `{name}`: configuration keys are set as \
                         {ENV_PREFIX}SECTION__KEY, e.g. {ENV_PREFIX}SERVER__LISTEN"
                    ),
                });
                continue;
            }
            values.push((key_path(&parts), value.clone()));
        }
        if problems.is_empty() {
            Ok(EnvProvider { values })
        } else {
            Err(problems)
        }
    }
}

/// The dotted key of a variable's parts: lower case, except a symbol name under
/// `strategy.symbols`, kept as typed so `KITEBREAK_STRATEGY__SYMBOLS__INFY__QUANTITY`
/// merges with the file's `[strategy.symbols.INFY]` instead of adding an `infy`.
fn key_path(parts: &[&str]) -> String {
    let is_symbol = |i: usize| {
        i == 2
            && parts[0].eq_ignore_ascii_case("strategy")
            && parts[1].eq_ignore_ascii_case("symbols")
    };
    let parts: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            if is_symbol(i) {
                (*part).to_owned()
            } else {
                part.to_ascii_lowercase()
            }
        })
        .collect();
    parts.join(".")
}

impl Provider for EnvProvider {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_NAME).interpolater(|_: &Profile, keys: &[&str]| {
            format!("{ENV_PREFIX}{}", keys.join("__").to_ascii_uppercase())
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut dict = Dict::new();
        for (key, text) in &self.values {
            // Figment reads `5`, `true`, `[1, 2]` as their types and anything else as
            // a string, exactly as its own `Env` provider does.
            let Ok(value) = text.parse::<Value>();
            if let Some(nested) = figment::util::nest(key, value).into_dict() {
                dict = merge(dict, nested);
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

impl Provider for Flags {
    fn metadata(&self) -> Metadata {
        Metadata::named(FLAG_NAME).interpolater(|_: &Profile, keys: &[&str]| {
            let last = keys.last().copied().unwrap_or_default();
            format!("--{}", last.replace('_', "-"))
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut server = Dict::new();
        if let Some(listen) = &self.listen {
            server.insert("listen".into(), Value::from(listen.clone()));
        }
        if let Some(dir) = &self.data_dir {
            server.insert(
                "data_dir".into(),
                Value::from(dir.to_string_lossy().into_owned()),
            );
        }
        if let Some(broker) = &self.broker {
            server.insert("broker".into(), Value::from(broker.clone()));
        }
        let mut dict = Dict::new();
        if !server.is_empty() {
            dict.insert("server".into(), Value::from(server));
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Merges two nested dictionaries, `right` winning on conflicts.
fn merge(mut left: Dict, right: Dict) -> Dict {
    for (key, value) in right {
        let merged = match (left.remove(&key), value) {
            (Some(Value::Dict(_, l)), Value::Dict(tag, r)) => Value::Dict(tag, merge(l, r)),
            (_, value) => value,
        };
        left.insert(key, merged);
    }
    left
}
