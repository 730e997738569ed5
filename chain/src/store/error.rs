use chain_types::CryptoHash;

use crate::store::Column;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("rocksdb: {0}")]
    RocksDb(#[from] rocksdb::Error),
    #[error("column family {0} is missing")]
    MissingColumn(&'static str),
    #[error("corrupt entry in {column}: {detail}")]
    Corrupt { column: &'static str, detail: String },
    #[error("encoding: {0}")]
    Encoding(#[from] std::io::Error),
    #[error("merkle tree: {0}")]
    Tree(String),
    #[error(
        "block {height} would overwrite the stored outcome of transaction {tx_hash} (a transaction is executed once)"
    )]
    OutcomeExists { height: u64, tx_hash: CryptoHash },
    #[error(
        "state diverged: after block {height} this node's state root is {ours}, but the validators \
         certified {theirs}; it signs nothing more. Replace its data directory with a copy of a \
         healthy validator's (or re-sync it) before restarting"
    )]
    StateDiverged { height: u64, ours: CryptoHash, theirs: CryptoHash },
}

impl StoreError {
    pub(crate) fn corrupt(c: Column, detail: impl std::fmt::Display) -> Self {
        StoreError::Corrupt { column: c.name(), detail: detail.to_string() }
    }
}
