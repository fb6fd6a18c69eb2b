//! Sessions: the login URL, the request-token exchange and the token file (mode
//! 0600) here; the shared "session expired" state every part of the adapter watches
//! in [`state`].
//!
//! How a token flows: `kitebreak login --request-token` or the HTTP login calls
//! [`exchange_request_token`], which writes the session file; a running process
//! installs it in its [`SessionState`] (directly after an HTTP login, or through
//! [`SessionState::spawn_file_watch`] when another process wrote the file).

mod state;

use std::io::Write;
use std::path::Path;

use jiff::Timestamp;
use kiteconnect::AccessToken;
use serde::{Deserialize, Serialize};

pub use state::{Expired, ExpiryCause, Now, SessionState, SessionStatus, system_now};

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

/// The browser login URL for the configured API key, on the configured login root
/// (`https://kite.zerodha.com` unless `--kite-login` says otherwise):
/// `{root}/connect/login?api_key=KEY&v=3`. `redirect_params` (a query string such
/// as `state=NONCE`) is passed along; Kite sends it back to the app's redirect URL.
/// `kitebreak login` and `GET /login` both build their URL here.
pub fn login_url(config: &KiteConfig, redirect_params: Option<&str>) -> Result<String, KiteError> {
    let root = config.login_root.trim_end_matches('/');
    let mut url = url::Url::parse(&format!("{root}/connect/login"))
        .map_err(|e| KiteError::InvalidInput(format!("login URL {root}: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(KiteError::InvalidInput(format!(
            "login URL {root}: must be http or https"
        )));
    }
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("api_key", &config.api_key)
            .append_pair("v", "3");
        if let Some(params) = redirect_params {
            query.append_pair("redirect_params", params);
        }
    }
    Ok(url.into())
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
