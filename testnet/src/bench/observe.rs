//! Watches one node's final blocks through JSON-RPC and records when each benchmark
//! transaction became final, and each block's header timestamp.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rpc::client::RpcClient;
use serde_json::json;

/// A committed block as the bench saw it.
#[derive(Debug, Clone, Copy)]
pub struct SeenBlock {
    pub timestamp_ms: u64,
    pub transactions: usize,
}

/// Polls `client` until every hash in `index` is final or `deadline` passes. Returns, per
/// transaction index, when it was seen final (microseconds after `start`), and the blocks.
pub async fn watch_finality(
    client: &RpcClient,
    index: &HashMap<String, usize>,
    from_height: u64,
    start: Instant,
    deadline: Instant,
) -> (Vec<Option<u64>>, Vec<SeenBlock>) {
    let mut final_at = vec![None; index.len()];
    let mut remaining = index.len();
    let mut blocks = Vec::new();
    let mut next = from_height + 1;
    while remaining > 0 && Instant::now() < deadline {
        let head = match client.status().await {
            Ok(s) => s["sync_info"]["latest_block_height"].as_u64().unwrap_or(0),
            Err(_) => 0,
        };
        if head < next {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        let seen = start.elapsed().as_micros() as u64;
        while next <= head {
            let Ok(b) = client.call("block", json!({ "block_id": next })).await else { break };
            let hashes = b["transactions"].as_array().cloned().unwrap_or_default();
            for h in &hashes {
                if let Some(&k) = h.as_str().and_then(|h| index.get(h)) {
                    if final_at[k].is_none() {
                        final_at[k] = Some(seen);
                        remaining -= 1;
                    }
                }
            }
            blocks.push(SeenBlock {
                timestamp_ms: b["header"]["timestamp"].as_u64().unwrap_or(0) / 1_000_000,
                transactions: hashes.len(),
            });
            next += 1;
        }
    }
    (final_at, blocks)
}
