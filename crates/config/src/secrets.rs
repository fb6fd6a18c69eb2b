//! Secrets: read only from the environment, or from a file only its owner can read,
//! and wrapped so they cannot be printed.
//!
//! Each secret `NAME` comes from the variable `NAME`, or from the file named by
//! `NAME_FILE` (the convention of container secrets). A file that its group or
//! others can read is refused rather than used, and setting both is refused rather
//! than guessed. Nothing here ever puts a secret's value into an error message.

use std::path::Path;

use crate::ConfigError;

/// A secret value. Its `Debug` shows `Secret(***)`; it has no `Display` and no
/// `Serialize`, so it cannot end up in logs, responses or printed configuration by
/// accident. [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value; `None` when it is empty (an unset variable often arrives as
    /// an empty one).
    pub fn new(value: impl Into<String>) -> Option<Secret> {
        let value = value.into();
        (!value.is_empty()).then_some(Secret(value))
    }

    /// The value, for the one place that needs it (a comparison, a Kite call).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Kite's API key.
pub const KITE_API_KEY: &str = "KITE_API_KEY";
/// Kite's API secret.
pub const KITE_API_SECRET: &str = "KITE_API_SECRET";
/// A Kite access token (optional: `login` stores one in the data directory).
pub const KITE_ACCESS_TOKEN: &str = "KITE_ACCESS_TOKEN";
/// The webhook passphrase.
pub const WEBHOOK_SECRET: &str = "KITEBREAK_WEBHOOK_SECRET";
/// The bearer token of control endpoints.
pub const API_TOKEN: &str = "KITEBREAK_API_TOKEN";

/// Every secret's variable name, in the order `print-config` lists them.
pub const NAMES: [&str; 5] = [
    KITE_API_KEY,
    KITE_API_SECRET,
    KITE_ACCESS_TOKEN,
    WEBHOOK_SECRET,
    API_TOKEN,
];

/// True for the variables this module reads (`NAME` and `NAME_FILE`), which are not
/// configuration keys.
pub(crate) fn is_secret_variable(name: &str) -> bool {
    let base = name.strip_suffix("_FILE").unwrap_or(name);
    NAMES.contains(&base)
}

/// All secrets, each present or not.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// `KITE_API_KEY`.
    pub kite_api_key: Option<Secret>,
    /// `KITE_API_SECRET`.
    pub kite_api_secret: Option<Secret>,
    /// `KITE_ACCESS_TOKEN`.
    pub kite_access_token: Option<Secret>,
    /// `KITEBREAK_WEBHOOK_SECRET`.
    pub webhook_secret: Option<Secret>,
    /// `KITEBREAK_API_TOKEN`.
    pub api_token: Option<Secret>,
}

impl Secrets {
    /// Reads every secret from `env` (the process environment, or a test's).
    pub fn from_env(env: &[(String, String)]) -> Result<Secrets, ConfigError> {
        Ok(Secrets {
            kite_api_key: read(env, KITE_API_KEY)?,
            kite_api_secret: read(env, KITE_API_SECRET)?,
            kite_access_token: read(env, KITE_ACCESS_TOKEN)?,
            webhook_secret: read(env, WEBHOOK_SECRET)?,
            api_token: read(env, API_TOKEN)?,
        })
    }

    /// The secret read from variable `name` (one of [`NAMES`]).
    pub fn get(&self, name: &str) -> Option<&Secret> {
        match name {
            KITE_API_KEY => self.kite_api_key.as_ref(),
            KITE_API_SECRET => self.kite_api_secret.as_ref(),
            KITE_ACCESS_TOKEN => self.kite_access_token.as_ref(),
            WEBHOOK_SECRET => self.webhook_secret.as_ref(),
            API_TOKEN => self.api_token.as_ref(),
            _ => None,
        }
    }
}

fn lookup<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .filter(|value| !value.is_empty())
}

fn read(env: &[(String, String)], name: &'static str) -> Result<Option<Secret>, ConfigError> {
    let file_variable = format!("{name}_FILE");
    match (lookup(env, name), lookup(env, &file_variable)) {
        (Some(_), Some(_)) => Err(ConfigError::Secret {
            name: name.into(),
            reason: format!("both {name} and {file_variable} are set; set only one"),
        }),
        (Some(value), None) => Ok(Secret::new(value.trim())),
        (None, Some(path)) => read_file(name, Path::new(path)).map(Secret::new),
        (None, None) => Ok(None),
    }
}

/// Reads a secret file, refusing one that its group or others could read.
fn read_file(name: &str, path: &Path) -> Result<String, ConfigError> {
    let fail = |reason: String| ConfigError::Secret {
        name: format!("{name}_FILE"),
        reason,
    };
    let metadata = std::fs::metadata(path)
        .map_err(|error| fail(format!("cannot read {}: {error}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(fail(format!(
                "{} can be read by others (mode {mode:o}); `chmod 600` it",
                path.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    let text = std::fs::read_to_string(path)
        .map_err(|error| fail(format!("cannot read {}: {error}", path.display())))?;
    Ok(text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn secrets_come_from_variables_and_never_print() {
        let secrets = Secrets::from_env(&env(&[(API_TOKEN, " tok-123 "), (WEBHOOK_SECRET, "")]))
            .expect("valid");
        let token = secrets.api_token.as_ref().expect("set");
        assert_eq!(token.expose(), "tok-123");
        assert!(secrets.webhook_secret.is_none(), "empty means unset");
        assert!(!format!("{secrets:?}").contains("tok-123"));
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("token");
        std::fs::write(&path, "from-file\n").expect("write");
        let path_text = path.display().to_string();
        let vars = env(&[("KITEBREAK_API_TOKEN_FILE", &path_text)]);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = Secrets::from_env(&vars).expect_err("world-readable file refused");
        assert!(error.to_string().contains("chmod 600"), "{error}");
        assert!(!error.to_string().contains("from-file"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let secrets = Secrets::from_env(&vars).expect("private file accepted");
        assert_eq!(
            secrets.api_token.map(|s| s.expose().to_owned()),
            Some("from-file".into())
        );
    }

    #[test]
    fn a_secret_set_twice_is_refused() {
        let vars = env(&[(API_TOKEN, "a"), ("KITEBREAK_API_TOKEN_FILE", "/x")]);
        let error = Secrets::from_env(&vars).expect_err("ambiguous");
        assert!(error.to_string().contains("set only one"), "{error}");
    }
}
