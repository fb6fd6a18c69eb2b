//! The `kitebreak` binary, run as a user runs it: `serve` (start, health, SIGTERM,
//! demo, SIGKILL with orders in flight against kite-sim), configuration errors and `--print-config`, `replay` against a server, and
//! `trace` against the golden files.

mod config;
mod crash;
mod crash_kite;
mod demo;
mod helpers;
mod login;
mod replay;
mod serve;
mod session;
mod trace;
