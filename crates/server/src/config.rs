//! [`ServerConfig`]: everything `serve` needs, built by the binary from its
//! configuration file, flags and environment.

use kitebreak_engine::EngineConfig;

/// A secret string (webhook passphrase, API token): never printed, compared in
/// constant time.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret; `None` for an empty string (an unset environment variable
    /// often arrives as one).
    pub fn new(value: impl Into<String>) -> Option<Secret> {
        let value = value.into();
        (!value.is_empty()).then_some(Secret(value))
    }

    /// True when `candidate` equals the secret. The time taken depends only on the
    /// lengths, not on where the first difference is.
    pub fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), candidate.as_bytes());
        let mut difference = a.len() ^ b.len();
        for (i, byte) in a.iter().enumerate() {
            let other = b.get(i % b.len().max(1)).copied().unwrap_or(0);
            difference |= usize::from(byte ^ other);
        }
        difference == 0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Settings of the HTTP server and the engine behind it.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The engine's settings (database file, shards, strategy parameters).
    pub engine: EngineConfig,
    /// Paper fills are this many basis points worse than the last price.
    pub paper_slippage_bps: u32,
    /// When set, webhook bodies must carry it as `"passphrase"`.
    pub webhook_secret: Option<Secret>,
    /// When set, control endpoints require `Authorization: Bearer <token>`.
    pub api_token: Option<Secret>,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
}

impl ServerConfig {
    /// The default body limit: 64 KiB, far above any alert.
    pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

    /// A paper server on `engine` with no secrets, no slippage and the default limit.
    pub fn new(engine: EngineConfig) -> ServerConfig {
        ServerConfig {
            engine,
            paper_slippage_bps: 0,
            webhook_secret: None,
            api_token: None,
            body_limit: Self::DEFAULT_BODY_LIMIT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_themselves_and_never_print() {
        let secret = Secret::new("hunter2").expect("non-empty");
        assert!(secret.matches("hunter2"));
        for wrong in ["", "hunter", "hunter22", "Hunter2", "xxxxxxx"] {
            assert!(!secret.matches(wrong), "{wrong:?} matched");
        }
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert!(Secret::new("").is_none());
    }
}
