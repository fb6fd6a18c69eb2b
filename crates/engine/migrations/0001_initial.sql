-- kitebreak's durable state. Prices are INTEGER micro-units (six decimals, exact);
-- money (P&L) is TEXT decimal; times are RFC 3339 TEXT in UTC. Never REAL.

-- One row per symbol the engine has seen: its parameters and current levels.
CREATE TABLE symbols (
    symbol              TEXT PRIMARY KEY NOT NULL,
    lookback            INTEGER NOT NULL,
    profit_target_micros INTEGER NOT NULL,
    stop_loss_micros    INTEGER NOT NULL,
    relevel             TEXT NOT NULL,
    quantity            INTEGER NOT NULL,
    support_micros      INTEGER,
    resistance_micros   INTEGER,
    -- Candles with seq >= history_from belong to the strategy's history (a reset or a
    -- fresh relevel moves it forward); next_seq numbers the next candle.
    history_from        INTEGER NOT NULL DEFAULT 0,
    next_seq            INTEGER NOT NULL DEFAULT 0,
    updated_at          TEXT NOT NULL
) STRICT;

-- The newest candles per symbol (pruned to max(50, lookback + 2)).
CREATE TABLE candles (
    symbol       TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    time         TEXT,
    open_micros  INTEGER,
    high_micros  INTEGER NOT NULL,
    low_micros   INTEGER NOT NULL,
    close_micros INTEGER NOT NULL,
    volume       INTEGER,
    PRIMARY KEY (symbol, seq)
) STRICT;

-- A repeated alert (same symbol, same candle time) is recognised by this index.
CREATE UNIQUE INDEX candles_symbol_time ON candles (symbol, time) WHERE time IS NOT NULL;

-- The open trade of a symbol, if any.
CREATE TABLE open_trades (
    symbol          TEXT PRIMARY KEY NOT NULL,
    direction       TEXT NOT NULL,
    entry_micros    INTEGER NOT NULL,
    target_micros   INTEGER NOT NULL,
    stop_micros     INTEGER NOT NULL,
    quantity        INTEGER NOT NULL,
    entry_time      TEXT,
    entry_order_id  TEXT
) STRICT;

-- Every order kitebreak asked for, recorded with its tag before it is sent.
CREATE TABLE orders (
    tag              TEXT PRIMARY KEY NOT NULL,
    seq              INTEGER NOT NULL UNIQUE,
    symbol           TEXT NOT NULL,
    purpose          TEXT NOT NULL,   -- entry | exit | manual
    side             TEXT NOT NULL,   -- BUY | SELL
    quantity         INTEGER NOT NULL,
    signal_micros    INTEGER,
    status           TEXT NOT NULL,   -- PENDING | COMPLETE | REJECTED | LOST
    broker_order_id  TEXT,
    average_micros   INTEGER,
    filled_quantity  INTEGER,
    reason           TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
) STRICT;

CREATE INDEX orders_status ON orders (status);

CREATE TABLE closed_trades (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    symbol          TEXT NOT NULL,
    direction       TEXT NOT NULL,
    entry_micros    INTEGER NOT NULL,
    exit_micros     INTEGER NOT NULL,
    target_micros   INTEGER NOT NULL,
    stop_micros     INTEGER NOT NULL,
    quantity        INTEGER NOT NULL,
    entry_time      TEXT,
    exit_time       TEXT,
    exit_reason     TEXT NOT NULL,
    pnl             TEXT NOT NULL,
    pnl_percent     TEXT NOT NULL,
    entry_order_id  TEXT,
    exit_order_id   TEXT
) STRICT;

CREATE INDEX closed_trades_symbol ON closed_trades (symbol, id);

-- Append-only audit log: what happened, in commit order.
CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    time    TEXT NOT NULL,
    symbol  TEXT,
    kind    TEXT NOT NULL,
    detail  TEXT NOT NULL
) STRICT;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
