//! [`Order`] and [`OrderRequest`]: what a client asked for and what became of it.
//!
//! `OrderRequest::parse` turns the form of `POST /orders/{variety}` into typed terms;
//! a missing or malformed required field is an input error (HTTP 400, no order), the way
//! Kite answers. Checks that Kite makes after accepting an order (tick size, circuit,
//! margin, market protection) live in the book and end as a REJECTED order instead.

use jiff::Timestamp;
use kitebreak_price::Price;

use crate::matching::{OrderType, Side, Terms};
use crate::params::Params;
use crate::status::Status;

/// Kite allows tags of at most 20 characters.
pub const MAX_TAG: usize = 20;

/// A parsed order placement.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRequest {
    /// `regular` or `amo`.
    pub variety: String,
    /// Exchange, e.g. `NSE`.
    pub exchange: String,
    /// Trading symbol.
    pub tradingsymbol: String,
    /// Buy or sell.
    pub side: Side,
    /// Order type.
    pub order_type: OrderType,
    /// `CNC`, `MIS`, `NRML`, `MTF`.
    pub product: String,
    /// `DAY`, `IOC`, `TTL`.
    pub validity: String,
    /// Units.
    pub quantity: u32,
    /// Disclosed units.
    pub disclosed_quantity: u32,
    /// Limit price.
    pub price: Option<Price>,
    /// Trigger price.
    pub trigger: Option<Price>,
    /// `market_protection` as sent (0 when absent).
    pub market_protection: f64,
    /// Client tag.
    pub tag: Option<String>,
}

/// Reads an optional price field; `0` means "not given", as clients send it.
pub fn optional_price(params: &Params, key: &str) -> Result<Option<Price>, String> {
    match params.get(key) {
        None => Ok(None),
        Some(text) if text.parse::<f64>().is_ok_and(|v| v == 0.0) => Ok(None),
        Some(text) => text
            .parse::<Price>()
            .map(Some)
            .map_err(|_| format!("Invalid `{key}`.")),
    }
}

fn required<'a>(params: &'a Params, key: &str) -> Result<&'a str, String> {
    params
        .get(key)
        .ok_or_else(|| format!("Missing or empty field `{key}`."))
}

fn whole(params: &Params, key: &str) -> Result<Option<u32>, String> {
    params
        .get(key)
        .map(|t| t.parse::<u32>().map_err(|_| format!("Invalid `{key}`.")))
        .transpose()
}

impl OrderRequest {
    /// Parses a placement form.
    pub fn parse(variety: &str, params: &Params) -> Result<OrderRequest, String> {
        if !matches!(variety, "regular" | "amo") {
            return Err(format!(
                "Invalid variety `{variety}`; the sim supports regular and amo."
            ));
        }
        let side = Side::parse(required(params, "transaction_type")?)
            .ok_or("Invalid `transaction_type`.")?;
        let order_type =
            OrderType::parse(required(params, "order_type")?).ok_or("Invalid `order_type`.")?;
        let product = required(params, "product")?;
        if !matches!(product, "CNC" | "MIS" | "NRML" | "MTF") {
            return Err("Invalid `product`.".into());
        }
        let validity = params.get("validity").unwrap_or("DAY");
        if !matches!(validity, "DAY" | "IOC" | "TTL") {
            return Err("Invalid `validity`.".into());
        }
        let quantity = whole(params, "quantity")?
            .filter(|q| *q > 0)
            .ok_or("Invalid `quantity`.")?;
        let tag = params.get("tag").map(str::to_string);
        if tag.as_ref().is_some_and(|t| t.chars().count() > MAX_TAG) {
            return Err(format!("Invalid `tag`: at most {MAX_TAG} characters."));
        }
        let market_protection = match params.get("market_protection") {
            None => 0.0,
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|v| *v == -1.0 || (0.0..=100.0).contains(v))
                .ok_or("Invalid `market_protection`.")?,
        };
        let request = OrderRequest {
            variety: variety.to_string(),
            exchange: required(params, "exchange")?.to_string(),
            tradingsymbol: required(params, "tradingsymbol")?.to_string(),
            side,
            order_type,
            product: product.to_string(),
            validity: validity.to_string(),
            quantity,
            disclosed_quantity: whole(params, "disclosed_quantity")?.unwrap_or(0),
            price: optional_price(params, "price")?,
            trigger: optional_price(params, "trigger_price")?,
            market_protection,
            tag,
        };
        request.check_prices()?;
        Ok(request)
    }

    fn check_prices(&self) -> Result<(), String> {
        if self.order_type.needs_price() && self.price.is_none() {
            return Err("Invalid `price`.".into());
        }
        if self.order_type.needs_trigger() && self.trigger.is_none() {
            return Err("Invalid `trigger_price`.".into());
        }
        Ok(())
    }

    /// `EXCHANGE:TRADINGSYMBOL`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.exchange, self.tradingsymbol)
    }

    /// Applies the fields of a modification form (`PUT /orders/{variety}/{id}`); fields
    /// left out keep their values. Nothing changes when a field is invalid.
    pub fn amend(&mut self, params: &Params) -> Result<(), String> {
        let mut changed = self.clone();
        if let Some(text) = params.get("order_type") {
            changed.order_type = OrderType::parse(text).ok_or("Invalid `order_type`.")?;
        }
        if let Some(text) = params.get("quantity") {
            changed.quantity = text
                .parse()
                .ok()
                .filter(|q| *q > 0)
                .ok_or("Invalid `quantity`.")?;
        }
        if params.get("price").is_some() {
            changed.price = optional_price(params, "price")?;
        }
        if params.get("trigger_price").is_some() {
            changed.trigger = optional_price(params, "trigger_price")?;
        }
        if let Some(validity) = params.get("validity") {
            changed.validity = validity.to_string();
        }
        if let Some(text) = params.get("market_protection") {
            changed.market_protection = text.parse().map_err(|_| "Invalid `market_protection`.")?;
        }
        if changed.order_type.needs_price() && changed.price.is_none() {
            return Err("Invalid `price`.".into());
        }
        if changed.order_type.needs_trigger() && changed.trigger.is_none() {
            return Err("Invalid `trigger_price`.".into());
        }
        *self = changed;
        Ok(())
    }
}

/// An order and its history.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// Kite order id (15 digits, a string).
    pub order_id: String,
    /// Exchange order id, once the order reached the exchange.
    pub exchange_order_id: Option<String>,
    /// Current status.
    pub status: Status,
    /// Why it was rejected, if it was.
    pub status_message: Option<String>,
    /// What was asked.
    pub request: OrderRequest,
    /// Instrument token (0 when the instrument is unknown).
    pub token: u32,
    /// Whether a stop order's trigger was reached.
    pub triggered: bool,
    /// Units filled.
    pub filled: u32,
    /// Average fill price.
    pub average: Option<Price>,
    /// Units cancelled.
    pub cancelled: u32,
    /// When it was placed (or last modified).
    pub placed_at: Timestamp,
    /// When the exchange accepted it.
    pub exchange_at: Option<Timestamp>,
    /// Last exchange update.
    pub updated_at: Option<Timestamp>,
    /// Whether it was modified.
    pub modified: bool,
    /// Modifications so far (Kite allows 25 per order).
    pub modifications: u32,
    /// Fault: fill in two parts (half at the first matching price, the rest later).
    pub split_fill: bool,
    /// Client-side idempotency id.
    pub guid: String,
    /// Earlier states, oldest first (each without its own history).
    pub history: Vec<Order>,
}

impl Order {
    /// Matching terms.
    pub fn terms(&self) -> Terms {
        Terms {
            side: self.request.side,
            order_type: self.request.order_type,
            price: self.request.price,
            trigger: self.request.trigger,
        }
    }

    /// Units neither filled nor cancelled.
    pub fn pending(&self) -> u32 {
        self.request
            .quantity
            .saturating_sub(self.filled + self.cancelled)
    }

    /// Moves to `status` and records the new state in the history.
    pub fn enter(&mut self, status: Status, at: Timestamp) {
        self.status = status;
        if self.exchange_order_id.is_some() {
            self.updated_at = Some(at);
        }
        let history = std::mem::take(&mut self.history);
        let snapshot = self.clone();
        self.history = history;
        self.history.push(snapshot);
    }

    /// The status a postback or WebSocket update carries, if one is sent for this state:
    /// COMPLETE, CANCELLED, REJECTED, or UPDATE for a modification or a partial fill.
    pub fn update_status(&self) -> Option<&'static str> {
        let partial = self.status == Status::Open && self.filled > 0;
        self.status.postback().or(partial.then_some("UPDATE"))
    }

    /// The order as it is now, without its history (for updates and listings).
    pub fn snapshot(&self) -> Order {
        Order {
            history: Vec::new(),
            ..self.clone()
        }
    }
}
