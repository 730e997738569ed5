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
}

impl StoreError {
    pub(crate) fn corrupt(c: Column, detail: impl std::fmt::Display) -> Self {
        StoreError::Corrupt { column: c.name(), detail: detail.to_string() }
    }
}
