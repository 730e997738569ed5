//! Where the network delivers: consensus messages to the driver's mailbox (bounded per
//! peer), transaction gossip to a verification task of its own (a bounded queue of batches,
//! each batch capped in count), so neither can hold up the other or the swarm.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chain_types::SignedTransaction;
use libp2p::PeerId;
use tokio::sync::mpsc;

use super::mailbox::Mailbox;
use crate::network::{FrameLimits, InboundSink, NetMessage};
use crate::node::{Node, GOSSIP_BATCH};

/// Gossiped batches waiting for verification; more are dropped (their senders' clients are
/// told by no one, but every transaction also reaches the proposer by other routes).
const TX_BATCHES: usize = 64;

#[derive(Debug)]
pub struct Inbox {
    pub(crate) mailbox: Arc<Mailbox>,
    txs: mpsc::Sender<(PeerId, Vec<SignedTransaction>)>,
    dropped_batches: AtomicU64,
}

impl Inbox {
    /// An inbox for `node` whose per-peer consensus queue holds two of the largest frames;
    /// starts the task that verifies gossiped transactions (on the blocking pool).
    pub fn new(node: Arc<Node>, limits: FrameLimits) -> Arc<Inbox> {
        let (txs, mut batches) = mpsc::channel::<(PeerId, Vec<SignedTransaction>)>(TX_BATCHES);
        tokio::spawn(async move {
            while let Some((_, batch)) = batches.recv().await {
                let node = node.clone();
                if tokio::task::spawn_blocking(move || node.accept_from_peer(batch)).await.is_err() {
                    return;
                }
            }
        });
        Arc::new(Inbox {
            mailbox: Arc::new(Mailbox::new(limits.messages.saturating_mul(2))),
            txs,
            dropped_batches: AtomicU64::new(0),
        })
    }

    fn drop_batch(&self, peer: PeerId, why: &str) {
        let n = self.dropped_batches.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(target: "chain::network", %peer, dropped = n, why, "dropping a transaction batch");
        }
    }
}

impl InboundSink for Inbox {
    fn deliver(&self, peer: PeerId, message: NetMessage, bytes: usize) {
        match message {
            NetMessage::Consensus(m) => {
                self.mailbox.push_message(peer, m, bytes);
            }
            NetMessage::Transactions(txs) if txs.len() > GOSSIP_BATCH => {
                self.drop_batch(peer, "more transactions than a gossip batch holds");
            }
            NetMessage::Transactions(txs) => {
                if self.txs.try_send((peer, txs)).is_err() {
                    self.drop_batch(peer, "verification queue full");
                }
            }
        }
    }
}
