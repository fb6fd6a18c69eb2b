//! [`ConfigError`]: what is wrong with the configuration, naming the key and where
//! its value came from (the file, an environment variable, a flag).

use std::fmt;
use std::path::PathBuf;

use figment::error::Kind;
use figment::{Figment, Metadata, Profile, Source};

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `--config` file could not be opened.
    #[error("cannot read the config file {path}")]
    File {
        /// The file as given.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// One or more keys are unknown or hold invalid values.
    #[error("{}", Problems(.0))]
    Invalid(Vec<Problem>),
    /// A secret could not be read (its value is never part of the message).
    #[error("{name}: {reason}")]
    Secret {
        /// The variable concerned.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// One bad key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The dotted key, as in the file (`server.listen`).
    pub key: String,
    /// Where its value came from: `in FILE`, `from environment variable NAME`, ...
    pub origin: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{} ({})", self.message, self.origin)
        } else {
            write!(f, "`{}` {}: {}", self.key, self.origin, self.message)
        }
    }
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid configuration: ")?;
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Says where a value came from, as a user would look for it.
pub(crate) fn origin(metadata: Option<&Metadata>, keys: &[String]) -> String {
    let Some(metadata) = metadata else {
        return "(source unknown)".into();
    };
    match &metadata.source {
        Some(Source::File(path)) => format!("in {}", path.display()),
        _ if metadata.name == crate::sources::ENV_NAME
            || metadata.name == crate::sources::FLAG_NAME =>
        {
            let native = metadata.interpolate(&Profile::Default, keys);
            format!("from {} {native}", metadata.name)
        }
        _ => format!("from {}", metadata.name),
    }
}

/// The problem a key's value causes, with its origin looked up in `figment`.
pub(crate) fn problem_at(figment: &Figment, key: &str, message: impl Into<String>) -> Problem {
    let keys: Vec<String> = key.split('.').map(str::to_owned).collect();
    Problem {
        key: key.to_owned(),
        origin: origin(figment.find_metadata(key), &keys),
        message: message.into(),
    }
}

/// Every error figment found while extracting the tree.
pub(crate) fn from_figment(error: figment::Error) -> ConfigError {
    let problems = error
        .into_iter()
        .map(|error| {
            let mut keys = error.path.clone();
            let message = match &error.kind {
                Kind::UnknownField(field, expected) => {
                    // figment's path usually ends with the field already.
                    if keys.last() != Some(field) {
                        keys.push(field.clone());
                    }
                    format!("unknown key (expected one of: {})", expected.join(", "))
                }
                Kind::UnknownVariant(found, expected) => {
                    format!(
                        "unknown value `{found}` (expected one of: {})",
                        expected.join(", ")
                    )
                }
                kind => kind.to_string(),
            };
            Problem {
                key: keys.join("."),
                origin: origin(error.metadata.as_ref(), &keys),
                message,
            }
        })
        .collect();
    ConfigError::Invalid(problems)
}
