//! Building a block from the mempool, re-executing a known block, committing a decided one.
//!
//! # The pipeline
//! Execution (the runtime applying a block's transactions) is on the vote path: a proposal is
//! prevoted only once its transactions ran. The Merkle update is not: it starts on the rayon
//! pool as soon as a block is executed ([`TreeJob`]) and runs while the block is voted on; the
//! commit waits for it, so a committed block always has its tree. A header carries the root
//! *before* its block (`prev_state_root`, the parent's root), which the next proposer and every
//! voter already have.
//!
//! # Divergence
//! A proposal whose `prev_state_root` differs from ours gets a nil prevote (the proposer may be
//! the one wrong). A *certified* block whose `prev_state_root` differs from ours means a quorum
//! reached another state than this node: [`StoreError::StateDiverged`], which stops the node
//! before it signs anything more.

use std::sync::{mpsc, Arc};

use chain_types::merkle::merkle_root;
use chain_types::{
    AccountId, Block, BlockHeader, BlockHeight, CommitCertificate, CryptoHash, ExecutionOutcome, SignedTransaction,
    StateChangeRecord,
};

use crate::node::Node;
use crate::runtime::{AppliedBlock, BlockContext, TxResult};
use crate::store::{PreparedTree, StateChanges, StoreError, StoredBlock};

/// The Merkle update of an executed block, computed on the rayon pool.
#[derive(Debug)]
pub struct TreeJob(mpsc::Receiver<Result<PreparedTree, StoreError>>);

impl TreeJob {
    /// Starts the update of the tree at version `base` by `changes`.
    fn spawn(node: &Arc<Node>, changes: Arc<StateChanges>, base: u64) -> TreeJob {
        let (tx, rx) = mpsc::sync_channel(1);
        let node = Arc::clone(node);
        rayon::spawn(move || {
            // The receiver is gone when the block was not committed: nothing to report.
            let _ = tx.send(node.store.prepare_tree_on(&changes, Some(base)));
        });
        TreeJob(rx)
    }

    /// The update, once computed.
    pub fn wait(self) -> Result<PreparedTree, StoreError> {
        self.0.recv().map_err(|_| StoreError::Tree("the Merkle update stopped without a result".into()))?
    }
}

/// A block executed on top of the current head, ready to commit once its tree is computed.
#[derive(Debug)]
pub struct Executed {
    pub block: Block,
    pub changes: Arc<StateChanges>,
    pub records: Vec<StateChangeRecord>,
    pub tree: TreeJob,
    pub results: Vec<TxResult>,
}

/// The state root after `head`: what a child's header carries.
pub fn root_after(node: &Node, head: &StoredBlock) -> Result<CryptoHash, StoreError> {
    node.store.root_at(head.jmt_version)
}

/// The `outcome_root` of transactions with these results.
fn outcome_root(txs: &[SignedTransaction], results: &[TxResult]) -> CryptoHash {
    let leaves: Vec<CryptoHash> = txs
        .iter()
        .zip(results)
        .map(|(tx, r)| {
            let t = &tx.transaction;
            ExecutionOutcome::leaf_of(&tx.hash(), &t.signer_id, &t.receiver_id, &r.status, &r.logs)
        })
        .collect();
    merkle_root(&leaves)
}

fn context(node: &Node, height: BlockHeight, timestamp_ms: u64) -> BlockContext<'_> {
    BlockContext {
        chain_id: &node.genesis.chain_id,
        height,
        timestamp_ms,
        validity_blocks: node.genesis.transaction_validity_blocks,
        store: &node.store,
    }
}

/// A new block on the head from the mempool's transactions (their signatures were checked
/// when they were admitted), stamped `timestamp_ms`.
pub fn build_block(node: &Arc<Node>, proposer: AccountId, timestamp_ms: u64) -> Result<Executed, StoreError> {
    let head = node.store.head_block()?.ok_or(StoreError::Tree("store has no head".into()))?;
    let parent = &head.block.header;
    let height = parent.height + 1;
    let limits = &node.genesis.limits;
    let max = usize::try_from(limits.max_block_transactions).unwrap_or(usize::MAX);
    // Within the block's byte limit (a header's worth kept free) and cost limit, never a
    // transaction that already has an outcome (a block holding one is invalid).
    let mut room = limits.max_block_bytes.saturating_sub(HEADER_ROOM);
    let mut budget = limits.max_block_cost;
    let mut txs = Vec::new();
    for tx in node.mempool.select(max) {
        let size = borsh::object_length(&tx).map_or(u64::MAX, |n| n as u64);
        let cost = tx.cost();
        if cost > limits.max_block_cost {
            // Never fits (genesis validation and admission keep such transactions out).
            continue;
        }
        if size > room || cost > budget {
            break;
        }
        if node.store.outcome(&tx.hash())?.is_some() {
            continue;
        }
        room -= size;
        budget -= cost;
        txs.push(tx);
    }
    let AppliedBlock { changes, results, records } =
        node.runtime.apply_block(&context(node, height, timestamp_ms), &txs, false)?;
    let changes = Arc::new(changes);
    let tree = TreeJob::spawn(node, Arc::clone(&changes), head.jmt_version);
    let block = Block {
        header: BlockHeader {
            height,
            prev_hash: head.block.hash(),
            timestamp_ms,
            proposer,
            tx_root: Block::compute_tx_root(&txs),
            outcome_root: outcome_root(&txs, &results),
            next_bp_hash: node.validators.next_bp_hash(&changes)?,
            prev_state_root: root_after(node, &head)?,
        },
        transactions: txs,
    };
    Ok(Executed { block, changes, records, tree, results })
}

/// How the signatures of a block's transactions are trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signatures {
    /// A proposal: transactions already in our mempool were verified when admitted; the
    /// others are verified here, as one batch.
    VerifyUnseen,
    /// A block with a verified commit certificate: a quorum executed it with its
    /// signatures checked.
    Certified,
}

/// Bytes kept free for the header when filling a block.
const HEADER_ROOM: u64 = 4 * 1024;

/// Verifies, as one batch, the signatures of the transactions the mempool does not hold
/// with the same signature.
fn unseen_signatures_valid(node: &Node, block: &Block) -> bool {
    let (txs, hashes): (Vec<_>, Vec<_>) =
        block.transactions.iter().map(|t| (t, t.hash())).filter(|(t, h)| !node.mempool.contains_signed(t, h)).unzip();
    crate::verification::verify_signatures(&txs, &hashes).iter().all(|ok| *ok)
}

/// Whether every transaction of the block is new: not twice in it, not executed before.
fn transactions_new(node: &Node, block: &Block) -> Result<bool, StoreError> {
    let mut seen = std::collections::HashSet::with_capacity(block.transactions.len());
    for tx in &block.transactions {
        let hash = tx.hash();
        if !seen.insert(hash) || node.store.outcome(&hash)?.is_some() {
            tracing::warn!(target: "chain::consensus", height = block.header.height, tx = %hash, "block holds a transaction twice or one already executed");
            return Ok(false);
        }
    }
    Ok(true)
}

/// Re-executes a block on the head and returns it if it builds on the head, its
/// signatures hold, its `tx_root` matches and it starts from our state root; `None` if it is not a valid next
/// block. A certified block that starts from another state root than ours is
/// [`StoreError::StateDiverged`].
pub fn execute_block(node: &Arc<Node>, block: Block, signatures: Signatures) -> Result<Option<Executed>, StoreError> {
    let Some(head) = node.store.head_block()? else { return Ok(None) };
    let h = &block.header;
    if h.height != head.block.header.height + 1
        || h.prev_hash != head.block.hash()
        || h.timestamp_ms <= head.block.header.timestamp_ms
        || !block.tx_root_matches()
        || !transactions_new(node, &block)?
        || (signatures == Signatures::VerifyUnseen && !unseen_signatures_valid(node, &block))
    {
        return Ok(None);
    }
    let ours = root_after(node, &head)?;
    if h.prev_state_root != ours {
        if signatures == Signatures::Certified {
            let height = head.block.header.height;
            return Err(StoreError::StateDiverged { height, ours, theirs: h.prev_state_root });
        }
        tracing::warn!(target: "chain::consensus", height = h.height, %ours, theirs = %h.prev_state_root, "a proposal starts from another state root than this node's");
        return Ok(None);
    }
    let AppliedBlock { changes, results, records } =
        node.runtime.apply_block(&context(node, h.height, h.timestamp_ms), &block.transactions, false)?;
    // The same transactions on the same state: other outcomes or another next set mean the
    // proposer lied (or, certified, that this node diverged).
    let derived = [
        (outcome_root(&block.transactions, &results), h.outcome_root),
        (node.validators.next_bp_hash(&changes)?, h.next_bp_hash),
    ];
    if let Some((ours, theirs)) = derived.into_iter().find(|(ours, theirs)| ours != theirs) {
        if signatures == Signatures::Certified {
            return Err(StoreError::StateDiverged { height: h.height, ours, theirs });
        }
        tracing::warn!(target: "chain::consensus", height = h.height, %ours, %theirs, "a proposal's outcome root or next validator set differs from this node's execution");
        return Ok(None);
    }
    let changes = Arc::new(changes);
    let tree = TreeJob::spawn(node, Arc::clone(&changes), head.jmt_version);
    Ok(Some(Executed { block, changes, records, tree, results }))
}

/// Commits an executed block with its certificate: block, state, tree and outcomes in one
/// fsynced batch; then the mempool drops its transactions and waiters are woken.
pub fn commit(node: &Node, executed: Executed, certificate: CommitCertificate) -> Result<(), StoreError> {
    let Executed { block, changes, records, tree, results } = executed;
    let tree = tree.wait()?;
    let root = tree.root;
    let hash = block.hash();
    let height = block.header.height;
    let outcomes: Vec<ExecutionOutcome> = block
        .transactions
        .iter()
        .zip(results)
        .map(|(tx, r)| ExecutionOutcome {
            tx_hash: tx.hash(),
            signer_id: tx.transaction.signer_id.clone(),
            receiver_id: tx.transaction.receiver_id.clone(),
            block_height: height,
            block_hash: hash,
            status: r.status,
            logs: r.logs,
        })
        .collect();
    let head_version = node.store.head_block()?.map_or(0, |b| b.jmt_version);
    let jmt_version = tree.state_version.unwrap_or(head_version);
    let stored = StoredBlock { block, certificate, jmt_version };
    let started = std::time::Instant::now();
    node.store.commit_block(&stored, &changes, &records, tree, &outcomes)?;
    node.metrics().committed(
        outcomes.len(),
        borsh::object_length(&stored.block).unwrap_or(0),
        stored.certificate.round,
        stored.block.header.timestamp_ms,
        started.elapsed(),
    );
    node.head_time_ms.store(stored.block.header.timestamp_ms, std::sync::atomic::Ordering::Relaxed);
    node.mempool.remove(&stored.block.transactions);
    node.validators.refresh(&node.store)?;
    node.head.send_replace(height);
    tracing::info!(target: "chain::consensus", height, %hash, txs = outcomes.len(), %root, "committed");
    Ok(())
}
