//! Starting an [`Engine`]: the database opened, every symbol recovered and the
//! broker reconciled, the shards spawned with their books, then the live feed's
//! loops and the background steps (risk enforcement, exit retries, keep-warm,
//! exchange-side protection), each a thin loop around a step tests call directly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};

use tokio::sync::mpsc;

use super::{Engine, Inner};
use crate::broker::Broker;
use crate::changes::Changes;
use crate::session::{SessionWatch, Timer};
use crate::shard::{Context, Shard};
use crate::store::Store;
use crate::{EngineConfig, EngineError};

/// Commands a shard queues before callers wait.
const SHARD_QUEUE: usize = 1024;

impl Engine {
    /// Opens the database, rebuilds every symbol from it and starts the shards.
    /// Monitoring starts on: restored open trades are watched at once.
    pub async fn start(
        config: EngineConfig,
        broker: Arc<dyn Broker>,
    ) -> Result<Engine, EngineError> {
        let store = Store::open(&config.database).await?;
        // A broker with a login session is watched: a SessionExpired answer from any
        // call (recovery's included) marks the session expired and pauses entries.
        let session = broker.session();
        let broker: Arc<dyn Broker> = match &session {
            Some(session) => Arc::new(SessionWatch::new(
                broker,
                session.clone(),
                Arc::clone(&config.clock),
            )),
            None => broker,
        };
        let (books, reconciliation) =
            crate::recovery::recover(&store, &config, broker.as_ref()).await?;
        let order_seq = Arc::new(AtomicI64::new(store.last_order_seq().await?));
        // Recovery has read the previous run's journal: this run starts its own.
        let journal = Arc::new(crate::journal::SendJournal::create(
            &crate::journal::path_for(&config.database),
            config.boot_id.as_deref(),
        )?);
        let monitoring = Arc::new(AtomicBool::new(true));
        // Set at start: the first retry step looks at what recovery parked.
        let timer_work = Arc::new(AtomicBool::new(true));
        let gate = Arc::new(
            crate::enforce::open_gate(&store, &config)
                .await?
                .with_session(session.clone()),
        );
        let expiry_timer = session
            .as_ref()
            .map(|s| Timer::start(s, Arc::clone(&config.clock)));
        let shard_count = config.shards.max(1);
        // The live feed is created before the shards (its socket task starts in
        // `spawn_events`, below), so restored open trades' subscriptions are queued
        // as soon as each shard reports them.
        let feed_events = broker.start_feed();
        let changes = Arc::new(Changes::default());
        let feed = crate::feed::feed_for(
            config.feed,
            feed_events.is_some(),
            shard_count,
            Arc::clone(&changes),
        );
        let updates = Arc::new(crate::updates::Updates::default());
        let exit_failures = Arc::new(AtomicU64::new(0));
        let broker_errors = Arc::new(crate::broker::BrokerErrorCounts::default());
        let ctx = Arc::new(Context {
            broker_errors: Arc::clone(&broker_errors),
            exit_failures: Arc::clone(&exit_failures),
            feed: Arc::clone(&feed),
            updates: Arc::clone(&updates),
            store: store.clone(),
            broker: Arc::clone(&broker),
            config: Arc::new(config),
            monitoring: Arc::clone(&monitoring),
            timer_work: Arc::clone(&timer_work),
            order_seq,
            gate: Arc::clone(&gate),
            journal: Arc::clone(&journal),
            changes: Arc::clone(&changes),
        });
        let shards = books
            .into_shards()
            .into_iter()
            .map(|books| {
                let (sender, receiver) = mpsc::channel(SHARD_QUEUE);
                let shard = Shard::new(Arc::clone(&ctx), books);
                shard.note_all();
                tokio::spawn(shard.run(receiver));
                sender
            })
            .collect();
        tracing::info!(
            shards = shard_count,
            broker = broker.name(),
            "engine started"
        );
        let engine = Engine {
            inner: Arc::new(Inner {
                shards,
                store,
                broker,
                monitoring,
                timer_work,
                gate,
                session,
                _expiry_timer: expiry_timer,
                reconciliation,
                feed,
                updates,
                exit_failures,
                broker_errors,
                journal,
                changes,
            }),
        };
        if let Some(events) = feed_events {
            crate::feed::spawn_events(Arc::downgrade(&engine.inner), events);
            crate::feed::spawn_polls(Arc::downgrade(&engine.inner), ctx.config.feed.poll_every);
        }
        if let Some(every) = ctx.config.enforce_every {
            crate::enforce::spawn_loop(&engine, every);
            spawn_step_loop(
                &engine,
                every,
                |engine| async move { engine.retry_step().await },
            );
            crate::warm::spawn_loop(&engine);
            if crate::shard::protect::enabled(&ctx) {
                spawn_step_loop(&engine, every, |engine| async move {
                    engine.protect_step().await
                });
            }
        }
        Ok(engine)
    }
}

/// Calls `step` every `every` until the engine stops (the background loops of the
/// retry, protection and enforcement steps: thin loops around a step tests call
/// directly). The loop holds the engine weakly, so it never keeps it alive.
pub(crate) fn spawn_step_loop<F, Fut>(engine: &Engine, every: std::time::Duration, step: F)
where
    F: Fn(Engine) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), EngineError>> + Send,
{
    let weak = Arc::downgrade(&engine.inner);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            let Some(inner) = weak.upgrade() else { return };
            if let Err(EngineError::Stopped) = step(Engine { inner }).await {
                return;
            }
        }
    });
}
