//! The HTTP API's integration tests: one binary, one module per behaviour.

mod auth;
mod bad_input;
mod docs;
mod fuzz;
mod helpers;
mod live;
mod login;
mod metrics;
mod original;
mod postback;
mod risk;
mod security;
mod trading;
