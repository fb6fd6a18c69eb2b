//! [`SessionState`]: the one shared view of the Kite session in a process.
//!
//! The broker and the ticker read the current access token from it; a TokenException
//! on any call, a refused ticker handshake or the token's expiry time (06:00 IST)
//! marks it expired ([`SessionState::mark_expired`], [`SessionState::expire_if_due`]);
//! a new token ([`SessionState::install`], from a login or the session file) makes it
//! usable again and bumps the generation, so the broker rebuilds its client and the
//! ticker reconnects. It is a `watch` channel: readers never block writers, and
//! anyone can wait for the next change.
//!
//! The loops here ([`SessionState::spawn_expiry_timer`],
//! [`SessionState::spawn_file_watch`]) are thin: each calls a single-step function
//! (`expire_if_due`, `reload_from_file`) that tests call directly, on a clock the
//! caller injects ([`Now`]).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use kiteconnect::AccessToken;
use tokio::sync::watch;

use super::{StoredSession, load_session};
use crate::config::KiteConfig;
use crate::error::KiteError;

/// Where the session's users read the time (the engine passes its own clock).
pub type Now = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock as a [`Now`].
pub fn system_now() -> Now {
    Arc::new(Timestamp::now)
}

/// The longest the expiry timer sleeps between checks, so a wall-clock jump is
/// noticed within this bound.
const MAX_NAP: Duration = Duration::from_secs(30);

/// Why the session can no longer be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryCause {
    /// Kite refused the token: a TokenException on a call, or the ticker's handshake.
    Refused,
    /// The token reached its expiry time (06:00 IST after the login).
    Elapsed,
    /// kitebreak ended the session itself (`KiteBroker::logout`).
    LoggedOut,
}

impl ExpiryCause {
    /// A stable name for JSON and metrics: `refused`, `elapsed` or `logged_out`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryCause::Refused => "refused",
            ExpiryCause::Elapsed => "elapsed",
            ExpiryCause::LoggedOut => "logged_out",
        }
    }

    /// What happened, for a human.
    pub fn describe(self) -> &'static str {
        match self {
            ExpiryCause::Refused => "Kite refused the access token (TokenException)",
            ExpiryCause::Elapsed => "the access token reached its expiry time (06:00 IST)",
            ExpiryCause::LoggedOut => "the session was logged out",
        }
    }
}

/// When and why the session expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    /// Why.
    pub cause: ExpiryCause,
    /// When it was noticed.
    pub since: Timestamp,
}

/// The session as everyone sees it. The token is redacted in Debug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    /// The current token, if any.
    pub token: Option<AccessToken>,
    /// Set after a TokenException or at the expiry time, until a new token arrives:
    /// entries should pause.
    pub expired: Option<Expired>,
    /// When the current token dies, when known (06:00 IST after its login).
    pub expires_at: Option<Timestamp>,
    /// Bumped on every new token.
    pub generation: u64,
    /// How many times the session went from usable to expired in this process.
    pub expiries: u64,
}

impl SessionStatus {
    /// True when there is a token that has not been found dead.
    pub fn is_usable(&self) -> bool {
        self.token.is_some() && self.expired.is_none()
    }
}

/// The shared session state (cheap to clone; all clones see one state).
#[derive(Debug, Clone)]
pub struct SessionState {
    tx: watch::Sender<SessionStatus>,
}

impl SessionState {
    /// A state holding `token` (or none), with no known expiry time.
    pub fn new(token: Option<AccessToken>) -> SessionState {
        SessionState::with_expiry(token, None)
    }

    /// A state holding `token`, which dies at `expires_at`.
    pub fn with_expiry(token: Option<AccessToken>, expires_at: Option<Timestamp>) -> SessionState {
        let (tx, _) = watch::channel(SessionStatus {
            token,
            expired: None,
            expires_at,
            generation: 0,
            expiries: 0,
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

    /// True while the token is known dead and no new one came.
    pub fn is_expired(&self) -> bool {
        self.tx.borrow().expired.is_some()
    }

    /// Installs a new token with no known expiry time (see [`SessionState::install`]).
    pub fn set(&self, token: AccessToken) {
        self.install(token, None);
    }

    /// Installs the session a login produced (the HTTP flow, the session file).
    pub fn adopt(&self, stored: &StoredSession) {
        self.install(stored.access_token.clone(), Some(stored.expires_at));
    }

    /// Installs a new token dying at `expires_at`: usable again, generation bumped (the
    /// broker rebuilds its client, the ticker reconnects). The same live token again
    /// changes nothing.
    pub fn install(&self, token: AccessToken, expires_at: Option<Timestamp>) {
        self.tx.send_if_modified(|s| {
            let fresh = s.token.as_ref() != Some(&token) || s.expired.is_some();
            if fresh {
                if s.expired.is_some() {
                    tracing::warn!(
                        "kite session restored: a new access token is in use, entries resume"
                    );
                }
                s.token = Some(token);
                s.expired = None;
                // A new token never inherits the old one's expiry time.
                s.expires_at = expires_at;
                s.generation += 1;
                return true;
            }
            // The same live token: only learn its expiry time, if one is given.
            let learned = expires_at.is_some() && s.expires_at != expires_at;
            if learned {
                s.expires_at = expires_at;
            }
            learned
        });
    }

    /// Marks the session expired; logged at ERROR once per transition (a second
    /// TokenException on the same dead token changes nothing).
    pub fn mark_expired(&self, cause: ExpiryCause, at: Timestamp) {
        self.tx.send_if_modified(|s| {
            if s.expired.is_some() {
                return false;
            }
            s.expired = Some(Expired { cause, since: at });
            s.expiries += 1;
            tracing::error!(
                cause = cause.as_str(),
                "KITE SESSION EXPIRED: {}; new entries are paused, exits are still attempted; \
                 run `kitebreak login` or open /login on this server",
                cause.describe()
            );
            true
        });
    }

    /// The expiry timer's single step: marks the session expired when its token's
    /// expiry time has come. True when this call marked it.
    pub fn expire_if_due(&self, now: Timestamp) -> bool {
        let status = self.status();
        let due = status.expired.is_none()
            && status.token.is_some()
            && status.expires_at.is_some_and(|at| now >= at);
        if due {
            self.mark_expired(ExpiryCause::Elapsed, now);
        }
        due
    }

    /// How long until the token's expiry time, if one is pending.
    fn until_expiry(&self, now: Timestamp) -> Option<Duration> {
        let status = self.status();
        if status.expired.is_some() || status.token.is_none() {
            return None;
        }
        let left = status.expires_at?.duration_since(now);
        Some(Duration::try_from(left).unwrap_or(Duration::ZERO))
    }

    /// Marks the session expired at its token's expiry time: a thin loop around
    /// [`SessionState::expire_if_due`] that sleeps until the expiry (at most
    /// [`MAX_NAP`] at a time) and wakes early on any change. Abort the task to stop.
    pub fn spawn_expiry_timer(&self, now: Now) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        let mut changes = self.subscribe();
        tokio::spawn(async move {
            loop {
                state.expire_if_due(now());
                let nap = state
                    .until_expiry(now())
                    .map_or(MAX_NAP, |d| d.min(MAX_NAP));
                tokio::select! {
                    () = tokio::time::sleep(nap) => {}
                    changed = changes.changed() => if changed.is_err() { return },
                }
            }
        })
    }

    /// The file watch's single step: reads the session file and installs its token
    /// if it is a different one that has not expired by `now`. True when a new token
    /// was installed.
    pub fn reload_from_file(&self, config: &KiteConfig, now: Timestamp) -> Result<bool, KiteError> {
        let Some(stored) = load_session(config)? else {
            return Ok(false);
        };
        // The same token (alive, or dead after a TokenException) changes nothing, and
        // an old file never replaces a token that came from elsewhere.
        if self.status().token.as_ref() == Some(&stored.access_token) || stored.expires_at <= now {
            return Ok(false);
        }
        self.adopt(&stored);
        // Logged once in effect: whoever reads the log sees the new session in use.
        tracing::info!(user_id = stored.user_id, expires_at = %stored.expires_at,
            "a new kite session was found in the session file");
        Ok(true)
    }

    /// Polls the session file every `every` and installs new tokens (a `kitebreak
    /// login` in another process). Abort the returned task to stop.
    pub fn spawn_file_watch(
        &self,
        config: KiteConfig,
        every: Duration,
        now: Now,
    ) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                ticks.tick().await;
                if let Err(error) = state.reload_from_file(&config, now()) {
                    tracing::warn!(%error, "reading the kite session file");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("test timestamp")
    }

    fn token(text: &str) -> AccessToken {
        AccessToken::new(text).expect("token")
    }

    #[test]
    fn the_expiry_step_marks_the_session_at_its_expiry_time_and_not_before() {
        let six = at("2026-11-26T00:30:00Z");
        let state = SessionState::with_expiry(Some(token("t1")), Some(six));
        assert!(!state.expire_if_due(at("2026-11-26T00:29:59Z")));
        assert!(!state.is_expired());
        assert!(state.expire_if_due(six));
        let status = state.status();
        assert_eq!(
            status.expired,
            Some(Expired {
                cause: ExpiryCause::Elapsed,
                since: six
            })
        );
        assert_eq!(status.expiries, 1);
        // Once expired, later steps change nothing.
        assert!(!state.expire_if_due(at("2026-11-26T01:00:00Z")));
        assert_eq!(state.status().expiries, 1);
    }

    #[test]
    fn a_token_exception_is_one_transition_and_a_new_token_ends_it() {
        let state = SessionState::new(Some(token("t1")));
        let now = at("2026-11-25T05:00:00Z");
        state.mark_expired(ExpiryCause::Refused, now);
        state.mark_expired(ExpiryCause::Refused, now);
        assert_eq!(state.status().expiries, 1);
        // The same dead token does not revive the session by being installed again...
        let before = state.status().generation;
        state.install(token("t2"), Some(at("2026-11-26T00:30:00Z")));
        let status = state.status();
        assert!(status.is_usable());
        assert_eq!(status.generation, before + 1);
        assert_eq!(status.expires_at, Some(at("2026-11-26T00:30:00Z")));
        // ...and the same live token again is no change at all.
        state.install(token("t2"), Some(at("2026-11-26T00:30:00Z")));
        assert_eq!(state.status().generation, before + 1);
        // A new token without a known expiry does not inherit t2's.
        state.set(token("t3"));
        assert_eq!(state.status().expires_at, None);
    }

    #[test]
    fn no_token_is_not_usable_and_never_expires_by_time() {
        let state = SessionState::with_expiry(None, Some(at("2026-11-26T00:30:00Z")));
        assert!(!state.status().is_usable());
        assert!(!state.expire_if_due(at("2026-11-27T00:00:00Z")));
    }

    #[tokio::test(start_paused = true)]
    async fn the_timer_marks_the_session_expired_at_the_instant_on_the_injected_clock() {
        // The injected clock follows tokio's paused clock, so the test controls both.
        let base = at("2026-11-26T00:29:00Z");
        let origin = tokio::time::Instant::now();
        let now: Now = Arc::new(move || {
            let elapsed = tokio::time::Instant::now().duration_since(origin);
            base + jiff::SignedDuration::try_from(elapsed).unwrap_or_default()
        });
        let six = at("2026-11-26T00:30:00Z");
        let state = SessionState::with_expiry(Some(token("t1")), Some(six));
        let mut changes = state.subscribe();
        let timer = state.spawn_expiry_timer(Arc::clone(&now));
        changes.changed().await.expect("a change");
        let expired = state.status().expired.expect("expired");
        assert_eq!(expired.cause, ExpiryCause::Elapsed);
        assert_eq!(expired.since, six, "marked at the expiry instant");
        timer.abort();
    }
}
