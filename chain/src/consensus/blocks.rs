//! Building a block from the mempool, re-executing a known block, committing a decided one.

use chain_types::{
    verify_signatures_batch, AccountId, Block, BlockHeader, BlockHeight, CommitCertificate, ExecutionOutcome,
};

use crate::node::Node;
use crate::runtime::{BlockContext, TxResult};
use crate::store::{PreparedTree, StateChanges, StoreError, StoredBlock};

/// A block executed on top of the current head, ready to commit.
#[derive(Debug)]
pub struct Executed {
    pub block: Block,
    pub changes: StateChanges,
    pub tree: PreparedTree,
    pub results: Vec<TxResult>,
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
/// when they were admitted).
pub fn build_block(node: &Node, proposer: AccountId) -> Result<Executed, StoreError> {
    let head = node.store.head_block()?.ok_or(StoreError::Tree("store has no head".into()))?;
    let parent = &head.block.header;
    let height = parent.height + 1;
    let max = usize::try_from(node.genesis.limits.max_block_transactions).unwrap_or(usize::MAX);
    let txs = node.mempool.select(max);
    let timestamp_ms = genesis::unix_time_ms().max(parent.timestamp_ms + 1);
    let (changes, results) = node.runtime.apply_block(&context(node, height, timestamp_ms), &txs, false)?;
    let tree = node.store.prepare_tree(&changes)?;
    let block = Block {
        header: BlockHeader {
            height,
            prev_hash: head.block.hash(),
            timestamp_ms,
            proposer,
            tx_root: Block::compute_tx_root(&txs),
            state_root: tree.root,
        },
        transactions: txs,
    };
    Ok(Executed { block, changes, tree, results })
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

/// Verifies, as one batch, the signatures of the transactions the mempool has not seen.
fn unseen_signatures_valid(node: &Node, block: &Block) -> bool {
    let (txs, hashes): (Vec<_>, Vec<_>) =
        block.transactions.iter().map(|t| (t, t.hash())).filter(|(_, h)| !node.mempool.contains(h)).unzip();
    verify_signatures_batch(&txs, &hashes)
}

/// Re-executes a block on the head and returns it if it builds on the head, its
/// signatures hold and its roots match what it claims; `None` if it is not a valid next
/// block.
pub fn execute_block(node: &Node, block: Block, signatures: Signatures) -> Result<Option<Executed>, StoreError> {
    let Some(head) = node.store.head_block()? else { return Ok(None) };
    let h = &block.header;
    if h.height != head.block.header.height + 1
        || h.prev_hash != head.block.hash()
        || h.timestamp_ms <= head.block.header.timestamp_ms
        || !block.tx_root_matches()
        || (signatures == Signatures::VerifyUnseen && !unseen_signatures_valid(node, &block))
    {
        return Ok(None);
    }
    let (changes, results) =
        node.runtime.apply_block(&context(node, h.height, h.timestamp_ms), &block.transactions, false)?;
    let tree = node.store.prepare_tree(&changes)?;
    if tree.root != h.state_root {
        return Ok(None);
    }
    Ok(Some(Executed { block, changes, tree, results }))
}

/// Commits an executed block with its certificate: block, state, tree and outcomes in one
/// fsynced batch; then the mempool drops its transactions and waiters are woken.
pub fn commit(node: &Node, executed: Executed, certificate: CommitCertificate) -> Result<(), StoreError> {
    let Executed { block, changes, tree, results } = executed;
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
    node.store.commit_block(&stored, &changes, tree, &outcomes)?;
    node.mempool.remove(&stored.block.transactions);
    node.validators.refresh(&node.store)?;
    node.head.send_replace(height);
    tracing::info!(target: "chain::consensus", height, %hash, txs = outcomes.len(), root = %stored.block.header.state_root, "committed");
    Ok(())
}
