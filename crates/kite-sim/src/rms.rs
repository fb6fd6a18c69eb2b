//! The RMS checks an accepted order goes through before it reaches the exchange.
//!
//! Each failing check turns the order REJECTED with Kite's kind of message (instrument,
//! index, the 2026 market-protection rule, lot size, tick size, circuit band, margin).
//! Pure: the book and the market context are passed in.

use kitebreak_price::Price;

use crate::book::{Book, Context};
use crate::matching::Side;
use crate::order::OrderRequest;
use crate::positions::margin_percent;

/// Why the RMS or the exchange rejects an accepted order, if it does.
pub fn rejection(book: &Book, request: &OrderRequest, cx: Context<'_>) -> Option<String> {
    let Some(instrument) = cx.instrument else {
        return Some(
            "The instrument you are placing an order for has either expired or does not exist."
                .into(),
        );
    };
    if instrument.is_index() {
        return Some("Indices are not tradable.".into());
    }
    if request.order_type.needs_market_protection() && request.market_protection == 0.0 {
        return Some("Market orders without market protection are not allowed. Set `market_protection` (1-100, or -1 for automatic).".into());
    }
    if instrument.lot_size > 1 && !request.quantity.is_multiple_of(instrument.lot_size) {
        return Some(format!(
            "Quantity should be a multiple of lot size {}.",
            instrument.lot_size
        ));
    }
    if let Some(tick) = instrument.tick {
        let off_tick = [request.price, request.trigger]
            .into_iter()
            .flatten()
            .any(|p| p.micros() % tick.micros() != 0);
        if off_tick {
            return Some(format!(
                "Tick size for this script is {tick}. Kindly enter price in the multiple of tick size for this script."
            ));
        }
    }
    if let (Some(price), Some(close)) = (request.price, cx.close) {
        let (lower, upper) = circuit(close);
        if price.micros() < lower || price.micros() > upper {
            return Some("Your order price is outside the daily range (circuit limits). Place an order within the daily range.".into());
        }
    }
    margin_rejection(book, request, cx.last?)
}

fn margin_rejection(book: &Book, request: &OrderRequest, last: Price) -> Option<String> {
    let price = request.price.unwrap_or(last);
    let required = i128::from(price.micros())
        * i128::from(request.quantity)
        * margin_percent(&request.product)
        / 100;
    let reducing = book
        .positions()
        .iter()
        .find(|p| {
            p.exchange == request.exchange
                && p.tradingsymbol == request.tradingsymbol
                && p.product == request.product
        })
        .is_some_and(|p| match request.side {
            Side::Buy => p.net() < 0,
            Side::Sell => p.net() > 0,
        });
    let available = book.available();
    (!reducing && required > available).then(|| {
        format!(
            "Insufficient funds. Required margin is {} but available margin is {}.",
            rupees(required),
            rupees(available)
        )
    })
}

/// Daily price band around the previous close: ±20%, in micros.
pub fn circuit(close: Price) -> (i64, i64) {
    let band = close.micros() / 5;
    (close.micros() - band, close.micros() + band)
}

fn rupees(micros: i128) -> String {
    format!("{:.2}", micros as f64 / 1e6)
}
