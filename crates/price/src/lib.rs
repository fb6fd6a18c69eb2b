//! Exact numbers for trading decisions.
//!
//! Every price, ratio and amount of money in kitebreak is a fixed-point integer with
//! six decimal places ([`DECIMALS`]). Binary floating point never takes part in a
//! decision: it appears only at the wire, where a JSON number is turned into its
//! shortest decimal text and parsed exactly (see [`Price`]'s serde notes).
//!
//! - [`Price`]: a positive price of one unit of an instrument.
//! - [`Ratio`]: a non-negative fraction such as a 3% profit target (`0.03`).
//! - [`Quantity`]: a positive number of units.
//! - [`Money`]: a signed amount (P&L, order value); price × quantity.
//! - [`Percent`]: a signed percentage, such as P&L relative to the entry price.
//!
//! Price × price is not a price, so no such operator exists; the operations that make
//! sense (price ± price difference, price scaled by a ratio with an explicit rounding
//! direction, price × quantity = money) are the only ones offered.

mod error;
mod fixed;
mod money;
mod price;
mod quantity;
mod ratio;

pub use error::NumberError;
pub use fixed::{DECIMALS, Rounding};
pub use money::{Money, Percent};
pub use price::Price;
pub use quantity::Quantity;
pub use ratio::Ratio;
