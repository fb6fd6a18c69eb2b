//! Tick-to-exit-order latency through the real ticker path, against an in-process
//! kite-sim on loopback (issue 5, item 11; BENCHMARKS.md "Tick to exit order").
//!
//! ```sh
//! cargo run --release -p kitebreak-engine --example tick_to_exit -- --symbols 200
//! ```
//!
//! Set-up: kite-sim with `--symbols` synthetic NSE equities; the engine (production
//! defaults: 64 shards, SQLite WAL `synchronous=FULL` in `--dir` or a temporary
//! directory, the retry and enforce loops running) over the Kite adapter, its REST
//! calls going through a loopback TCP relay that notes when each `POST /orders`
//! request arrives, its ticker connected to kite-sim directly. Every symbol gets five
//! candles and a breakout, so each opens a long trade filled by kite-sim and is
//! subscribed on the ticker.
//!
//! Then, one symbol at a time, `--spacing-ms` apart (Kite's placement budget is 10/s
//! and 400/min; the adapter's governor would otherwise hold orders back, and the
//! run reports any such wait), the sim's price of that symbol is set above its
//! target. Two figures per exit, from the instant just before `set_price` (kite-sim
//! then builds and writes the tick frame; that work is inside the figure):
//!
//! - **tick → POST at kite-sim**: until the relay reads the first bytes of the exit's
//!   `POST /orders` from the engine's socket (what kite-sim would see arrive);
//! - **tick → place_order**: until the engine calls the broker's `place_market`
//!   (ticker decode, routing, the shard's exit check, the exit intent's durable
//!   commit), i.e. the engine's part without the HTTP client.
//!
//! `--probe-feed` adds a third figure, **tick → engine feed**: until the adapter's
//! feed event for the tick is seen (the ticker path alone), at the cost of one more
//! channel hop in front of the engine (so the other two figures grow by that hop).
//!
//! `--noise-per-sec N` adds N in-band price changes a second on the other symbols
//! (no exits) while the exits are measured, so the ticker path is busy.
//!
//! `--log` logs as `kitebreak serve` does by default (INFO and up, text, to stderr;
//! redirect it to a file): without it no subscriber is installed and every log call
//! on the path costs nothing, which `serve` does not enjoy.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use kite_sim::{Sim, SimConfig, SimHandle};
use kitebreak_engine::{
    BoxFuture, Broker, BrokerError, CandleInput, Engine, EngineConfig, FeedEvent, FeedSource,
    FeedState, FoundOrder, KiteAdapter, MarketOrder, Ohlc, OrderId, OrderReport, OrderStatus,
    PositionReport, PositionState, Symbol, ThrottleWaits, TradeFilter,
};
use kitebreak_kite::{KiteBroker, KiteConfig, SessionState};
use kitebreak_price::{Price, Quantity, Ratio};
use kitebreak_strategy::{Candle, Relevel, StrategyParams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// 2026-11-25 10:00 IST, a Wednesday with the market open (sim clock, manual).
const START: i64 = 1_795_581_000;

/// Five candles that leave support 95 and resistance 105 (lookback 3), then the
/// breakout: a long at 106.05, target 109.2315, stop 104.9895.
const SETUP: [(&str, &str, &str); 5] = [
    ("101", "99", "100"),
    ("105", "100", "102"),
    ("102", "95", "98"),
    ("103", "97", "100"),
    ("102", "98", "100"),
];
const BREAKOUT: (&str, &str, &str) = ("107", "101", "106");

struct Options {
    symbols: usize,
    spacing: Duration,
    noise_per_sec: u32,
    dir: Option<std::path::PathBuf>,
    probe_feed: bool,
    log: bool,
}

fn options() -> Result<Options, Failure> {
    let mut options = Options {
        symbols: 200,
        spacing: Duration::from_millis(250),
        noise_per_sec: 0,
        dir: None,
        probe_feed: false,
        log: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--symbols" => options.symbols = value()?.parse()?,
            "--spacing-ms" => options.spacing = Duration::from_millis(value()?.parse()?),
            "--noise-per-sec" => options.noise_per_sec = value()?.parse()?,
            "--dir" => options.dir = Some(value()?.into()),
            "--probe-feed" => options.probe_feed = true,
            "--log" => options.log = true,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(options)
}

fn p(text: &str) -> Result<Price, Failure> {
    Ok(text.parse()?)
}

fn candle(high: &str, low: &str, close: &str) -> Result<CandleInput, Failure> {
    let candle = Candle::new(p(high)?, p(low)?, p(close)?)?;
    Ok(CandleInput::new(candle, None, None, None, None)?)
}

fn name(i: usize) -> String {
    format!("SYM{i:04}")
}

/// An instrument dump of `n` synthetic NSE equities.
fn instruments(n: usize, path: &std::path::Path) -> Result<(), Failure> {
    let mut csv = String::from(
        "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange\n",
    );
    for i in 0..n {
        let exchange_token = 100_000 + i as u32;
        let token = (exchange_token << 8) | 1;
        let name = name(i);
        csv.push_str(&format!(
            "{token},{exchange_token},{name},{name},0.0,,0.0,0.05,1,EQ,NSE,NSE\n"
        ));
    }
    std::fs::write(path, csv)?;
    Ok(())
}

/// TCP connections the engine opened to kite-sim's REST port.
static REST_CONNECTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// `POST /orders` requests that were the first request on their connection (the
/// order paid for a TCP connect instead of reusing a pooled connection).
static FRESH_POSTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A loopback relay in front of kite-sim's REST port: every connection is copied
/// both ways; each read from the engine that starts a `POST /orders` request is
/// reported with the instant it was read. Connections are counted in
/// [`REST_CONNECTIONS`]: a warm, kept-alive client opens none per order.
async fn relay(listener: TcpListener, upstream: SocketAddr, posts: mpsc::UnboundedSender<Instant>) {
    while let Ok((client, _)) = listener.accept().await {
        REST_CONNECTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let posts = posts.clone();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (mut from_client, mut to_client) = client.into_split();
            let (mut from_server, mut to_server) = server.into_split();
            let up = async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut first = true;
                loop {
                    let n = match from_client.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let at = Instant::now();
                    if buf[..n].starts_with(b"POST /orders") {
                        let _ = posts.send(at);
                        if first {
                            FRESH_POSTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    first = false;
                    if to_server.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = to_server.shutdown().await;
            };
            let down = async move {
                let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                let _ = to_client.shutdown().await;
            };
            tokio::join!(up, down);
        });
    }
}

/// The Kite adapter, noting when the engine asks for each placement (and, with
/// `--probe-feed`, when each tick leaves the adapter's feed: one more channel hop).
struct Timed {
    kite: KiteAdapter,
    placed: mpsc::UnboundedSender<(Instant, Symbol)>,
    fed: Option<mpsc::UnboundedSender<(Instant, Symbol)>>,
}

impl Broker for Timed {
    fn name(&self) -> &'static str {
        self.kite.name()
    }
    fn place_market(&self, order: MarketOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        let _ = self.placed.send((Instant::now(), order.symbol.clone()));
        self.kite.place_market(order)
    }
    fn final_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        self.kite.final_status(id)
    }
    fn ltp<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Price, BrokerError>> {
        self.kite.ltp(symbol)
    }
    fn ohlc<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Ohlc, BrokerError>> {
        self.kite.ohlc(symbol)
    }
    fn find_by_tag<'a>(
        &'a self,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Option<FoundOrder>, BrokerError>> {
        self.kite.find_by_tag(tag)
    }
    fn shows_orders_late(&self) -> bool {
        self.kite.shows_orders_late()
    }
    fn exchange_account(&self) -> bool {
        self.kite.exchange_account()
    }
    fn ltp_many<'a>(
        &'a self,
        symbols: &'a [Symbol],
    ) -> BoxFuture<'a, Result<Vec<(Symbol, Price)>, BrokerError>> {
        self.kite.ltp_many(symbols)
    }
    fn orders(&self) -> BoxFuture<'_, Result<Vec<OrderReport>, BrokerError>> {
        self.kite.orders()
    }
    fn keep_warm(&self) -> BoxFuture<'_, Result<bool, BrokerError>> {
        self.kite.keep_warm()
    }
    fn positions(&self) -> BoxFuture<'_, Result<Vec<PositionReport>, BrokerError>> {
        self.kite.positions()
    }
    fn session(&self) -> Option<SessionState> {
        self.kite.session()
    }
    fn start_feed(&self) -> Option<FeedSource> {
        let mut feed = self.kite.start_feed()?;
        let Some(fed) = self.fed.clone() else {
            return Some(feed);
        };
        let (out, probed) = mpsc::channel(4096);
        tokio::spawn(async move {
            while let Some(event) = feed.next().await {
                if let FeedEvent::Tick { symbol, .. } = &event {
                    let _ = fed.send((Instant::now(), symbol.clone()));
                }
                if out.send(event).await.is_err() {
                    return;
                }
            }
        });
        Some(FeedSource::channel(probed))
    }
    fn throttle_waits(&self) -> Vec<ThrottleWaits> {
        self.kite.throttle_waits()
    }
    fn stop_feed(&self) {
        self.kite.stop_feed();
    }
    fn watch(&self, symbol: &Symbol) {
        self.kite.watch(symbol);
    }
    fn unwatch(&self, symbol: &Symbol) {
        self.kite.unwatch(symbol);
    }
    fn verify_postback(&self, body: &[u8]) -> Result<kitebreak_engine::OrderUpdate, BrokerError> {
        self.kite.verify_postback(body)
    }
    fn place_stop(
        &self,
        order: kitebreak_engine::StopOrder,
    ) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        self.kite.place_stop(order)
    }
    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        self.kite.cancel(id)
    }
    fn place_oco(
        &self,
        order: kitebreak_engine::OcoOrder,
    ) -> BoxFuture<'_, Result<kitebreak_engine::OcoId, BrokerError>> {
        self.kite.place_oco(order)
    }
    fn modify_oco<'a>(
        &'a self,
        id: &'a str,
        order: kitebreak_engine::OcoOrder,
    ) -> BoxFuture<'a, Result<kitebreak_engine::OcoId, BrokerError>> {
        self.kite.modify_oco(id, order)
    }
    fn cancel_oco<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<kitebreak_engine::OcoReport, BrokerError>> {
        self.kite.cancel_oco(id)
    }
    fn oco_status<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<kitebreak_engine::OcoReport, BrokerError>> {
        self.kite.oco_status(id)
    }
    fn ocos(&self) -> BoxFuture<'_, Result<Vec<kitebreak_engine::OcoReport>, BrokerError>> {
        self.kite.ocos()
    }
    fn find_oco<'a>(
        &'a self,
        order: &'a kitebreak_engine::OcoOrder,
    ) -> BoxFuture<'a, Result<Option<kitebreak_engine::OcoReport>, BrokerError>> {
        self.kite.find_oco(order)
    }
    fn order_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<FoundOrder, BrokerError>> {
        self.kite.order_status(id)
    }
}

fn placement_waits(engine: &Engine) -> (u64, Duration) {
    engine
        .broker()
        .throttle_waits()
        .iter()
        .find(|w| w.endpoint == "place_order")
        .map_or((0, Duration::ZERO), |w| (w.waits, w.waited))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// p50/p90/p99/max of `samples`, microseconds.
fn summary(label: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| {
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        samples[rank - 1].as_secs_f64() * 1e6
    };
    if samples.is_empty() {
        println!("{label}: no samples");
        return;
    }
    println!(
        "{label:<24} n={:<5} p50={:>7.0} µs  p90={:>7.0} µs  p99={:>7.0} µs  max={:>7.0} µs",
        samples.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        at(1.0)
    );
}

/// Within `limit`, waits for `check`; the bound only stops a hang.
async fn wait_for<F: FnMut() -> bool>(
    what: &str,
    limit: Duration,
    mut check: F,
) -> Result<(), Failure> {
    let until = Instant::now() + limit;
    while !check() {
        if Instant::now() > until {
            return Err(format!("timed out waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let options = options()?;
    if options.log {
        // As `kitebreak serve` logs by default: INFO and up, text, to stderr.
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(std::io::stderr)
            .init();
    }
    let temp = tempfile::tempdir()?;
    let dir = options
        .dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let dump = temp.path().join("instruments.csv");
    instruments(options.symbols, &dump)?;

    let mut sim_config = SimConfig::for_tests(Timestamp::from_second(START)?);
    sim_config.instruments = Some(dump);
    let sim: SimHandle = Sim::start(sim_config).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let rest = format!("http://{}", listener.local_addr()?);
    let (posts_tx, mut posts) = mpsc::unbounded_channel();
    tokio::spawn(relay(listener, sim.addr(), posts_tx));

    let mut kite_config = KiteConfig::new(kite_sim::config::DEFAULT_API_KEY, &dir)
        .with_roots(rest, sim.ws_url())
        .with_secret(kite_sim::config::DEFAULT_API_SECRET)?;
    kite_config.ticker_silence = Duration::from_secs(5);
    let token = kiteconnect::AccessToken::new("test_access_token")?;
    let kite = KiteBroker::new(kite_config, SessionState::new(Some(token)));
    kite.load_instruments().await?;
    let (placed_tx, mut placed) = mpsc::unbounded_channel();
    let (fed_tx, mut fed) = mpsc::unbounded_channel();
    let broker = Timed {
        kite: KiteAdapter::new(kite),
        placed: placed_tx,
        fed: options.probe_feed.then_some(fed_tx),
    };

    let mut config = EngineConfig::new(dir.join("kitebreak.db"));
    let ratio = |t: &str| t.parse::<Ratio>();
    config.strategy = StrategyParams::new(
        3,
        ratio("0.03")?,
        ratio("0.01")?,
        Relevel::Fresh,
        Quantity::ONE,
    )?;
    let engine = Engine::start(config, Arc::new(broker)).await?;

    let symbols: Vec<Symbol> = (0..options.symbols)
        .map(|i| Symbol::parse(&name(i)))
        .collect::<Result<_, _>>()?;
    let key = |s: &Symbol| format!("NSE:{s}");
    println!(
        "setting up {} open trades (placements at Kite's 10/s and 400/min)...",
        symbols.len()
    );
    let started = Instant::now();
    for symbol in &symbols {
        sim.set_price(&key(symbol), p("100")?);
        for (h, l, c) in SETUP {
            engine.candle(symbol.clone(), candle(h, l, c)?).await?;
        }
        sim.set_price(&key(symbol), p("106.05")?);
        let (h, l, c) = BREAKOUT;
        engine.candle(symbol.clone(), candle(h, l, c)?).await?;
        let status = engine.status(symbol.clone()).await?;
        if status.position != PositionState::Open {
            return Err(format!("{symbol} did not open a trade: {status:?}").into());
        }
    }
    wait_for(
        "every trade watched on a live ticker",
        Duration::from_secs(30),
        || {
            engine.feed_state() == FeedState::Live
                && engine.feed_stats().watched == symbols.len() as u64
        },
    )
    .await?;
    // Let the placement budget refill a little after the entries.
    tokio::time::sleep(Duration::from_secs(2)).await;
    while placed.try_recv().is_ok() {}
    while posts.try_recv().is_ok() {}
    while fed.try_recv().is_ok() {}
    println!("set up in {:.1} s", started.elapsed().as_secs_f64());

    let noise = Arc::new(Mutex::new(true));
    if options.noise_per_sec > 0 {
        let (sim_shared, symbols, running) = (sim.shared().clone(), symbols.clone(), noise.clone());
        let every = Duration::from_secs_f64(1.0 / f64::from(options.noise_per_sec));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            let mut n = 0usize;
            while *running.lock().unwrap_or_else(|e| e.into_inner()) {
                tick.tick().await;
                n += 1;
                let symbol = &symbols[n % symbols.len()];
                // In the band: above the stop (104.9895), below the target (109.2315).
                let micros = 105_500_000 + 50_000 * ((n / symbols.len()) % 40) as i64;
                let Ok(price) = Price::from_micros(micros) else {
                    continue;
                };
                let key = format!("NSE:{symbol}");
                sim_shared.with_world(|world, now| {
                    if let Some(token) = world.catalogue.get(&key).map(|i| i.token) {
                        world.set_price(token, price, now);
                    }
                });
            }
        });
    }

    let (waits_before, _) = placement_waits(&engine);
    let load_before = load_average();
    let ticks_before = engine.feed_stats().ticks;
    let mut to_post = Vec::with_capacity(symbols.len());
    let mut to_place = Vec::with_capacity(symbols.len());
    let mut to_feed = Vec::with_capacity(symbols.len());
    let measured = Instant::now();
    let connections_before = REST_CONNECTIONS.load(std::sync::atomic::Ordering::Relaxed);
    let fresh_before = FRESH_POSTS.load(std::sync::atomic::Ordering::Relaxed);
    for symbol in &symbols {
        let next = Instant::now() + options.spacing;
        let sent = Instant::now();
        sim.set_price(&key(symbol), p("110")?);
        let (placed_at, placed_symbol) =
            tokio::time::timeout(Duration::from_secs(10), placed.recv())
                .await?
                .ok_or("the broker wrapper ended")?;
        if &placed_symbol != symbol {
            return Err(format!("placement for {placed_symbol}, expected {symbol}").into());
        }
        let posted_at = tokio::time::timeout(Duration::from_secs(10), posts.recv())
            .await?
            .ok_or("the relay ended")?;
        to_place.push(placed_at - sent);
        to_post.push(posted_at - sent);
        tokio::time::sleep_until(next.into()).await;
        // The first tick of this symbol after `sent` (noise ticks of others skipped).
        while let Ok((at, fed_symbol)) = fed.try_recv() {
            if &fed_symbol == symbol && at >= sent {
                to_feed.push(at - sent);
                while fed.try_recv().is_ok() {}
                break;
            }
        }
    }
    let elapsed = measured.elapsed();
    *noise.lock().unwrap_or_else(|e| e.into_inner()) = false;
    let (waits_after, _) = placement_waits(&engine);
    wait_for("every trade closed", Duration::from_secs(60), || {
        engine.feed_stats().watched == 0
    })
    .await?;
    let closed = engine.closed_trades(&TradeFilter::default()).await?.len();

    println!(
        "{} exits in {:.1} s, {} closed trades, {} ticks delivered, noise {}/s, database in {}",
        symbols.len(),
        elapsed.as_secs_f64(),
        closed,
        engine.feed_stats().ticks - ticks_before,
        options.noise_per_sec,
        dir.display()
    );
    println!(
        "placements that waited for Kite's budget while measuring: {}",
        waits_after - waits_before
    );
    println!(
        "REST connections opened while measuring: {} ({} in all)",
        REST_CONNECTIONS.load(std::sync::atomic::Ordering::Relaxed) - connections_before,
        REST_CONNECTIONS.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!(
        "exit POSTs sent on a new connection while measuring: {}",
        FRESH_POSTS.load(std::sync::atomic::Ordering::Relaxed) - fresh_before
    );
    println!(
        "load average before: {load_before}; after: {}",
        load_average()
    );
    summary("tick -> POST at kite-sim", &mut to_post);
    summary("tick -> place_order", &mut to_place);
    if options.probe_feed {
        summary("tick -> engine feed", &mut to_feed);
    }
    engine.shutdown().await;
    sim.shutdown().await;
    Ok(())
}
