//! Pre-signed NEAR-format transfers and their submission through JSON-RPC
//! `broadcast_tx_async`, at a target rate or flat out, over a pool of HTTP connections.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chain_types::{to_borsh, Action, CryptoHash, Transaction, TransferAction};
use genesis::KeyFile;

/// One transaction, ready to post.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The JSON-RPC request body.
    pub body: Vec<u8>,
    /// Base58 transaction hash, as blocks list it.
    pub hash: String,
    /// Which node receives it (an account always uses the same node, so its nonces arrive
    /// in order).
    pub node: usize,
}

/// Signs `count` transfers round-robin over `accounts` (each to the next account), with
/// nonces continuing from `nonces`.
pub fn presign(
    accounts: &[KeyFile],
    nonces: &mut [u64],
    nodes: usize,
    count: usize,
    recent: CryptoHash,
) -> Vec<Prepared> {
    (0..count)
        .map(|k| {
            let a = k % accounts.len();
            nonces[a] += 1;
            let tx = Transaction {
                signer_id: accounts[a].account_id.clone(),
                public_key: accounts[a].public_key,
                nonce: nonces[a],
                receiver_id: accounts[(a + 1) % accounts.len()].account_id.clone(),
                block_hash: recent,
                actions: vec![Action::Transfer(TransferAction { deposit: 1 })],
            }
            .sign(&accounts[a].secret_key);
            let encoded = base64::engine::general_purpose::STANDARD.encode(to_borsh(&tx));
            let body = serde_json::json!({
                "jsonrpc": "2.0", "id": k, "method": "broadcast_tx_async", "params": [encoded]
            });
            Prepared { body: body.to_string().into_bytes(), hash: tx.hash().to_string(), node: a % nodes }
        })
        .collect()
}

/// When each transaction was submitted (microseconds after the start), or `NOT_SENT` if
/// its submission was refused or failed.
pub struct Submitted {
    pub at_us: Vec<AtomicU64>,
    /// Refused by back-pressure (the node's mempool was full): the client may retry.
    pub refused: AtomicU64,
    /// Failed otherwise.
    pub failed: AtomicU64,
    pub first_error: parking_lot::Mutex<Option<String>>,
}

pub const NOT_SENT: u64 = u64::MAX;

/// Posts every transaction, paced to `rate` per second (flat out when `None`), from
/// `connections` concurrent workers. Returns when all were posted.
pub async fn submit(
    txs: Arc<Vec<Prepared>>,
    urls: Arc<Vec<String>>,
    rate: Option<f64>,
    connections: usize,
    start: Instant,
) -> Arc<Submitted> {
    let submitted = Arc::new(Submitted {
        at_us: (0..txs.len()).map(|_| AtomicU64::new(NOT_SENT)).collect(),
        refused: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        first_error: parking_lot::Mutex::new(None),
    });
    let next = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (txs, urls, next, submitted, http) =
                (txs.clone(), urls.clone(), next.clone(), submitted.clone(), http.clone());
            tokio::spawn(async move {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(tx) = txs.get(k) else { return };
                    if let Some(rate) = rate {
                        tokio::time::sleep_until((start + Duration::from_secs_f64(k as f64 / rate)).into()).await;
                    }
                    let sent_at = start.elapsed().as_micros() as u64;
                    match post(&http, &urls[tx.node], tx.body.clone()).await {
                        Ok(()) => submitted.at_us[k].store(sent_at, Ordering::Relaxed),
                        Err(e) if e.contains("MEMPOOL_FULL") => {
                            submitted.refused.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            submitted.failed.fetch_add(1, Ordering::Relaxed);
                            submitted.first_error.lock().get_or_insert(e);
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    submitted
}

async fn post(http: &reqwest::Client, url: &str, body: Vec<u8>) -> Result<(), String> {
    let reply = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&reply).map_err(|e| e.to_string())?;
    match v.get("error") {
        None => Ok(()),
        Some(e) => Err(e.to_string()),
    }
}
