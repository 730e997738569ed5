//! RocksDB storage: blocks with their commit certificates, state, the JMT over state,
//! transaction outcomes and metadata, each in its own column family.
//!
//! Every block's effects (block, index, state changes with their causes, tree nodes,
//! outcomes, new head) are
//! written in one `WriteBatch` with fsync, so after a crash the store is exactly at the last
//! committed block. There is one writer (the block loop); readers see whole blocks only.
//! A transaction's outcome is written once: a block that would overwrite one is refused.
//! Equivocation evidence is kept in its own column, each piece once, never deleted.

mod columns;
mod error;
mod jmt_tree;
mod keys;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::{
    Block, BlockHeight, CommitCertificate, CryptoHash, Equivocation, ExecutionOutcome, StateChangeCause,
    StateChangeRecord,
};
use rocksdb::{Direction, IteratorMode, WriteBatch, WriteOptions, DB};

pub use columns::Column;
pub use error::StoreError;
pub use jmt_tree::PreparedTree;
pub use keys::{ParsedKey, StateKey};

/// A committed block with the certificate that finalized it and the JMT version of its state.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct StoredBlock {
    pub block: Block,
    pub certificate: CommitCertificate,
    /// JMT version holding this block's post-state (unchanged by blocks without writes).
    pub jmt_version: u64,
}

/// State writes of one block: key to new value, `None` deletes.
pub type StateChanges = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A state key and its value.
pub type StateEntry = (Vec<u8>, Vec<u8>);

const META_HEAD: &[u8] = b"head";
const META_JMT_VERSION: &[u8] = b"jmt_version";
const META_GENESIS: &[u8] = b"genesis_hash";
const META_GENESIS_FILE: &[u8] = b"genesis_file_hash";

#[derive(Clone)]
pub struct Store {
    db: Arc<DB>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.db.path()).finish()
    }
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let db = DB::open_cf(&opts, path, Column::ALL.iter().map(|c| c.name()))?;
        Ok(Store { db: Arc::new(db) })
    }

    /// Bytes the store holds: its table files and memtables, over every column family.
    pub fn size_bytes(&self) -> u64 {
        Column::ALL
            .iter()
            .filter_map(|c| self.db.cf_handle(c.name()))
            .map(|cf| {
                ["rocksdb.total-sst-files-size", "rocksdb.size-all-mem-tables"]
                    .iter()
                    .filter_map(|p| self.db.property_int_value_cf(&cf, *p).ok().flatten())
                    .sum::<u64>()
            })
            .sum()
    }

    fn cf(&self, c: Column) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db.cf_handle(c.name()).ok_or(StoreError::MissingColumn(c.name()))
    }

    fn get(&self, c: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(c)?, key)?)
    }

    fn get_borsh<T: BorshDeserialize>(&self, c: Column, key: &[u8]) -> Result<Option<T>, StoreError> {
        self.get(c, key)?.map(|bytes| T::try_from_slice(&bytes).map_err(|e| StoreError::corrupt(c, e))).transpose()
    }

    /// Height of the last committed block (0 is the genesis block), `None` before init.
    pub fn head(&self) -> Result<Option<BlockHeight>, StoreError> {
        self.get(Column::Meta, META_HEAD)?.map(|b| decode_u64(Column::Meta, &b)).transpose()
    }

    pub fn genesis_hash(&self) -> Result<Option<CryptoHash>, StoreError> {
        self.get_borsh(Column::Meta, META_GENESIS)
    }

    /// Canonical hash of the genesis file the store was initialised from.
    pub fn genesis_file_hash(&self) -> Result<Option<CryptoHash>, StoreError> {
        self.get_borsh(Column::Meta, META_GENESIS_FILE)
    }

    /// Latest JMT version that has a root, `None` while the state is empty.
    pub fn jmt_version(&self) -> Result<Option<u64>, StoreError> {
        self.get(Column::Meta, META_JMT_VERSION)?.map(|b| decode_u64(Column::Meta, &b)).transpose()
    }

    pub fn block(&self, height: BlockHeight) -> Result<Option<StoredBlock>, StoreError> {
        self.get_borsh(Column::Blocks, &height.to_be_bytes())
    }

    pub fn height_of(&self, hash: &CryptoHash) -> Result<Option<BlockHeight>, StoreError> {
        self.get(Column::BlockIndex, hash.as_bytes())?.map(|b| decode_u64(Column::BlockIndex, &b)).transpose()
    }

    pub fn head_block(&self) -> Result<Option<StoredBlock>, StoreError> {
        match self.head()? {
            Some(h) => self.block(h),
            None => Ok(None),
        }
    }

    pub fn outcome(&self, tx_hash: &CryptoHash) -> Result<Option<ExecutionOutcome>, StoreError> {
        self.get_borsh(Column::Outcomes, tx_hash.as_bytes())
    }

    /// Keeps a piece of evidence (durably); false if it was kept already.
    pub fn put_evidence(&self, evidence: &Equivocation) -> Result<bool, StoreError> {
        let id = evidence.id();
        if self.get(Column::Evidence, id.as_bytes())?.is_some() {
            return Ok(false);
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.put_cf_opt(self.cf(Column::Evidence)?, id.as_bytes(), borsh::to_vec(evidence)?, &opts)?;
        Ok(true)
    }

    /// Every piece of evidence kept, in id order.
    pub fn evidence(&self) -> Result<Vec<Equivocation>, StoreError> {
        let cf = self.cf(Column::Evidence)?;
        let mut out = Vec::new();
        for item in self.db.iterator_cf(cf, IteratorMode::Start) {
            let (_, bytes) = item?;
            out.push(Equivocation::try_from_slice(&bytes).map_err(|e| StoreError::corrupt(Column::Evidence, e))?);
        }
        Ok(out)
    }

    /// The state writes block `height` made, with their causes (empty for a block that
    /// wrote nothing).
    pub fn changes(&self, height: BlockHeight) -> Result<Vec<StateChangeRecord>, StoreError> {
        Ok(self.get_borsh(Column::Changes, &height.to_be_bytes())?.unwrap_or_default())
    }

    pub fn state(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(Column::State, key)
    }

    /// The Merkle root of the state at a JMT version.
    pub fn root_at(&self, version: u64) -> Result<CryptoHash, StoreError> {
        jmt_tree::root_at(self, version)
    }

    /// A state entry as of a JMT version (a block's `jmt_version`), from the tree's history.
    pub fn state_at(&self, key: &[u8], version: u64) -> Result<Option<Vec<u8>>, StoreError> {
        jmt_tree::value_at(self, key, version)
    }

    /// A state entry as of a JMT version with its Merkle proof against that version's root
    /// (borsh `jmt::proof::SparseMerkleProof<Sha3_256>`; non-existence when absent).
    pub fn prove_at(&self, key: &[u8], version: u64) -> Result<(Option<Vec<u8>>, Vec<u8>), StoreError> {
        jmt_tree::prove(self, key, version)
    }

    /// All state entries whose key starts with `prefix`, in key order.
    pub fn state_prefix(&self, prefix: &[u8]) -> Result<Vec<StateEntry>, StoreError> {
        let iter = self.db.iterator_cf(self.cf(Column::State)?, IteratorMode::From(prefix, Direction::Forward));
        let mut out = Vec::new();
        for item in iter {
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// Computes the state root after `changes` on the latest tree version, without writing
    /// anything.
    pub fn prepare_tree(&self, changes: &StateChanges) -> Result<PreparedTree, StoreError> {
        jmt_tree::prepare(self, changes, self.jmt_version()?)
    }

    /// As [`Store::prepare_tree`], on tree version `base` (a block's update may be computed
    /// while another commits; a stale one is refused when written).
    pub fn prepare_tree_on(&self, changes: &StateChanges, base: Option<u64>) -> Result<PreparedTree, StoreError> {
        jmt_tree::prepare(self, changes, base)
    }

    /// Writes a block and all its effects atomically and durably, and makes it the head.
    /// `tree` must come from [`Store::prepare_tree`] on the same changes with no commit since.
    /// `records` are the same writes with their causes, as the runtime made them.
    pub fn commit_block(
        &self,
        stored: &StoredBlock,
        changes: &StateChanges,
        records: &[StateChangeRecord],
        tree: PreparedTree,
        outcomes: &[ExecutionOutcome],
    ) -> Result<(), StoreError> {
        self.commit(stored, changes, records, tree, outcomes, None)
    }

    /// Commits the genesis block (height 0) and records which genesis file it came from.
    pub fn commit_genesis(
        &self,
        stored: &StoredBlock,
        changes: &StateChanges,
        tree: PreparedTree,
        genesis_file_hash: CryptoHash,
    ) -> Result<(), StoreError> {
        let records: Vec<StateChangeRecord> = changes
            .iter()
            .map(|(key, value)| StateChangeRecord {
                cause: StateChangeCause::InitialState,
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        self.commit(stored, changes, &records, tree, &[], Some(genesis_file_hash))
    }

    fn commit(
        &self,
        stored: &StoredBlock,
        changes: &StateChanges,
        records: &[StateChangeRecord],
        tree: PreparedTree,
        outcomes: &[ExecutionOutcome],
        genesis_file_hash: Option<CryptoHash>,
    ) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let height = stored.block.header.height;
        if let Some(file_hash) = genesis_file_hash {
            batch.put_cf(self.cf(Column::Meta)?, META_GENESIS, stored.block.hash().as_bytes());
            batch.put_cf(self.cf(Column::Meta)?, META_GENESIS_FILE, file_hash.as_bytes());
        }
        batch.put_cf(self.cf(Column::Blocks)?, height.to_be_bytes(), borsh::to_vec(stored)?);
        batch.put_cf(self.cf(Column::BlockIndex)?, stored.block.hash().as_bytes(), height.to_be_bytes());
        let state = self.cf(Column::State)?;
        for (k, v) in changes {
            match v {
                Some(v) => batch.put_cf(state, k, v),
                None => batch.delete_cf(state, k),
            }
        }
        if !records.is_empty() {
            batch.put_cf(self.cf(Column::Changes)?, height.to_be_bytes(), borsh::to_vec(records)?);
        }
        let outcomes_cf = self.cf(Column::Outcomes)?;
        for o in outcomes {
            if self.db.get_pinned_cf(outcomes_cf, o.tx_hash.as_bytes())?.is_some() {
                return Err(StoreError::OutcomeExists { height, tx_hash: o.tx_hash });
            }
            batch.put_cf(outcomes_cf, o.tx_hash.as_bytes(), borsh::to_vec(o)?);
        }
        jmt_tree::write(self, tree, &mut batch)?;
        batch.put_cf(self.cf(Column::Meta)?, META_HEAD, height.to_be_bytes());
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch, &opts)?;
        Ok(())
    }
}

fn decode_u64(c: Column, bytes: &[u8]) -> Result<u64, StoreError> {
    let arr: [u8; 8] =
        bytes.try_into().map_err(|_| StoreError::corrupt(c, format!("expected 8 bytes, found {}", bytes.len())))?;
    Ok(u64::from_be_bytes(arr))
}
