//! Block production for a single validator, through the path BFT consensus will drive:
//! build a block on the head, execute it, sign a precommit for its id, assemble the commit
//! certificate, verify it against the validator set, and commit block + certificate
//! atomically. Blocks are made when transactions wait (no sooner than the minimum interval
//! after the last) and otherwise empty at the maximum interval.

use std::sync::Arc;
use std::time::Duration;

use chain_types::{Block, BlockHeader, CertificateError, CommitCertificate, CommitSignature, ExecutionOutcome};
use kms::{SignRequest, Signer, SignerError, Step};
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};

use crate::node::Node;
use crate::store::{StoreError, StoredBlock};

#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signer: {0}")]
    Signer(#[from] SignerError),
    #[error("own certificate does not verify: {0}")]
    Certificate(#[from] CertificateError),
    #[error("signing key {0} is not in the validator set")]
    NotAValidator(chain_types::PublicKey),
    #[error(
        "the genesis has {0} validators; this build commits blocks with a single validator only \
         (BFT among several validators is not yet part of the node)"
    )]
    NeedsConsensus(usize),
    #[error("store has no head block")]
    NoHead,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

/// Produces blocks until `shutdown` turns true. Returns an error only for faults that must
/// stop the node (store failure, a key outside the validator set).
pub async fn run(
    node: Arc<Node>,
    signer: Arc<dyn Signer>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ProduceError> {
    let n = node.validators().len();
    if n != 1 {
        return Err(ProduceError::NeedsConsensus(n));
    }
    let index =
        node.validators().index_of(&signer.public_key()).ok_or(ProduceError::NotAValidator(signer.public_key()))?;
    let params = &node.genesis().consensus;
    let min_interval = Duration::from_millis(params.min_block_interval_ms);
    let max_interval = Duration::from_millis(params.max_block_interval_ms);
    let mut last = Instant::now();
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        if node.mempool().is_empty() {
            tokio::select! {
                _ = node.mempool().wait_for_transaction() => {}
                _ = sleep_until(last + max_interval) => {}
                _ = shutdown.changed() => continue,
            }
            if node.mempool().is_empty() && Instant::now() < last + max_interval {
                continue;
            }
        }
        tokio::select! {
            _ = sleep_until(last + min_interval) => {}
            _ = shutdown.changed() => continue,
        }
        last = Instant::now();
        match produce_block(&node, signer.as_ref(), index as u16).await {
            Ok(()) => {}
            Err(e @ ProduceError::Signer(_)) => {
                tracing::warn!(target: "chain::producer", error = %e, "block not signed; will retry")
            }
            Err(e) => return Err(e),
        }
    }
}

/// Builds, certifies and commits one block on top of the head.
#[tracing::instrument(target = "chain::producer", skip_all, fields(height))]
pub async fn produce_block(node: &Node, signer: &dyn Signer, index: u16) -> Result<(), ProduceError> {
    let store = node.store();
    let head = store.head_block()?.ok_or(ProduceError::NoHead)?;
    let parent = &head.block.header;
    let height = parent.height + 1;
    tracing::Span::current().record("height", height);
    let max_txs = usize::try_from(node.genesis().limits.max_block_transactions).unwrap_or(usize::MAX);
    let txs = node.mempool().select(max_txs);
    let timestamp_ms = now_ms().max(parent.timestamp_ms + 1);
    let ctx = crate::runtime::BlockContext {
        chain_id: &node.genesis().chain_id,
        height,
        timestamp_ms,
        validity_blocks: node.genesis().transaction_validity_blocks,
        store,
    };
    let (changes, results) = tokio::task::block_in_place(|| node.runtime.apply_block(&ctx, &txs, false))?;
    let tree = store.prepare_tree(&changes)?;
    let block = Block {
        header: BlockHeader {
            height,
            prev_hash: head.block.hash(),
            timestamp_ms,
            proposer: node.validators().validators()[usize::from(index)].account_id.clone(),
            tx_root: Block::compute_tx_root(&txs),
            state_root: tree.root,
        },
        transactions: txs,
    };
    let hash = block.hash();

    let chain_id = &node.genesis().chain_id;
    let request = SignRequest {
        height,
        round: 0,
        step: Step::Precommit,
        bytes: CommitCertificate::sign_bytes(chain_id, height, 0, hash),
    };
    let signature = signer.sign(&request).await?;
    let certificate = CommitCertificate {
        height,
        round: 0,
        block_hash: hash,
        signatures: vec![CommitSignature { validator: index, signature }],
    };
    certificate.verify(chain_id, height, hash, &node.validators().keys())?;

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
    let jmt_version = tree.state_version.unwrap_or(head.jmt_version);
    let stored = StoredBlock { block, certificate, jmt_version };
    tokio::task::block_in_place(|| store.commit_block(&stored, &changes, tree, &outcomes))?;
    node.mempool().remove(&stored.block.transactions);
    node.head.send_replace(height);
    tracing::info!(target: "chain::producer", height, %hash, txs = outcomes.len(), root = %stored.block.header.state_root, "committed");
    Ok(())
}
