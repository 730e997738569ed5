//! RPC submissions on their way into the mempool. Their signatures are checked together: a
//! task takes whatever arrived while the previous batch was being checked and verifies it on
//! every core ([`crate::verification`]), then admits each one against head state and answers
//! its caller. Under load batches grow, so the per-signature cost falls.
//!
//! Back-pressure: a submission that cannot get in is refused at once, before any signature
//! work, when the mempool is full or when more submissions wait for verification than the
//! mempool could take; the client gets NEAR's full-mempool error and may retry. Nothing
//! already accepted is dropped.

use std::sync::{Arc, Weak};

use chain_types::{CryptoHash, SignedTransaction};
use parking_lot::Mutex;
use rpc::SubmitError;
use tokio::sync::{oneshot, Notify};

use crate::node::Node;
use crate::verification::verify_signatures;

type Reply = oneshot::Sender<Result<CryptoHash, SubmitError>>;

/// Submissions waiting for their signatures to be checked.
#[derive(Debug, Default)]
pub(crate) struct Submissions {
    waiting: Mutex<Vec<(SignedTransaction, CryptoHash, Reply)>>,
    arrived: Notify,
    started: std::sync::OnceLock<()>,
}

impl Submissions {
    /// Queues `tx` for verification and admission and waits for the answer. Refuses at once
    /// when the mempool, or the queue in front of it, has no room.
    pub async fn submit(
        &self,
        node: &Arc<Node>,
        tx: SignedTransaction,
        hash: CryptoHash,
    ) -> Result<CryptoHash, SubmitError> {
        let capacity = node.mempool().capacity();
        let (reply, answer) = oneshot::channel();
        {
            let mut waiting = self.waiting.lock();
            if node.mempool().len().saturating_add(waiting.len()) >= capacity {
                return Err(SubmitError::MempoolFull { capacity });
            }
            waiting.push((tx, hash, reply));
        }
        self.started.get_or_init(|| {
            tokio::spawn(run(Arc::downgrade(node)));
        });
        self.arrived.notify_one();
        answer
            .await
            .unwrap_or_else(|_| Err(SubmitError::Node(rpc::NodeError::Internal("the node is shutting down".into()))))
    }
}

/// Verifies and admits what waits, batch after batch, until the node is gone.
async fn run(node: Weak<Node>) {
    loop {
        let Some(submissions) = node.upgrade().map(|n| n.submissions.clone()) else { return };
        submissions.arrived.notified().await;
        loop {
            let batch = std::mem::take(&mut *submissions.waiting.lock());
            if batch.is_empty() {
                break;
            }
            let Some(n) = node.upgrade() else { return };
            if tokio::task::spawn_blocking(move || admit_batch(&n, batch)).await.is_err() {
                return;
            }
        }
    }
}

fn admit_batch(node: &Node, batch: Vec<(SignedTransaction, CryptoHash, Reply)>) {
    let refs: Vec<&SignedTransaction> = batch.iter().map(|(t, _, _)| t).collect();
    let hashes: Vec<CryptoHash> = batch.iter().map(|(_, h, _)| *h).collect();
    let valid = verify_signatures(&refs, &hashes);
    for ((tx, hash, reply), valid) in batch.into_iter().zip(valid) {
        let answer = if valid {
            node.admit_verified(tx, hash)
        } else {
            Err(chain_types::InvalidTxError::InvalidSignature.into())
        };
        let _ = reply.send(answer);
    }
}
