-- Candles stored by symbol, with no secondary index (issue 6 item 9: fewer WAL pages
-- per candle).
--
-- In 0001 `candles` was a rowid table with two indexes: the primary key
-- (symbol, seq) and the unique (symbol, time). A candle's insert and its pruning
-- then wrote the table's newest page, an older table page, one leaf of each index,
-- all scattered over the symbols: about four pages of WAL per candle. Here the
-- table is the (symbol, seq) b-tree itself (WITHOUT ROWID): a symbol's newest
-- candles share one leaf, so a candle's insert and its prune write one page.
--
-- The (symbol, time) index goes: repeated alerts are recognised in memory from the
-- times of the symbol's stored candles (loaded at start), never by the database.
--
-- Existing candles are copied as they are.
CREATE TABLE candles_by_symbol (
    symbol       TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    time         TEXT,
    open_micros  INTEGER,
    high_micros  INTEGER NOT NULL,
    low_micros   INTEGER NOT NULL,
    close_micros INTEGER NOT NULL,
    volume       INTEGER,
    PRIMARY KEY (symbol, seq)
) STRICT, WITHOUT ROWID;

INSERT INTO candles_by_symbol (symbol, seq, time, open_micros, high_micros, low_micros,
    close_micros, volume)
SELECT symbol, seq, time, open_micros, high_micros, low_micros, close_micros, volume
FROM candles;

DROP INDEX candles_symbol_time;
DROP TABLE candles;
ALTER TABLE candles_by_symbol RENAME TO candles;

-- `symbols.next_seq` is from now on written only with the rest of the row (when the
-- levels, parameters or history_from change); at start the engine takes the newest
-- stored candle's seq + 1 when that is higher. Nothing to convert for that.
