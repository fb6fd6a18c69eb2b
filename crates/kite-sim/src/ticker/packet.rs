//! Kite's binary tick packets, big-endian, exactly as the ticker sends them.
//!
//! A frame is a u16 packet count, then per packet a u16 length and the packet. Lengths
//! give the mode: 8 ltp, 44 quote, 184 full (with five bid and five offer levels), and
//! for indices 28 (quote) and 32 (full). Prices are integers: paise (÷100) except CDS
//! (segment 3, ÷10^7) and BCD and NCO (segments 6 and 12, ÷10^4, as the official Rust
//! client decodes them), chosen by the token's segment byte.

use jiff::Timestamp;
use kitebreak_price::Price;

use crate::instruments::Instrument;
use crate::market::{Quote, tick_of};

/// Subscription modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// 8-byte packets: token and last price.
    Ltp,
    /// 44 bytes (28 for indices).
    Quote,
    /// 184 bytes with depth (32 for indices).
    Full,
}

impl Mode {
    /// From the `mode` message's spelling.
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "ltp" => Some(Mode::Ltp),
            "quote" => Some(Mode::Quote),
            "full" => Some(Mode::Full),
            _ => None,
        }
    }
}

/// The heartbeat: a one-byte binary message.
pub const HEARTBEAT: [u8; 1] = [0];

/// Micro-units per wire unit for a segment.
fn micros_per_unit(segment: u32) -> i64 {
    match segment {
        3 => 0,        // CDS: 10^7 per rupee, finer than a micro; see `wire_price`.
        6 | 12 => 100, // BCD, NCO: 10^4 per rupee.
        _ => 10_000,   // paise
    }
}

/// A price as the wire integer for the instrument's segment.
pub fn wire_price(segment: u32, price: Price) -> u32 {
    let micros = price.micros();
    let units = match micros_per_unit(segment) {
        0 => micros.saturating_mul(10),
        per => micros / per,
    };
    u32::try_from(units.max(0)).unwrap_or(u32::MAX)
}

fn clamp(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn epoch(at: Timestamp) -> u32 {
    u32::try_from(at.as_second().max(0)).unwrap_or(u32::MAX)
}

/// One packet for an instrument in a mode.
pub fn packet(instrument: &Instrument, quote: &Quote, mode: Mode, now: Timestamp) -> Vec<u8> {
    let segment = instrument.segment();
    let px = |p: Price| wire_price(segment, p).to_be_bytes();
    let mut out = Vec::with_capacity(184);
    out.extend(instrument.token.to_be_bytes());
    out.extend(px(quote.last));
    if mode == Mode::Ltp {
        return out;
    }
    if instrument.is_index() {
        for p in [quote.high, quote.low, quote.open, quote.close] {
            out.extend(px(p));
        }
        let change = i64::from(wire_price(segment, quote.last))
            - i64::from(wire_price(segment, quote.close));
        out.extend(i32::try_from(change).unwrap_or(0).to_be_bytes());
        if mode == Mode::Full {
            out.extend(epoch(now).to_be_bytes());
        }
        return out;
    }
    out.extend(quote.last_quantity.to_be_bytes());
    out.extend(px(quote.average()));
    out.extend(clamp(quote.volume).to_be_bytes());
    out.extend(1_500u32.to_be_bytes());
    out.extend(1_500u32.to_be_bytes());
    for p in [quote.open, quote.high, quote.low, quote.close] {
        out.extend(px(p));
    }
    if mode == Mode::Quote {
        return out;
    }
    out.extend(epoch(quote.last_trade).to_be_bytes());
    out.extend([0u8; 12]); // oi, oi day high, oi day low
    out.extend(epoch(now).to_be_bytes());
    let tick = tick_of(instrument).micros();
    for (side, levels) in [(-1i64, 1..=5i64), (1, 1..=5)] {
        for level in levels {
            let micros = (quote.last.micros() + side * level * tick).max(0);
            let price = Price::from_micros(micros)
                .map(|p| wire_price(segment, p))
                .unwrap_or(0);
            out.extend((100 * level as u32).to_be_bytes());
            out.extend(price.to_be_bytes());
            out.extend((level as u16).to_be_bytes());
            out.extend([0u8; 2]);
        }
    }
    out
}

/// A frame of packets: count, then length-prefixed packets.
pub fn frame(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(
        u16::try_from(packets.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    for packet in packets.iter().take(usize::from(u16::MAX)) {
        out.extend(
            u16::try_from(packet.len())
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
        out.extend(packet);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisors_follow_the_segment() {
        let price: Price = "72.7525".parse().expect("price");
        assert_eq!(wire_price(1, price), 7_275);
        assert_eq!(wire_price(3, price), 727_525_000);
        assert_eq!(wire_price(6, price), 727_525);
        assert_eq!(wire_price(12, price), 727_525);
    }
}
