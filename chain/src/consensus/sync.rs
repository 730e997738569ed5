//! Block sync: catching up with a peer that is ahead (a fresh node, or one back after
//! downtime). Blocks arrive in ranges with their commit certificates. Each certificate is
//! verified against the validator set of its height and must name the block; the block must
//! extend our head, and executing it must give the state root its header claims. Only then
//! is it committed, exactly as a block decided live would be.
//!
//! A certified block's transaction signatures are not checked again: a quorum of the
//! validators, more than a third of them honest, executed it with its signatures verified.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chain_types::{Block, BlockHeight, CertificateError, CommitCertificate};
use libp2p::PeerId;

use super::blocks::{commit, execute_block, Signatures};
use crate::network::{BlockSource, BlocksRequest, BlocksResponse, NetworkError, NetworkHandle};
use crate::node::Node;
use crate::store::StoreError;

/// Blocks asked for per request.
pub const SYNC_BATCH: u32 = 64;
/// A response stops adding blocks once it holds this many bytes.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// How often progress is logged while syncing.
const REPORT_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error("peer {peer} sent block {height} that does not match its certificate, does not extend our head, or does not execute to its state root")]
    BadBlock { peer: PeerId, height: BlockHeight },
    #[error("peer {peer} sent block {height} with a certificate that does not verify: {source}")]
    BadCertificate { peer: PeerId, height: BlockHeight, source: Box<CertificateError> },
}

impl BlockSource for Node {
    fn blocks(&self, request: BlocksRequest) -> BlocksResponse {
        let head = match self.store.head() {
            Ok(h) => h.unwrap_or(0),
            Err(e) => {
                tracing::error!(target: "chain::sync", error = %e, "cannot read the head to serve a peer");
                return BlocksResponse { head: 0, blocks: Vec::new() };
            }
        };
        let from = request.from.max(1);
        let last = head.min(from.saturating_add(u64::from(request.max.min(SYNC_BATCH))).saturating_sub(1));
        let mut blocks = Vec::new();
        let mut bytes = 0;
        for height in from..=last {
            match self.store.block(height) {
                Ok(Some(stored)) => {
                    bytes += borsh::object_length(&stored.block).unwrap_or(MAX_RESPONSE_BYTES);
                    blocks.push((stored.block, stored.certificate));
                    if bytes >= MAX_RESPONSE_BYTES {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(target: "chain::sync", height, error = %e, "cannot read a block to serve a peer");
                    break;
                }
            }
        }
        BlocksResponse { head, blocks }
    }
}

/// Marks the node as syncing (the `status` RPC says so) until dropped.
struct SyncingFlag<'a>(&'a Node);

impl<'a> SyncingFlag<'a> {
    fn raise(node: &'a Node) -> Self {
        node.syncing.store(true, Ordering::Relaxed);
        SyncingFlag(node)
    }
}

impl Drop for SyncingFlag<'_> {
    fn drop(&mut self) {
        self.0.syncing.store(false, Ordering::Relaxed);
    }
}

/// Fetches, verifies and commits blocks from `peer` until our head reaches the head it
/// reports (or it has nothing more). Logs height, target and blocks/s as it goes. Returns
/// how many blocks were applied.
pub async fn catch_up(node: &Node, net: &NetworkHandle, peer: PeerId) -> Result<u64, SyncError> {
    let _flag = SyncingFlag::raise(node);
    let started = Instant::now();
    let start_height = node.store.head()?.unwrap_or(0);
    let mut height = start_height;
    let mut reported = Instant::now();
    let mut target = height;
    loop {
        let response = net.fetch_blocks(peer, BlocksRequest { from: height + 1, max: SYNC_BATCH }).await?;
        target = target.max(response.head);
        if height == start_height {
            tracing::info!(target: "chain::sync", %peer, height, target, "behind a peer: syncing");
        }
        if response.blocks.is_empty() {
            break;
        }
        for (block, certificate) in response.blocks {
            tokio::task::block_in_place(|| apply_certified(node, peer, block, certificate))?;
            height += 1;
        }
        let done = height >= target;
        if done || reported.elapsed() >= REPORT_EVERY {
            let rate = (height - start_height) as f64 / started.elapsed().as_secs_f64().max(1e-3);
            tracing::info!(target: "chain::sync", height, target, blocks_per_s = format!("{rate:.1}"), "sync progress");
            reported = Instant::now();
        }
        if done {
            break;
        }
    }
    Ok(height - start_height)
}

/// Verifies a block and its certificate against our head and the validator set of its
/// height, executes it and commits it.
fn apply_certified(node: &Node, peer: PeerId, block: Block, certificate: CommitCertificate) -> Result<(), SyncError> {
    let height = block.header.height;
    let hash = block.hash();
    certificate
        .verify(&node.genesis.chain_id, height, hash, &node.validators_at(height)?.keys())
        .map_err(|source| SyncError::BadCertificate { peer, height, source: Box::new(source) })?;
    let executed = execute_block(node, block, Signatures::Certified)?.ok_or(SyncError::BadBlock { peer, height })?;
    commit(node, executed, certificate)?;
    Ok(())
}
