//! The WebSocket ticker: Kite's binary market-data protocol and text order updates.

pub mod packet;
pub mod ws;
