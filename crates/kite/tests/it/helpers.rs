//! Shared set-up: a kite-sim per test, a broker pointed at it, fixture loading,
//! and `reaches`, which waits for a watched change instead of sleeping.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use kite_sim::shared::{LoggedRequest, lock};
use kite_sim::{Sim, SimConfig, SimHandle};
use kitebreak_kite::{KiteBroker, KiteConfig, SessionState};
use kitebreak_price::Price;
use kiteconnect::AccessToken;

/// 2026-11-25 10:00 IST, a Wednesday with the market open.
pub const START: i64 = 1_795_581_000;
/// The token the test sim accepts.
pub const TOKEN: &str = "test_access_token";

pub struct Env {
    pub sim: SimHandle,
    pub broker: KiteBroker,
    pub _dir: tempfile::TempDir,
}

pub fn start() -> Timestamp {
    Timestamp::from_second(START).expect("valid start")
}

pub fn price(text: &str) -> Price {
    text.parse().expect("valid price")
}

pub fn config_for(rest: &str, ws: &str, dir: &std::path::Path) -> KiteConfig {
    let mut config = KiteConfig::new(kite_sim::config::DEFAULT_API_KEY, dir)
        .with_roots(rest, ws)
        .with_secret(kite_sim::config::DEFAULT_API_SECRET)
        .expect("secret");
    config.retry_delay = Duration::from_millis(10);
    config.request_timeout = Duration::from_secs(2);
    config.poll_every = Duration::from_millis(20);
    config.ticker_silence = Duration::from_millis(2500);
    config
}

/// A sim with INFY at 1500 and a broker logged in with the test token, instruments loaded.
pub async fn spawn() -> Env {
    spawn_with(SimConfig::for_tests(start())).await
}

pub async fn spawn_with(sim_config: SimConfig) -> Env {
    let sim = Sim::start(sim_config).await.expect("sim starts");
    sim.set_price("NSE:INFY", price("1500"));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config_for(&sim.url(), &sim.ws_url(), dir.path());
    let session = SessionState::new(Some(AccessToken::new(TOKEN).expect("token")));
    let broker = KiteBroker::new(config, session);
    broker.load_instruments().await.expect("instruments load");
    Env {
        sim,
        broker,
        _dir: dir,
    }
}

/// The sim's request log.
pub fn log(sim: &SimHandle) -> Vec<LoggedRequest> {
    lock(&sim.shared().log).clone()
}

pub fn header<'a>(request: &'a LoggedRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Waits until the watched value satisfies `holds`, woken by each change of it (no
/// polling, no sleeps); the 10 s bound only turns a hang into a failure.
pub async fn reaches<T>(
    what: &str,
    mut changes: tokio::sync::watch::Receiver<T>,
    holds: impl FnMut(&T) -> bool,
) {
    let waited = tokio::time::timeout(Duration::from_secs(10), changes.wait_for(holds)).await;
    assert!(
        waited.is_ok_and(|changed| changed.is_ok()),
        "never happened: {what}"
    );
}

/// `../shared/kite-fixtures` beside the repository.
pub fn fixture_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kite-fixtures");
    assert!(dir.is_dir(), "Kite fixtures not found at {}", dir.display());
    dir.join(name)
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).expect("fixture readable")
}

/// A JSON fixture's `data` (or the whole document without an envelope).
pub fn fixture(name: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_slice(&fixture_bytes(name)).expect("JSON");
    value.get("data").cloned().unwrap_or(value)
}

/// A loopback relay in front of `upstream` that copies every connection both ways,
/// counts the connections it accepted, can close them all (a server or proxy
/// dropping idle connections) and can hold the answers on the connections open now
/// (a request in flight for as long as a test needs).
pub struct Relay {
    /// `http://` and the relay's address.
    pub url: String,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicUsize>,
    cut: tokio::sync::watch::Sender<u64>,
    closed: tokio::sync::watch::Sender<usize>,
    /// Answers on connections numbered below this wait (0: none do).
    hold_below: tokio::sync::watch::Sender<usize>,
    /// Answers waiting at the hold so far.
    held: tokio::sync::watch::Sender<usize>,
}

impl Relay {
    pub async fn start(upstream: std::net::SocketAddr) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let relay = Relay {
            url: format!("http://{}", listener.local_addr().expect("addr")),
            accepted: Arc::new(AtomicUsize::new(0)),
            cut: tokio::sync::watch::Sender::new(0),
            closed: tokio::sync::watch::Sender::new(0),
            hold_below: tokio::sync::watch::Sender::new(0),
            held: tokio::sync::watch::Sender::new(0),
        };
        let count = Arc::clone(&relay.accepted);
        let (cut, closed) = (relay.cut.clone(), relay.closed.clone());
        let (hold_below, held) = (relay.hold_below.clone(), relay.held.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let number = count.fetch_add(1, Ordering::SeqCst);
                let mut cuts = cut.subscribe();
                cuts.mark_unchanged();
                let (closed, held) = (closed.clone(), held.clone());
                let hold = hold_below.subscribe();
                tokio::spawn(async move {
                    if let Ok(server) = tokio::net::TcpStream::connect(upstream).await {
                        tokio::select! {
                            _ = relay_one(client, server, number, hold, held) => {}
                            _ = cuts.changed() => {}
                        }
                    }
                    closed.send_modify(|n| *n += 1);
                });
            }
        });
        relay
    }

    /// Closes every connection open now, and returns once they are closed.
    pub async fn cut(&self) {
        let open = self.accepted.load(Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
        reaches(
            "the relay closed its connections",
            self.closed.subscribe(),
            |n| *n >= open,
        )
        .await;
    }

    /// Holds the answers on every connection the relay has accepted (one that has
    /// carried a request, surely) until [`Relay::release`].
    pub fn hold(&self) {
        self.hold_below
            .send_replace(self.accepted.load(Ordering::SeqCst));
    }

    /// Returns once `n` answers in all have waited at the hold.
    pub async fn holding(&self, n: usize) {
        reaches("an answer waits at the hold", self.held.subscribe(), |h| {
            *h >= n
        })
        .await;
    }

    /// Lets the held answers go.
    pub fn release(&self) {
        self.hold_below.send_replace(0);
    }
}

/// Copies one connection both ways; the answers of connection `number` wait while
/// `hold` is above it.
async fn relay_one(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    number: usize,
    mut hold: tokio::sync::watch::Receiver<usize>,
    held: tokio::sync::watch::Sender<usize>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let requests = tokio::io::copy(&mut from_client, &mut to_server);
    let answers = async {
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let n = from_server.read(&mut buffer).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            if *hold.borrow_and_update() > number {
                held.send_modify(|h| *h += 1);
                if hold.wait_for(|below| *below <= number).await.is_err() {
                    return;
                }
            }
            if to_client.write_all(&buffer[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = requests => {}
        () = answers => {}
    }
}
