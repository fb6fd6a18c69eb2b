//! Sessions: the login URL, the request-token exchange, the token file (mode 0600)
//! and the shared "session expired" state every part of the adapter watches.
//!
//! One [`SessionState`] per process: the broker and the ticker read the current
//! access token from it, any TokenException flips it to expired, and a new token
//! (from [`exchange_request_token`], [`SessionState::set`] or the file changing,
//! see [`SessionState::reload_from_file`]) flips it back, ticker included.

use std::io::Write;
use std::path::Path;

use jiff::Timestamp;
use kiteconnect::AccessToken;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::config::KiteConfig;
use crate::error::KiteError;
use crate::time;

/// What the session file holds. The token is redacted in Debug.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredSession {
    /// The API key the token belongs to.
    pub api_key: String,
    /// Kite user id.
    pub user_id: String,
    /// The user's name, as Kite reports it.
    pub user_name: String,
    /// The access token.
    pub access_token: AccessToken,
    /// When Kite kills the token (06:00 IST after login).
    pub expires_at: Timestamp,
}

/// The session as everyone sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    /// The current token, if any.
    pub token: Option<AccessToken>,
    /// True after a TokenException until a new token arrives: entries should pause.
    pub expired: bool,
    /// Bumped on every new token.
    pub generation: u64,
}

/// The shared session state (cheap to clone; all clones see one state).
#[derive(Debug, Clone)]
pub struct SessionState {
    tx: watch::Sender<SessionStatus>,
}

impl SessionState {
    /// A state holding `token` (or none).
    pub fn new(token: Option<AccessToken>) -> SessionState {
        let (tx, _) = watch::channel(SessionStatus {
            token,
            expired: false,
            generation: 0,
        });
        SessionState { tx }
    }

    /// The current status.
    pub fn status(&self) -> SessionStatus {
        self.tx.borrow().clone()
    }

    /// A receiver that wakes on every change (new token, expiry).
    pub fn subscribe(&self) -> watch::Receiver<SessionStatus> {
        self.tx.subscribe()
    }

    /// True while the last call failed with TokenException and no new token came.
    pub fn is_expired(&self) -> bool {
        self.tx.borrow().expired
    }

    /// Installs a new token: not expired, generation bumped (the ticker reconnects).
    pub fn set(&self, token: AccessToken) {
        self.tx.send_modify(|s| {
            if s.token.as_ref() != Some(&token) || s.expired {
                s.token = Some(token);
                s.expired = false;
                s.generation += 1;
            }
        });
    }

    /// Marks the session expired (after a TokenException); logged once per token.
    pub fn mark_expired(&self) {
        self.tx.send_if_modified(|s| {
            let changed = !s.expired;
            s.expired = true;
            if changed {
                tracing::error!("kite session expired: run `kitebreak login`");
            }
            changed
        });
    }

    /// Reads the session file and installs its token if it differs from the current
    /// one. Returns true when a new token was installed.
    pub fn reload_from_file(&self, config: &KiteConfig) -> Result<bool, KiteError> {
        let Some(stored) = load_session(config)? else {
            return Ok(false);
        };
        // The same token (alive, or dead after a TokenException) changes nothing:
        // only a new login's token does.
        if self.status().token.as_ref() == Some(&stored.access_token) {
            return Ok(false);
        }
        self.set(stored.access_token);
        Ok(true)
    }

    /// Polls the session file every `every` and installs new tokens (a `kitebreak
    /// login` in another process). Abort the returned task to stop.
    pub fn spawn_file_watch(
        &self,
        config: KiteConfig,
        every: std::time::Duration,
    ) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                if let Err(error) = state.reload_from_file(&config) {
                    tracing::warn!(%error, "reading the kite session file");
                }
            }
        })
    }
}

/// The browser login URL for an API key.
pub fn login_url(api_key: &str) -> Result<String, KiteError> {
    let client = kiteconnect::KiteConnect::builder(api_key)
        .build()
        .map_err(KiteError::Setup)?;
    Ok(client.login_url())
}

/// Exchanges a request token (checksum = sha256(api_key + request_token + api_secret),
/// computed by the official client) for a session, stores it in the data directory
/// (mode 0600) and returns it.
pub async fn exchange_request_token(
    config: &KiteConfig,
    request_token: &str,
) -> Result<StoredSession, KiteError> {
    let secret = config
        .api_secret
        .as_ref()
        .ok_or_else(|| KiteError::InvalidInput("the API secret is needed to log in".into()))?;
    let client = config.client(None)?;
    let session = client
        .generate_session(request_token, secret)
        .await
        .map_err(KiteError::from_read)?;
    let login = time::ist_to_timestamp(session.login_time)?;
    let stored = StoredSession {
        api_key: config.api_key.clone(),
        user_id: session.profile.user_id.clone(),
        user_name: session.profile.user_name.clone(),
        access_token: session.access_token.clone(),
        expires_at: time::token_expiry(login),
    };
    save_session(config, &stored)?;
    Ok(stored)
}

/// Reads the session file, if there is one for this API key.
pub fn load_session(config: &KiteConfig) -> Result<Option<StoredSession>, KiteError> {
    let path = config.session_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io("reading", &path, source)),
    };
    let stored: StoredSession = serde_json::from_str(&text)
        .map_err(|e| KiteError::Decode(format!("{}: {e}", path.display())))?;
    Ok((stored.api_key == config.api_key).then_some(stored))
}

/// Writes the session file atomically, readable and writable by the owner only.
pub fn save_session(config: &KiteConfig, stored: &StoredSession) -> Result<(), KiteError> {
    let path = config.session_path();
    std::fs::create_dir_all(&config.data_dir).map_err(|e| io("creating", &config.data_dir, e))?;
    let temp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(stored)
        .map_err(|e| KiteError::Decode(format!("session: {e}")))?;
    write_private(&temp, &text).map_err(|e| io("writing", &temp, e))?;
    std::fs::rename(&temp, &path).map_err(|e| io("replacing", &path, e))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path)?;
        // An older file keeps its mode on open; force 0600 either way.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(bytes)?;
        file.sync_all()
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path)?;
        file.write_all(bytes)?;
        file.sync_all()
    }
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> KiteError {
    KiteError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
