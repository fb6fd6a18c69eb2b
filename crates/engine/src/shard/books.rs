//! [`Books`]: every symbol's [`Book`], already split by shard, as recovery builds
//! them and the shards take them over.
//!
//! Built per shard from the start, so handing them to the shards moves each map
//! whole: with 10,000 symbols, re-inserting every book from one map into per-shard
//! maps held two tables of ~7 MB at once at the start-up peak.

use std::collections::HashMap;

use super::Book;
use crate::Symbol;
use crate::engine::shard_of;

/// Books keyed by symbol, in one map per shard.
#[derive(Debug)]
pub(crate) struct Books {
    shards: Vec<HashMap<Symbol, Book>>,
}

impl Books {
    /// Room for `symbols` books over `shards` shards (at least one).
    pub fn with_capacity(shards: usize, symbols: usize) -> Books {
        let shards = shards.max(1);
        // An even share and some: hashing spreads symbols about evenly.
        let share = symbols / shards + symbols / (4 * shards) + 1;
        Books {
            shards: (0..shards).map(|_| HashMap::with_capacity(share)).collect(),
        }
    }

    fn shard(&self, symbol: &Symbol) -> usize {
        shard_of(symbol, self.shards.len())
    }

    pub fn insert(&mut self, symbol: Symbol, book: Book) {
        let shard = self.shard(&symbol);
        self.shards[shard].insert(symbol, book);
    }

    pub fn get(&self, symbol: &Symbol) -> Option<&Book> {
        self.shards[self.shard(symbol)].get(symbol)
    }

    pub fn get_mut(&mut self, symbol: &Symbol) -> Option<&mut Book> {
        let shard = self.shard(symbol);
        self.shards[shard].get_mut(symbol)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Symbol, &Book)> {
        self.shards.iter().flatten()
    }

    /// One map per shard, in shard order.
    pub fn into_shards(self) -> Vec<HashMap<Symbol, Book>> {
        self.shards
    }
}
