//! [`World`]: the whole simulated broker at one instant, advanced by explicit calls.
//!
//! Market, account, sessions, GTTs and faults live together behind one lock so every
//! request sees a consistent state. Price changes run through the book and the GTTs in
//! order; the tokens that moved and the order updates caused are collected for the
//! runtime to publish.

use jiff::{Timestamp, civil::Weekday};
use kitebreak_price::Price;

use crate::book::{Book, Context, Refusal};
use crate::clock::ist;
use crate::config::SimConfig;
use crate::error::SimError;
use crate::faults::Faults;
use crate::gtt::Gtt;
use crate::instruments::{Catalogue, DEFAULT_INSTRUMENTS};
use crate::market::{Market, ScriptedPrice};
use crate::order::{Order, OrderRequest};
use crate::params::Params;
use crate::rng::SplitMix;
use crate::sessions::Sessions;

/// Whether NSE's continuous session (09:15–15:30 IST, Monday to Friday) is on at `at`.
pub fn market_open(at: Timestamp) -> bool {
    let local = ist().to_datetime(at);
    let minutes = i32::from(local.hour()) * 60 + i32::from(local.minute());
    !matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday) && (555..930).contains(&minutes)
}

/// The simulated broker.
#[derive(Debug, Clone)]
pub struct World {
    /// Instruments.
    pub catalogue: Catalogue,
    /// Prices.
    pub market: Market,
    /// Orders, trades, positions, margin.
    pub book: Book,
    /// API key, secret, access tokens.
    pub sessions: Sessions,
    /// GTT triggers.
    pub gtts: Vec<Gtt>,
    /// Active faults.
    pub faults: Faults,
    /// Draws fault shares.
    pub rng: SplitMix,
    /// Kite's per-second API limits (when enabled).
    pub limits: crate::limits::RateLimits,
    changed: Vec<u32>,
    squared_off: Option<jiff::civil::Date>,
}

impl World {
    /// Builds the world a configuration describes, at `now`; also returns the clock start
    /// the script implies (its first time), if it has one.
    pub fn new(config: &SimConfig, now: Timestamp) -> Result<(World, Option<Timestamp>), SimError> {
        let mut catalogue = match &config.instruments {
            Some(path) => Catalogue::from_file(path)?,
            None => Catalogue::from_csv(
                DEFAULT_INSTRUMENTS,
                std::path::Path::new("bundled instruments"),
            )?,
        };
        let script: Vec<ScriptedPrice> = match &config.prices {
            Some(path) => crate::script::load(path, now, &mut catalogue)?,
            None => Vec::new(),
        };
        let first = script.iter().map(|s| s.at).min();
        let mut market = Market::new(&catalogue, now).with_script(script, now);
        if let Some(every) = config.walk_every {
            market = market.with_walk(config.seed, every, now);
        }
        let day = ist().to_datetime(now).strftime("%y%m%d").to_string();
        let mut sessions = Sessions::new(config.api_key.clone(), config.api_secret.clone());
        if let Some(token) = &config.access_token {
            sessions.add(token, now);
        }
        sessions.all_expire_at = config.faults.tokens_expire_at;
        let world = World {
            catalogue,
            market,
            book: Book::new(i128::from(config.balance) * 1_000_000, day),
            sessions,
            gtts: Vec::new(),
            faults: config.faults.clone(),
            rng: SplitMix::new(config.seed),
            limits: crate::limits::RateLimits::new(config.strict_rate_limits),
            changed: Vec::new(),
            squared_off: None,
        };
        Ok((world, first))
    }

    /// Applies everything due up to `now`: scripted and walked prices, AMO opening.
    pub fn step(&mut self, now: Timestamp) {
        let changes = self.market.advance(now, &self.catalogue);
        self.apply(&changes, now);
        if market_open(now) {
            let market = &self.market;
            self.book
                .open_amo_orders(now, |token| market.quote(token).map(|q| q.last));
        }
        if let Some(day) = crate::squareoff::due(now, self.squared_off) {
            self.squared_off = Some(day);
            self.square_off(now);
        }
    }

    /// Cancels open MIS orders and closes MIS positions at market (the broker's 15:25).
    fn square_off(&mut self, now: Timestamp) {
        let live: Vec<(String, String)> = self
            .book
            .orders()
            .iter()
            .filter(|o| o.status.is_live() && o.request.product == "MIS")
            .map(|o| (o.request.variety.clone(), o.order_id.clone()))
            .collect();
        for (variety, order_id) in live {
            let _ = self.book.cancel(&variety, &order_id, now);
        }
        let open: Vec<OrderRequest> = self
            .book
            .positions()
            .iter()
            .filter(|p| p.product == "MIS" && p.net() != 0)
            .map(|p| OrderRequest {
                variety: "regular".into(),
                exchange: p.exchange.clone(),
                tradingsymbol: p.tradingsymbol.clone(),
                side: if p.net() > 0 {
                    crate::matching::Side::Sell
                } else {
                    crate::matching::Side::Buy
                },
                order_type: crate::matching::OrderType::Market,
                product: "MIS".into(),
                validity: "DAY".into(),
                quantity: u32::try_from(p.net().unsigned_abs()).unwrap_or(u32::MAX),
                disclosed_quantity: 0,
                price: None,
                trigger: None,
                market_protection: -1.0,
                tag: None,
            })
            .collect();
        for request in open {
            self.place_request(request, now, None, false);
        }
    }

    /// Sets one instrument's price (admin API) and lets orders react.
    pub fn set_price(&mut self, token: u32, price: Price, now: Timestamp) {
        let change = self.market.set(token, price, now);
        self.apply(&[change], now);
    }

    fn apply(&mut self, changes: &[(u32, Price)], now: Timestamp) {
        for &(token, last) in changes {
            self.changed.push(token);
            self.book.on_price(token, last, now);
            self.fire_gtts(token, last, now);
        }
    }

    fn fire_gtts(&mut self, token: u32, last: Price, now: Timestamp) {
        let mut gtts = std::mem::take(&mut self.gtts);
        for gtt in gtts.iter_mut().filter(|g| g.token == token) {
            let Some(index) = gtt.due(last) else { continue };
            let leg = gtt.legs[index].clone();
            let request = OrderRequest {
                variety: "regular".into(),
                exchange: gtt.exchange.clone(),
                tradingsymbol: gtt.tradingsymbol.clone(),
                side: leg.side,
                order_type: crate::matching::OrderType::Limit,
                product: leg.product.clone(),
                validity: "DAY".into(),
                quantity: leg.quantity,
                disclosed_quantity: 0,
                price: Some(leg.price),
                trigger: None,
                market_protection: 0.0,
                tag: None,
            };
            let order_id = self.place_request(request, now, None, false);
            gtt.legs[index].fired = Some((last, now, order_id));
            gtt.status = "triggered".into();
            gtt.updated_at = now;
        }
        self.gtts = gtts;
    }

    /// Places an order from a form (rate limit, parsing, fault rejections included);
    /// `rate_second` is the second the orders-per-second limit counts it in.
    pub fn place(
        &mut self,
        variety: &str,
        params: &Params,
        now: Timestamp,
        rate_second: i64,
    ) -> Result<String, Refusal> {
        self.book.count_placement(rate_second)?;
        let request = OrderRequest::parse(variety, params).map_err(Refusal::Input)?;
        let forced = self.faults.take_rejection();
        let split = self.faults.partial_fill_next > 0;
        self.faults.partial_fill_next = self.faults.partial_fill_next.saturating_sub(1);
        Ok(self.place_request(request, now, forced, split))
    }

    fn place_request(
        &mut self,
        request: OrderRequest,
        now: Timestamp,
        forced: Option<String>,
        split_fill: bool,
    ) -> String {
        let instrument = self.catalogue.get(&request.key());
        let quote = instrument.and_then(|i| self.market.quote(i.token));
        let cx = Context {
            now,
            instrument,
            last: quote.map(|q| q.last),
            close: quote.map(|q| q.close),
            market_open: market_open(now),
            split_fill,
        };
        self.book.place(request, cx, forced)
    }

    /// Adds a GTT from a form; returns its id.
    pub fn place_gtt(&mut self, params: &Params, now: Timestamp) -> Result<i64, String> {
        let id = self.gtts.len() as i64 + 1;
        let mut gtt = Gtt::parse(id, params, now)?;
        gtt.token = self
            .catalogue
            .get(&format!("{}:{}", gtt.exchange, gtt.tradingsymbol))
            .map(|i| i.token)
            .ok_or("The instrument does not exist.")?;
        self.gtts.push(gtt);
        Ok(id)
    }

    /// Replaces an active GTT's terms.
    pub fn modify_gtt(&mut self, id: i64, params: &Params, now: Timestamp) -> Result<i64, String> {
        let index = self.active_gtt(id)?;
        let mut gtt = Gtt::parse(id, params, now)?;
        gtt.token = self.gtts[index].token;
        gtt.created_at = self.gtts[index].created_at;
        self.gtts[index] = gtt;
        Ok(id)
    }

    /// Deletes an active GTT.
    pub fn delete_gtt(&mut self, id: i64, now: Timestamp) -> Result<i64, String> {
        let index = self.active_gtt(id)?;
        self.gtts[index].status = "deleted".into();
        self.gtts[index].updated_at = now;
        Ok(id)
    }

    fn active_gtt(&self, id: i64) -> Result<usize, String> {
        self.gtts
            .iter()
            .position(|g| g.id == id && g.status == "active")
            .ok_or_else(|| "No active trigger with that id.".into())
    }

    /// Takes the tokens whose prices changed and the order updates since the last call.
    pub fn drain(&mut self) -> (Vec<u32>, Vec<Order>) {
        let mut changed = std::mem::take(&mut self.changed);
        changed.sort_unstable();
        changed.dedup();
        (changed, self.book.drain_updates())
    }
}
