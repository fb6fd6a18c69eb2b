//! [`AuthGuard`]: a per-client limit on authentication failures (wrong or missing
//! webhook passphrase, wrong or missing bearer token), so a secret cannot be guessed
//! at line rate.
//!
//! Only failures count: a caller that authenticates correctly is never slowed. Once
//! an address has failed `limit` times in a window, every request from it that
//! needs authentication gets 429 until the window ends, *before* its credentials are
//! compared, so a guess made while blocked cannot succeed either.
//!
//! Why not `tower_governor`: it limits every request of a route, which would
//! throttle busy, correctly authenticated TradingView senders as well.
//!
//! The client is the TCP peer address. `X-Forwarded-For` is ignored on purpose: it
//! is set by the caller and would let an attacker pick a fresh key per guess.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use tokio::time::Instant;

use crate::ApiError;

/// Entries kept before expired windows are swept, bounding memory under a spray
/// of addresses.
const SWEEP_ABOVE: usize = 4096;

/// Counts authentication failures per client address in fixed windows.
#[derive(Debug)]
pub struct AuthGuard {
    limit: u32,
    window: Duration,
    clients: Mutex<HashMap<IpAddr, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
}

impl AuthGuard {
    /// At most `limit` failures per `window` per address (`limit` 0 disables it).
    pub fn new(limit: u32, window: Duration) -> AuthGuard {
        AuthGuard {
            limit,
            window,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// 429 when `client` used up its failures in the current window.
    pub fn check(&self, client: IpAddr) -> Result<(), ApiError> {
        if self.limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        match clients.get(&client) {
            Some(w) if now.duration_since(w.start) < self.window && w.failures >= self.limit => {
                let left = self.window.saturating_sub(now.duration_since(w.start));
                Err(ApiError::TooManyRequests {
                    retry_after: left.as_secs().max(1),
                })
            }
            _ => Ok(()),
        }
    }

    /// Counts one failure for `client`.
    pub fn fail(&self, client: IpAddr) {
        if self.limit == 0 {
            return;
        }
        let now = Instant::now();
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= SWEEP_ABOVE {
            clients.retain(|_, w| now.duration_since(w.start) < self.window);
        }
        let entry = clients.entry(client).or_insert(Window {
            start: now,
            failures: 0,
        });
        if now.duration_since(entry.start) >= self.window {
            *entry = Window {
                start: now,
                failures: 0,
            };
        }
        entry.failures = entry.failures.saturating_add(1);
    }
}

/// The caller's address: the TCP peer, or `::` when the router runs without
/// connection info (in-process tests), so such callers share one bucket.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientIp, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(ClientIp(
            peer.map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn failures_block_one_address_for_the_rest_of_the_window() {
        let guard = AuthGuard::new(3, Duration::from_secs(60));
        let (bad, good) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        for _ in 0..3 {
            assert!(guard.check(bad).is_ok());
            guard.fail(bad);
        }
        assert!(matches!(
            guard.check(bad),
            Err(ApiError::TooManyRequests { retry_after: 60 })
        ));
        assert!(
            guard.check(good).is_ok(),
            "other addresses are not affected"
        );
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(guard.check(bad).is_ok(), "a new window forgives");
    }

    #[test]
    fn a_zero_limit_disables_the_guard() {
        let guard = AuthGuard::new(0, Duration::from_secs(60));
        let client = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..100 {
            guard.fail(client);
        }
        assert!(guard.check(client).is_ok());
    }
}
