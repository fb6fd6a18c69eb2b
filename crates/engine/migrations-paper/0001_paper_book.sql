-- The paper broker's book: its own file, separate from the engine's database (see
-- crates/engine/src/paper/file.rs). Prices are INTEGER micro-units (six decimals,
-- exact); times are RFC 3339 TEXT in UTC. Never REAL.

-- Every order the paper broker received, with its one fill (a paper market order
-- fills at once, completely, or is rejected). Written, in one transaction, before
-- `place_market` returns.
CREATE TABLE paper_orders (
    seq                  INTEGER PRIMARY KEY,      -- the order of placement
    order_id             TEXT NOT NULL UNIQUE,     -- PAPER-<tag>
    tag                  TEXT NOT NULL UNIQUE,     -- the engine's tag
    symbol               TEXT NOT NULL,
    side                 TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity             INTEGER NOT NULL CHECK (quantity > 0),
    status               TEXT NOT NULL CHECK (status IN ('COMPLETE', 'REJECTED')),
    -- The fill, for COMPLETE: average price and units.
    average_micros       INTEGER,
    filled_quantity      INTEGER,
    -- Why, for REJECTED.
    reason               TEXT,
    placed_at            TEXT NOT NULL,
    CHECK ((status = 'COMPLETE') = (average_micros IS NOT NULL AND filled_quantity IS NOT NULL))
) STRICT;
