//! Integration tests of the Kite adapter against kite-sim and wiremock on loopback.

mod errors;
mod fixtures;
mod gtt;
mod helpers;
mod historical;
mod instruments;
mod limits;
mod orders;
mod requests;
mod session;
mod ticker;
