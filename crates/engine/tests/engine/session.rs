//! The broker session in the engine, against an in-process kite-sim: a token that
//! dies mid-trade pauses entries (refused with the session's reason, no order, levels
//! unlocked) while exits are still sent; a new token from the session file resumes
//! entries without a restart; the expiry time pauses entries on the engine's clock.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use kite_sim::shared::{LoggedRequest, lock};
use kite_sim::{Faults, Sim, SimConfig, SimHandle};
use kitebreak_engine::{
    Engine, EngineError, EntryOutcome, ExitOutcome, ExpiryCause, KiteAdapter, ManualClock,
    SessionHealth, SessionState, Side,
};
use kitebreak_kite::session::exchange_request_token;
use kitebreak_kite::{KiteBroker, KiteConfig};
use kiteconnect::AccessToken;

use crate::helpers::{BREAKOUT, SETUP, candle, p, start_with, stored_orders, sym};

/// 2026-11-25 10:00 IST, a Wednesday with the market open.
const START: i64 = 1_795_581_000;

struct Env {
    sim: SimHandle,
    engine: Engine,
    session: SessionState,
    config: KiteConfig,
    dir: tempfile::TempDir,
}

fn start() -> Timestamp {
    Timestamp::from_second(START).expect("start")
}

async fn spawn(session: SessionState, clock: ManualClock) -> Env {
    let sim = Sim::start(SimConfig::for_tests(start()))
        .await
        .expect("sim");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = KiteConfig::new(kite_sim::config::DEFAULT_API_KEY, dir.path())
        .with_roots(sim.url(), sim.ws_url())
        .with_secret(kite_sim::config::DEFAULT_API_SECRET)
        .expect("secret");
    config.retry_delay = Duration::from_millis(10);
    config.request_timeout = Duration::from_secs(2);
    config.poll_every = Duration::from_millis(20);
    let kite = KiteBroker::new(config.clone(), session.clone());
    kite.load_instruments().await.expect("instruments");
    let engine = start_with(dir.path(), Arc::new(KiteAdapter::new(kite)), |c| {
        c.clock = Arc::new(clock);
    })
    .await;
    Env {
        sim,
        engine,
        session,
        config,
        dir,
    }
}

/// Waits until the session's status satisfies `holds`, woken by each change of it
/// (no polling); the bound only turns a hang into a failure.
async fn session_reaches(
    session: &SessionState,
    what: &str,
    holds: impl FnMut(&kitebreak_kite::SessionStatus) -> bool,
) {
    let mut status = session.subscribe();
    let waited = tokio::time::timeout(Duration::from_secs(20), status.wait_for(holds)).await;
    assert!(
        waited.is_ok_and(|changed| changed.is_ok()),
        "never happened: {what}"
    );
}

fn token(text: &str) -> AccessToken {
    AccessToken::new(text).expect("token")
}

impl Env {
    fn price(&self, symbol: &str, text: &str) {
        assert!(
            self.sim.set_price(&format!("NSE:{symbol}"), p(text)),
            "sim price {symbol} {text}"
        );
    }

    async fn setup(&self, symbol: &str) {
        self.price(symbol, "100");
        for (h, l, c) in SETUP {
            self.engine
                .candle(sym(symbol), candle(h, l, c))
                .await
                .expect("candle");
        }
    }

    async fn breakout(&self, symbol: &str) -> Option<EntryOutcome> {
        self.price(symbol, "106");
        let (h, l, c) = BREAKOUT;
        self.engine
            .candle(sym(symbol), candle(h, l, c))
            .await
            .expect("breakout candle")
            .entry
    }

    fn placements(&self) -> Vec<LoggedRequest> {
        lock(&self.sim.shared().log)
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/orders/regular")
            .cloned()
            .collect()
    }

    /// Every access token stops working now, as at Kite after 06:00 IST.
    fn kill_tokens(&self) {
        self.sim.set_faults(Faults {
            tokens_expire_at: Some(start()),
            ..Faults::default()
        });
    }
}

fn field<'a>(request: &'a LoggedRequest, name: &str) -> Option<&'a str> {
    request
        .form
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn header<'a>(request: &'a LoggedRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn live_session() -> SessionState {
    SessionState::new(Some(token("test_access_token")))
}

#[tokio::test]
async fn a_token_dying_mid_trade_refuses_entries_with_the_reason_and_still_sends_exits() {
    let clock = ManualClock::new(start());
    let env = spawn(live_session(), clock.clone()).await;
    env.setup("INFY").await;
    let Some(EntryOutcome::Filled { .. }) = env.breakout("INFY").await else {
        panic!("the entry did not fill");
    };
    env.setup("TCS").await;
    env.kill_tokens();

    // The target is hit: the exit is sent to Kite, which refuses the dead token.
    env.price("INFY", "110");
    let report = env
        .engine
        .candle(sym("INFY"), candle("111", "108", "110"))
        .await
        .expect("exit candle");
    let Some(ExitOutcome::Failed { reason, .. }) = report.exit else {
        panic!("the exit was not attempted: {:?}", report.exit);
    };
    assert!(reason.contains("session expired"), "{reason}");
    let sent = env.placements();
    assert_eq!(sent.len(), 2, "entry and the attempted exit: {sent:?}");
    assert_eq!(field(&sent[1], "transaction_type"), Some("SELL"));
    assert_eq!(sent[1].status, 403);
    let session = env.engine.broker_session().expect("kite has a session");
    let SessionHealth::Expired(expired) = session.health else {
        panic!("not expired: {session:?}");
    };
    assert_eq!(expired.cause, ExpiryCause::Refused);
    assert_eq!(env.engine.risk_status().broker_session, Some(session));

    // A breakout now is refused before any order: no order row, levels unlocked.
    let Some(EntryOutcome::Refused { reason }) = env.breakout("TCS").await else {
        panic!("the entry was not refused");
    };
    assert!(reason.contains("broker session expired"), "{reason}");
    assert!(reason.contains("kitebreak login"), "{reason}");
    assert!(reason.contains("/login"), "{reason}");
    assert_eq!(env.placements().len(), 2, "no entry order was sent");
    let tcs = env.engine.status(sym("TCS")).await.expect("status");
    assert!(!tcs.locked, "levels stay unlocked");
    let database = env.dir.path().join("kitebreak.db");
    assert!(stored_orders(&database, "TCS").await.is_empty());

    // Manual entries are refused the same way.
    let manual = env.engine.manual_order(sym("TCS"), Side::Buy, None).await;
    let Err(EngineError::Refused(reason)) = manual else {
        panic!("manual order not refused: {manual:?}");
    };
    assert!(reason.contains("broker session expired"), "{reason}");

    // The open trade's exit keeps being attempted on the next price once its
    // backoff (1 s after the first failure) has passed.
    clock.advance(SignedDuration::from_secs(2));
    env.engine
        .candle(sym("INFY"), candle("111", "108", "110"))
        .await
        .expect("another exit candle");
    assert_eq!(env.placements().len(), 3, "the exit was attempted again");
    assert!(
        env.engine
            .status(sym("INFY"))
            .await
            .expect("status")
            .trade
            .is_some()
    );
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_new_token_in_the_session_file_resumes_entries_without_a_restart() {
    let env = spawn(live_session(), ManualClock::new(start())).await;
    env.setup("TCS").await;
    env.kill_tokens();
    env.engine
        .broker()
        .ltp(&sym("TCS"))
        .await
        .expect_err("the token is dead");
    assert!(env.session.is_expired(), "a refused read marks the session");
    let Some(EntryOutcome::Refused { .. }) = env.breakout("TCS").await else {
        panic!("the entry was not refused");
    };
    // Kite accepts logins again; `kitebreak login --request-token` in another process
    // writes the session file, which the running process watches (as `serve` does).
    env.sim.set_faults(Faults::default());
    // The watch reads the time from the sim's clock: the token's expiry time comes
    // from the sim's login time.
    let every = Duration::from_millis(20);
    let watch = env
        .session
        .spawn_file_watch(env.config.clone(), every, Arc::new(start));
    let stored = exchange_request_token(&env.config, "rt-next-morning")
        .await
        .expect("login");
    session_reaches(&env.session, "the new token is picked up", |s| {
        s.expired.is_none()
    })
    .await;
    watch.abort();
    // The next breakout enters, on the new token.
    env.setup("RELIANCE").await;
    let Some(EntryOutcome::Filled { order, .. }) = env.breakout("RELIANCE").await else {
        panic!("entries did not resume");
    };
    let sent = env.placements();
    let entry = sent.last().expect("the entry was sent");
    assert_eq!(field(entry, "tag"), Some(order.tag.as_str()));
    let expected = format!(
        "token {}:{}",
        kite_sim::config::DEFAULT_API_KEY,
        stored.access_token.expose()
    );
    assert_eq!(header(entry, "authorization"), Some(expected.as_str()));
    let session = env.engine.broker_session().expect("session");
    assert_eq!(session.health, SessionHealth::Active);
    assert_eq!(session.expires_at, Some(stored.expires_at));
    env.engine.shutdown().await;
}

#[tokio::test]
async fn the_token_expiry_time_pauses_entries_on_the_engines_clock_before_kite_refuses() {
    let expiry = start() - SignedDuration::from_secs(1);
    let session = SessionState::with_expiry(Some(token("test_access_token")), Some(expiry));
    let clock = ManualClock::new(start());
    let env = spawn(session, clock).await;
    // The engine's timer runs on the engine's clock, which is past the expiry.
    session_reaches(&env.session, "the expiry timer fires", |s| {
        s.expired.is_some()
    })
    .await;
    let expired = env.session.status().expired.expect("expired");
    assert_eq!(expired.cause, ExpiryCause::Elapsed);
    assert_eq!(expired.since, start(), "read from the engine's clock");
    env.setup("TCS").await;
    let Some(EntryOutcome::Refused { reason }) = env.breakout("TCS").await else {
        panic!("the entry was not refused");
    };
    assert!(reason.contains("expiry time"), "{reason}");
    assert!(env.placements().is_empty(), "nothing reached Kite");
    env.engine.shutdown().await;
}
