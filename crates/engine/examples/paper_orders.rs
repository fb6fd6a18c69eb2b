//! What one paper order costs now that the paper book is a file: `--orders` market
//! orders placed one after another on a paper broker opened on a fresh book in a
//! temporary directory (each committed, WAL, `synchronous=FULL`, before its answer),
//! then the book reopened (the start-up read).
//!
//! ```sh
//! cargo run --release -p kitebreak-engine --example paper_orders -- [--orders 2000]
//! ```
//!
//! Prints the placement latency percentiles, the process's CPU time per order
//! (user + system, from `/proc/self/stat`, 10 ms ticks) and the time to reopen the
//! book with every order in it.

use std::time::{Duration, Instant};

use kitebreak_engine::{Broker, MarketOrder, PaperBroker, Side, Symbol};
use kitebreak_price::{Price, Quantity};

fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let total = ticks(11).unwrap_or(0) + ticks(12).unwrap_or(0);
    Duration::from_millis(total * 10)
}

fn orders() -> Result<u32, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut orders = 2000;
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--orders" => orders = value.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(orders)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count = orders()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("kitebreak.paper.db");
    let paper = PaperBroker::open(&path, 0).await?;
    let symbol = Symbol::parse("INFY")?;
    paper.observe(&symbol, Price::from_micros(1_500_000_000)?);
    let mut latencies = Vec::with_capacity(count as usize);
    let cpu_before = cpu_time();
    let started = Instant::now();
    for n in 1..=count {
        let order = MarketOrder {
            tag: format!("KB{n:06}"),
            symbol: symbol.clone(),
            side: if n % 2 == 1 { Side::Buy } else { Side::Sell },
            quantity: Quantity::ONE,
        };
        let sent = Instant::now();
        paper.place_market(order).await?;
        latencies.push(sent.elapsed());
    }
    let elapsed = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    drop(paper);
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    let opened = Instant::now();
    let reopened = PaperBroker::open(&path, 0).await?;
    let reopen = opened.elapsed();
    let held = reopened.orders().await?.len();
    println!(
        "{count} orders in {elapsed:.2?}: {:.0} orders/s; latency p50 {:.2?} p99 {:.2?} max {:.2?}; \
         CPU {:.1?} per order; reopen with {held} orders {reopen:.2?}",
        f64::from(count) / elapsed.as_secs_f64(),
        at(0.5),
        at(0.99),
        at(1.0),
        cpu / count,
    );
    Ok(())
}
