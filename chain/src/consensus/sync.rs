//! Block sync, the serving side: committed blocks with their commit certificates, in ranges,
//! for peers catching up (the driver in `consensus-driver` verifies and applies them).

use crate::network::{BlockSource, BlocksRequest, BlocksResponse};
use crate::node::Node;

/// Blocks asked for per request.
pub const SYNC_BATCH: u32 = 64;
/// A response stops adding blocks once it holds this many bytes.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

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
