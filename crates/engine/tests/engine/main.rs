//! The engine's integration tests: one binary, one module per behaviour.

mod armed;
mod feed_coalesce;
mod golden;
mod helpers;
mod kite;
mod kite_calls;
mod kite_exit;
mod kite_feed;
mod kite_protect;
mod kite_protect_gtt;
mod kite_recovery;
mod kite_unknown;
mod kite_updates;
mod lifecycle;
mod market;
mod paper_recovery;
mod recovery;
mod risk;
mod scenario;
mod session;
mod store;
mod unsettled;
