//! A bare `serve` for the load benchmark (`bench/load.sh`) until the `kitebreak
//! serve` command lands: the paper engine over a database in the given directory,
//! on the given loopback address, until Ctrl-C or SIGTERM.
//!
//! `cargo run --release -p kitebreak-server --example bench_serve -- 127.0.0.1:18080 /tmp/dir [shards]`

use kitebreak_engine::EngineConfig;
use kitebreak_server::{ServerConfig, serve};

/// The allocator the `kitebreak` binary uses (configured in `.cargo/config.toml`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:18080".into());
    let dir = args
        .next()
        .ok_or("usage: bench_serve ADDRESS DATA_DIR [SHARDS]")?;
    let mut engine = EngineConfig::new(std::path::Path::new(&dir).join("kitebreak.db"));
    if let Some(shards) = args.next() {
        engine.shards = shards.parse()?;
    }
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("bench_serve listening on {address}, data in {dir}");
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    serve(ServerConfig::new(engine), listener, shutdown).await?;
    Ok(())
}
