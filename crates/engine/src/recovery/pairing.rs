//! A broker book of this process's own (the paper book, a file beside the
//! database) must belong to this database: tags are the database's order sequence
//! numbers, so a book kept while its database was deleted and started afresh would
//! hand the new orders the old ones' fills. Refused at start, before any look-up.

use crate::shard::seq_of;
use crate::store::Store;
use crate::{Broker, EngineError};

/// Refuses a broker book of this process's own (paper) that holds a tag this
/// database never issued: every tag is committed before it is sent, so such a book
/// belongs to another database (one deleted and started afresh), and adopting its
/// fills would trade on another history.
pub(super) async fn book_belongs_here(
    store: &Store,
    broker: &dyn Broker,
) -> Result<(), EngineError> {
    let last = store.last_order_seq().await?;
    let tags = broker.tags().await?;
    let foreign = tags
        .iter()
        .filter_map(|tag| Some((seq_of(tag)?, tag)))
        .filter(|(seq, _)| *seq > last)
        .max_by_key(|(seq, _)| *seq);
    match foreign {
        Some((_, tag)) => Err(EngineError::ForeignBook {
            tag: tag.clone(),
            last,
        }),
        None => Ok(()),
    }
}
