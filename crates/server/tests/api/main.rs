//! The HTTP API's integration tests: one binary, one module per behaviour.

mod auth;
mod bad_input;
mod helpers;
mod original;
mod trading;
