//! Risk limits and the kill switch, as a pure check run before every entry order
//! (strategy or manual). Exits are never refused by risk.
//!
//! The engine gathers an [`Exposure`] (open trades, today's realized and unrealized
//! P&L) and asks [`RiskLimits::check_entry`]; nothing here reads a clock or a store.

use std::fmt;

use kitebreak_price::{Money, Price, Quantity};

/// The kill switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KillSwitch {
    /// Trading normally.
    #[default]
    Active,
    /// No new entries; open trades are still exited.
    Halted,
    /// Exit every open trade now, then halted.
    Flatten,
}

impl KillSwitch {
    /// The name stored and shown: `active`, `halted` or `flatten`.
    pub fn as_str(self) -> &'static str {
        match self {
            KillSwitch::Active => "active",
            KillSwitch::Halted => "halted",
            KillSwitch::Flatten => "flatten",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<KillSwitch> {
        match text {
            "active" => Some(KillSwitch::Active),
            "halted" => Some(KillSwitch::Halted),
            "flatten" => Some(KillSwitch::Flatten),
            _ => None,
        }
    }
}

/// Limits on new entries; `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RiskLimits {
    /// Most trades open at once, across symbols.
    pub max_open_trades: Option<u32>,
    /// Largest quantity of one order.
    pub max_order_quantity: Option<Quantity>,
    /// Largest value (price × quantity) of one order, rupees.
    pub max_order_value: Option<Money>,
    /// Entries stop once today's P&L (realized plus unrealized) is at or below minus
    /// this, rupees.
    pub max_daily_loss: Option<Money>,
}

/// What is at risk when an entry is considered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exposure {
    /// Trades open or being entered, across symbols, not counting the candidate.
    pub open_trades: u32,
    /// Today's realized P&L plus the unrealized P&L of open trades at latest prices.
    pub pnl_today: Money,
}

/// Why an entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskRefusal {
    /// The kill switch is not `active`.
    KillSwitch(KillSwitch),
    /// As many trades are open as allowed.
    MaxOpenTrades(u32),
    /// The order's quantity is above the limit.
    MaxOrderQuantity {
        /// The limit.
        limit: Quantity,
        /// The order's quantity.
        quantity: Quantity,
    },
    /// The order's value is above the limit.
    MaxOrderValue {
        /// The limit.
        limit: Money,
        /// Price × quantity.
        value: Money,
    },
    /// No price is known, so the order's value cannot be checked.
    NoPrice,
    /// Today's loss reached the limit.
    MaxDailyLoss {
        /// The limit.
        limit: Money,
        /// Today's P&L.
        pnl: Money,
    },
}

impl fmt::Display for RiskRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RiskRefusal::KillSwitch(state) => {
                write!(f, "risk: kill switch is {}, no new entries", state.as_str())
            }
            RiskRefusal::MaxOpenTrades(limit) => {
                write!(f, "risk: {limit} trades already open (max_open_trades)")
            }
            RiskRefusal::MaxOrderQuantity { limit, quantity } => write!(
                f,
                "risk: quantity {} is above max_order_quantity {}",
                quantity.get(),
                limit.get()
            ),
            RiskRefusal::MaxOrderValue { limit, value } => {
                write!(
                    f,
                    "risk: order value {value} is above max_order_value {limit}"
                )
            }
            RiskRefusal::NoPrice => {
                write!(f, "risk: no price known to check max_order_value")
            }
            RiskRefusal::MaxDailyLoss { limit, pnl } => write!(
                f,
                "risk: today's P&L {pnl} reached max_daily_loss {limit}; entries halted"
            ),
        }
    }
}

impl RiskLimits {
    /// Whether an entry of `quantity` at about `price` (unknown: `None`) may be sent.
    pub fn check_entry(
        &self,
        switch: KillSwitch,
        exposure: Exposure,
        price: Option<Price>,
        quantity: Quantity,
    ) -> Result<(), RiskRefusal> {
        if switch != KillSwitch::Active {
            return Err(RiskRefusal::KillSwitch(switch));
        }
        if let Some(limit) = self.max_open_trades
            && exposure.open_trades >= limit
        {
            return Err(RiskRefusal::MaxOpenTrades(limit));
        }
        if let Some(limit) = self.max_order_quantity
            && quantity > limit
        {
            return Err(RiskRefusal::MaxOrderQuantity { limit, quantity });
        }
        if let Some(limit) = self.max_order_value {
            let price = price.ok_or(RiskRefusal::NoPrice)?;
            let value = price.times(quantity);
            if value > limit {
                return Err(RiskRefusal::MaxOrderValue { limit, value });
            }
        }
        if let Some(limit) = self.max_daily_loss
            && exposure.pnl_today <= -limit
        {
            return Err(RiskRefusal::MaxDailyLoss {
                limit,
                pnl: exposure.pnl_today,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
