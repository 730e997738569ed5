//! The Jellyfish Merkle tree over state, hashed with sha3-256. Versions are consecutive and
//! advance only for blocks that write state (the tree reads version v-1 to build v).

use anyhow::format_err;
use chain_types::CryptoHash;
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, Version};
use rocksdb::{Direction, IteratorMode, WriteBatch};
use sha3::Sha3_256;

use super::{Column, StateChanges, Store, StoreError};

type Tree<'a> = JellyfishMerkleTree<'a, Reader<'a>, Sha3_256>;

/// A computed but unwritten tree update.
#[derive(Debug)]
pub struct PreparedTree {
    pub root: CryptoHash,
    /// The version this update creates, `None` when nothing changed.
    pub version: Option<Version>,
    /// The version holding the post-state (new or unchanged); `None` only for empty state.
    pub state_version: Option<Version>,
    batch: Option<jmt::storage::TreeUpdateBatch>,
}

struct Reader<'a>(&'a Store);

fn value_key(key_hash: KeyHash, version: Version) -> Vec<u8> {
    let mut k = Vec::with_capacity(40);
    k.extend_from_slice(&key_hash.0);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

impl TreeReader for Reader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let key = borsh::to_vec(node_key)?;
        match self.0.get(Column::JmtNodes, &key)? {
            Some(bytes) => Ok(Some(borsh::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    fn get_value_option(&self, max_version: Version, key_hash: KeyHash) -> anyhow::Result<Option<OwnedValue>> {
        let cf = self.0.cf(Column::JmtValues)?;
        let upper = value_key(key_hash, max_version);
        let mut iter = self.0.db.iterator_cf(cf, IteratorMode::From(&upper, Direction::Reverse));
        match iter.next().transpose()? {
            Some((k, v)) if k.starts_with(&key_hash.0) => Ok(borsh::from_slice::<Option<OwnedValue>>(&v)?),
            _ => Ok(None),
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Used only by state restore. Full scan: keeps the largest key hash among leaves.
        let cf = self.0.cf(Column::JmtNodes)?;
        let mut best: Option<(NodeKey, LeafNode)> = None;
        for item in self.0.db.iterator_cf(cf, IteratorMode::Start) {
            let (k, v) = item?;
            if let Node::Leaf(leaf) = borsh::from_slice::<Node>(&v)? {
                if best.as_ref().is_none_or(|(_, b)| leaf.key_hash() > b.key_hash()) {
                    best = Some((borsh::from_slice(&k)?, leaf));
                }
            }
        }
        Ok(best)
    }
}

fn tree_err(e: anyhow::Error) -> StoreError {
    StoreError::Tree(e.to_string())
}

pub(super) fn prepare(
    store: &Store,
    changes: &StateChanges,
    current: Option<Version>,
) -> Result<PreparedTree, StoreError> {
    let reader = Reader(store);
    let tree = Tree::new(&reader);
    let current_root = match current {
        Some(v) => tree.get_root_hash(v).map_err(tree_err)?.0,
        // Only before genesis is written; every chain has genesis state.
        None => [0u8; 32],
    };
    if changes.is_empty() {
        return Ok(PreparedTree { root: CryptoHash(current_root), version: None, state_version: current, batch: None });
    }
    let version = current.map_or(0, |v| v + 1);
    let set = changes.iter().map(|(k, v)| (KeyHash::with::<Sha3_256>(k), v.clone()));
    let (root, batch) = tree.put_value_set(set, version).map_err(tree_err)?;
    Ok(PreparedTree {
        root: CryptoHash(root.0),
        version: Some(version),
        state_version: Some(version),
        batch: Some(batch),
    })
}

pub(super) fn write(store: &Store, tree: PreparedTree, batch: &mut WriteBatch) -> Result<(), StoreError> {
    let (Some(version), Some(update)) = (tree.version, tree.batch) else {
        return Ok(());
    };
    if store.jmt_version()?.map_or(0, |v| v + 1) != version {
        return Err(StoreError::Tree(format_err!("stale tree update for version {version}").to_string()));
    }
    let nodes = store.cf(Column::JmtNodes)?;
    for (key, node) in update.node_batch.nodes() {
        batch.put_cf(nodes, borsh::to_vec(key)?, borsh::to_vec(node)?);
    }
    let values = store.cf(Column::JmtValues)?;
    for ((v, key_hash), value) in update.node_batch.values() {
        batch.put_cf(values, value_key(*key_hash, *v), borsh::to_vec(value)?);
    }
    batch.put_cf(store.cf(Column::Meta)?, super::META_JMT_VERSION, version.to_be_bytes());
    Ok(())
}

/// Reads one key's value at a JMT version (historical reads).
pub(super) fn value_at(store: &Store, key: &[u8], version: Version) -> Result<Option<Vec<u8>>, StoreError> {
    Reader(store).get_value_option(version, KeyHash::with::<Sha3_256>(key)).map_err(tree_err)
}

pub(super) fn root_at(store: &Store, version: Version) -> Result<CryptoHash, StoreError> {
    let reader = Reader(store);
    Ok(CryptoHash(Tree::new(&reader).get_root_hash(version).map_err(tree_err)?.0))
}

/// A key's value at a JMT version with the borsh of its `SparseMerkleProof<Sha3_256>`
/// (existence, or non-existence when the value is `None`) against that version's root.
pub(super) fn prove(store: &Store, key: &[u8], version: Version) -> Result<(Option<Vec<u8>>, Vec<u8>), StoreError> {
    let reader = Reader(store);
    let (value, proof) =
        Tree::new(&reader).get_with_proof(KeyHash::with::<Sha3_256>(key), version).map_err(tree_err)?;
    Ok((value, borsh::to_vec(&proof)?))
}
