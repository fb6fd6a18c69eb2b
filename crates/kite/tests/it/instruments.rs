//! The daily instrument refresh against kite-sim: one fetch per dump day (08:30 IST),
//! new symbols on a new day, the old catalogue kept when a refresh fails, and the
//! thin loop around the single step.

use jiff::Timestamp;
use kite_sim::{Faults, Sim, SimConfig, SimHandle};
use kitebreak_kite::{InstrumentRefresh, KiteBroker, SessionState};
use kiteconnect::AccessToken;
use tokio::sync::watch;

use crate::helpers::{TOKEN, config_for, log, reaches, start};

/// A sim and a broker that has loaded nothing yet.
async fn fresh() -> (SimHandle, KiteBroker, tempfile::TempDir) {
    let sim = Sim::start(SimConfig::for_tests(start()))
        .await
        .expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let config = config_for(&sim.url(), &sim.ws_url(), dir.path());
    let session = SessionState::new(Some(AccessToken::new(TOKEN).expect("token")));
    (sim, KiteBroker::new(config, session), dir)
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("test timestamp")
}

fn dumps_fetched(sim: &SimHandle) -> usize {
    log(sim).iter().filter(|r| r.path == "/instruments").count()
}

fn day(text: &str) -> jiff::civil::Date {
    text.parse().expect("date")
}

#[tokio::test]
async fn the_dump_is_fetched_once_per_dump_day_and_a_new_day_brings_new_symbols() {
    let (sim, broker, dir) = fresh().await;
    // Wednesday 25th, 09:30 IST.
    let loaded = broker
        .refresh_instruments(at("2026-11-25T04:00:00Z"))
        .await
        .expect("refresh");
    let InstrumentRefresh::Loaded { day: first, count } = loaded else {
        panic!("nothing was loaded: {loaded:?}");
    };
    assert_eq!(first, day("2026-11-25"));
    assert!(count > 0 && broker.instrument("NSE:INFY").is_ok());
    assert_eq!(
        broker
            .refresh_instruments(at("2026-11-25T09:30:00Z"))
            .await
            .expect("refresh"),
        InstrumentRefresh::Current(first)
    );
    sim.shared()
        .with_world(|world, _| world.catalogue.add_nse_equity("NEWCO"));
    // 08:00 IST on the 26th: the new dump is not out yet.
    assert_eq!(
        broker
            .refresh_instruments(at("2026-11-26T02:30:00Z"))
            .await
            .expect("refresh"),
        InstrumentRefresh::Current(first)
    );
    assert_eq!(dumps_fetched(&sim), 1);
    assert!(broker.instrument("NSE:NEWCO").is_err());
    // 08:30 IST: the 26th's dump.
    let next = broker
        .refresh_instruments(at("2026-11-26T03:00:00Z"))
        .await
        .expect("refresh");
    assert_eq!(
        next,
        InstrumentRefresh::Loaded {
            day: day("2026-11-26"),
            count: count + 1
        }
    );
    assert!(broker.instrument("NSE:NEWCO").is_ok());
    assert_eq!(dumps_fetched(&sim), 2);
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    assert_eq!(files, ["instruments-2026-11-26.csv"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_old_catalogue_and_the_next_step_retries() {
    let (sim, broker, _dir) = fresh().await;
    broker
        .refresh_instruments(at("2026-11-25T04:00:00Z"))
        .await
        .expect("first load");
    sim.set_faults(Faults {
        share_503: 1.0,
        ..Faults::default()
    });
    let tomorrow = at("2026-11-26T04:00:00Z");
    assert!(broker.refresh_instruments(tomorrow).await.is_err());
    assert_eq!(broker.instruments().day(), Some(day("2026-11-25")));
    assert!(broker.instrument("NSE:INFY").is_ok(), "the old dump stays");
    sim.set_faults(Faults::default());
    assert!(matches!(
        broker.refresh_instruments(tomorrow).await,
        Ok(InstrumentRefresh::Loaded { .. })
    ));
    assert_eq!(broker.instruments().day(), Some(day("2026-11-26")));
    sim.shutdown().await;
}

#[tokio::test]
async fn the_refresh_loop_loads_at_once_and_stops_when_told() {
    let (sim, broker, _dir) = fresh().await;
    let (stop, stopped) = watch::channel(false);
    let looping = broker.clone();
    let task = tokio::spawn(async move {
        looping
            .keep_instruments_current(
                std::time::Duration::from_secs(3600),
                || "2026-11-25T04:00:00Z".parse().expect("time"),
                stopped,
            )
            .await;
    });
    reaches(
        "the first step loaded the dump",
        broker.instrument_updates(),
        |all| all.day() == Some(day("2026-11-25")),
    )
    .await;
    stop.send(true).expect("the loop listens");
    task.await.expect("the loop ends");
    assert_eq!(dumps_fetched(&sim), 1);
    sim.shutdown().await;
}
