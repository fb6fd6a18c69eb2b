//! The `kitebreak` binary, run as a user runs it: `serve` (start, health, SIGTERM,
//! demo), configuration errors and `--print-config`, and `replay` against a server.

mod config;
mod demo;
mod helpers;
mod replay;
mod serve;
