//! kite-sim's integration tests: one binary, one module per behaviour.
//!
//! Every test starts its own sim on 127.0.0.1:0 with a manual clock, so time moves only
//! when a test moves it. Fixtures are read from `../shared/kite-fixtures` beside the
//! repository and never copied in.

mod admin;
mod faults;
mod helpers;
mod lifecycle;
mod market;
mod postbacks;
mod refusals;
mod scenario;
mod session;
mod shapes;
mod ticker;
