//! Generators: strategy parameters, markets and the bars that walk a price through them,
//! the actions of a scenario, and trades with price observations close to them.
//!
//! Only values come from here; running them through the strategy is `scenario`'s job.

use kitebreak_strategy::{
    Candle, Direction, Price, Quantity, Ratio, Relevel, StrategyParams, Trade,
};
use proptest::collection::vec;
use proptest::prelude::{Just, prop_oneof};
use proptest::sample::select;
use proptest::strategy::Strategy as Generator;

/// Profit targets and stop losses to draw from, in millionths (1% to 5%).
const FRACTIONS: [u32; 5] = [10_000, 15_000, 20_000, 30_000, 50_000];

/// The 0.05 price grid most generated markets live on, in micro-units.
const GRID: i64 = 50_000;

pub(crate) fn any_relevel() -> impl Generator<Value = Relevel> {
    prop_oneof![Just(Relevel::Fresh), Just(Relevel::Rolling)]
}

/// Lookbacks 1 to 30, and now and then one whose window is longer than the 50 candles
/// the history keeps otherwise.
pub(crate) fn any_lookback() -> impl Generator<Value = usize> {
    prop_oneof![9 => 1usize..=30, 1 => 31usize..=70]
}

pub(crate) fn params_with(
    lookback: impl Generator<Value = usize>,
    relevel: impl Generator<Value = Relevel>,
) -> impl Generator<Value = StrategyParams> {
    let fraction = || select(FRACTIONS.to_vec()).prop_map(Ratio::per_million);
    (lookback, fraction(), fraction(), relevel, 1u32..=100).prop_map(
        |(lookback, target, stop, relevel, quantity)| {
            let quantity = Quantity::new(quantity).expect("1..=100 is a valid quantity");
            StrategyParams::new(lookback, target, stop, relevel, quantity)
                .expect("generated parameters are within their ranges")
        },
    )
}

/// Where a walk starts and how far one step moves it, in micro-units.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Market {
    base: i64,
    unit: i64,
}

pub(crate) fn market() -> impl Generator<Value = Market> {
    // 100 to 5000 on the 0.05 grid, one step 0.25% to 1% of the start.
    let on_grid =
        (2_000i64..=100_000, select(vec![100i64, 200, 400])).prop_map(|(ticks, moves)| {
            let base = ticks * GRID;
            Market {
                base,
                unit: (base / moves / GRID).max(1) * GRID,
            }
        });
    // Any micro-unit price: targets then need the spec's rounding rule.
    let off_grid =
        (100_000_000i64..=5_000_000_000, 0i64..100_000).prop_map(|(base, jitter)| Market {
            base,
            unit: base / 200 + jitter,
        });
    prop_oneof![4 => on_grid, 1 => off_grid]
}

/// One candle of a walk: the close moves `step` units, high and low sit `up` and
/// `down` units away from it (negative offsets make an inconsistent candle).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bar {
    step: i8,
    up: i8,
    down: i8,
}

pub(crate) fn bar() -> impl Generator<Value = Bar> {
    let offset = || prop_oneof![9 => 0i8..=2, 1 => -2i8..=-1];
    (-4i8..=4, offset(), offset()).prop_map(|(step, up, down)| Bar { step, up, down })
}

/// Turns bars into candles, keeping every price positive.
pub(crate) struct Walker {
    market: Market,
    level: i64,
    floor: i64,
}

impl Walker {
    pub(crate) fn new(market: Market) -> Walker {
        Walker {
            market,
            level: 0,
            // At most half the start below it, so lows stay well above zero.
            floor: -(market.base / market.unit / 2),
        }
    }

    fn micros(&self, level: i64) -> i64 {
        self.market.base + level * self.market.unit
    }

    fn price(&self, level: i64) -> Price {
        Price::from_micros(self.micros(level)).expect("levels above the floor are positive")
    }

    pub(crate) fn next(&mut self, bar: Bar) -> Candle {
        self.level = (self.level + i64::from(bar.step)).max(self.floor);
        Candle {
            high: self.price(self.level + i64::from(bar.up)),
            low: self.price(self.level - i64::from(bar.down)),
            close: self.price(self.level),
        }
    }

    /// A price `thousandths` of a unit away from `price`: lands between grid points too.
    pub(crate) fn shift(&self, price: Price, thousandths: i64) -> Price {
        let micros = price.micros() + self.market.unit * thousandths / 1_000;
        Price::from_micros(micros.max(1)).expect("clamped to a positive price")
    }

    pub(crate) fn last_close(&self) -> Price {
        self.price(self.level)
    }
}

pub(crate) fn walk(market: Market, bars: &[Bar]) -> Vec<Candle> {
    let mut walker = Walker::new(market);
    bars.iter().map(|bar| walker.next(*bar)).collect()
}

/// What a scenario does next.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Action {
    Candle(Bar),
    /// A tick or LTP poll, `thousandths` of a unit from the last close.
    Tick(i64),
    /// The broker fills whatever is pending, `thousandths` of a unit from its signal.
    BrokerFill(i64),
    /// The broker rejects whatever is pending.
    BrokerReject,
}

fn action() -> impl Generator<Value = Action> {
    prop_oneof![
        16 => bar().prop_map(Action::Candle),
        3 => (-3_000i64..=3_000).prop_map(Action::Tick),
        2 => (-1_000i64..=1_000).prop_map(Action::BrokerFill),
        1 => Just(Action::BrokerReject),
    ]
}

#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    pub(crate) params: StrategyParams,
    pub(crate) market: Market,
    pub(crate) actions: Vec<Action>,
}

pub(crate) fn scenario_with(
    relevel: impl Generator<Value = Relevel>,
) -> impl Generator<Value = Scenario> {
    (
        params_with(any_lookback(), relevel),
        market(),
        vec(action(), 0..400),
    )
        .prop_map(|(params, market, actions)| Scenario {
            params,
            market,
            actions,
        })
}

pub(crate) fn scenario() -> impl Generator<Value = Scenario> {
    scenario_with(any_relevel())
}

pub(crate) fn any_trade() -> impl Generator<Value = Trade> {
    let direction = prop_oneof![Just(Direction::Long), Just(Direction::Short)];
    let offset = -1_000i64..=1_000;
    (
        direction,
        100_000_000i64..=5_000_000_000,
        offset.clone(),
        offset,
        1u32..=100,
    )
        .prop_map(|(direction, entry, target, stop, quantity)| {
            // Target and stop anywhere within 10% of the entry, on either side.
            let at = |thousandths: i64| {
                Price::from_micros(entry + entry / 10 * thousandths / 1_000)
                    .expect("within 10% of a positive entry")
            };
            Trade {
                direction,
                price_entry: at(0),
                price_target: at(target),
                price_stop: at(stop),
                quantity: Quantity::new(quantity).expect("1..=100 is a valid quantity"),
                entry_time: None,
                entry_order_id: None,
            }
        })
}

/// An observed price relative to a trade: right at its target or stop (give or take a
/// micro-unit or two), or anywhere within 10% of its entry.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Near {
    Target(i64),
    Stop(i64),
    Entry(i64),
}

impl Near {
    pub(crate) fn price(self, trade: &Trade) -> Price {
        let micros = match self {
            Near::Target(delta) => trade.price_target.micros() + delta,
            Near::Stop(delta) => trade.price_stop.micros() + delta,
            Near::Entry(thousandths) => {
                let entry = trade.price_entry.micros();
                entry + entry / 10 * thousandths / 1_000
            }
        };
        Price::from_micros(micros).expect("close to a positive price")
    }
}

pub(crate) fn observation() -> impl Generator<Value = Near> {
    prop_oneof![
        (-2i64..=2).prop_map(Near::Target),
        (-2i64..=2).prop_map(Near::Stop),
        (-1_000i64..=1_000).prop_map(Near::Entry),
    ]
}
