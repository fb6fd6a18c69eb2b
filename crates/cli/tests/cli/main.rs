//! The `kitebreak` binary, run as a user runs it: `serve` (start, health, SIGTERM,
//! demo), configuration errors and `--print-config`, `replay` against a server, and
//! `trace` against the golden files.

mod config;
mod crash;
mod demo;
mod helpers;
mod login;
mod replay;
mod serve;
mod session;
mod trace;
