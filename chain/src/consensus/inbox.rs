//! Where the network delivers: consensus messages to the driver's mailbox (bounded per
//! peer), transaction gossip to a verification task of its own (at most a few batches
//! queued per peer, each capped in count by the protocol and in bytes by the frame limit),
//! so no peer can crowd out another's gossip, and neither kind can hold up the other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use chain_types::SignedTransaction;
use libp2p::PeerId;
use tokio::sync::mpsc;

use super::mailbox::Mailbox;
use crate::network::{FrameLimits, InboundSink, NetMessage};
use crate::node::{Node, GOSSIP_BATCH};

/// Gossiped batches of one peer waiting for verification; more are dropped (their senders'
/// clients are told by no one, but every transaction also reaches the proposer by other
/// routes).
const PEER_TX_BATCHES: usize = 8;

#[derive(Debug)]
pub struct Inbox {
    pub(crate) mailbox: Arc<Mailbox>,
    txs: mpsc::UnboundedSender<(PeerId, Vec<SignedTransaction>)>,
    /// Batches queued per peer (bounds the queue: peers are allowlisted validators).
    queued: Arc<Mutex<HashMap<PeerId, usize>>>,
    dropped_batches: AtomicU64,
    metrics: Arc<crate::metrics::Metrics>,
}

impl Inbox {
    /// An inbox for `node` whose per-peer consensus queue holds two of the largest frames;
    /// starts the task that verifies gossiped transactions (on the blocking pool).
    pub fn new(node: Arc<Node>, limits: FrameLimits) -> Arc<Inbox> {
        let metrics = node.metrics.clone();
        let (txs, mut batches) = mpsc::unbounded_channel::<(PeerId, Vec<SignedTransaction>)>();
        let queued: Arc<Mutex<HashMap<PeerId, usize>>> = Arc::default();
        let done = queued.clone();
        tokio::spawn(async move {
            while let Some((peer, batch)) = batches.recv().await {
                let node = node.clone();
                let verified = tokio::task::spawn_blocking(move || node.accept_from_peer(batch)).await;
                let mut done = done.lock();
                if let Some(n) = done.get_mut(&peer) {
                    *n -= 1;
                    if *n == 0 {
                        done.remove(&peer);
                    }
                }
                if verified.is_err() {
                    return;
                }
            }
        });
        Arc::new(Inbox {
            mailbox: Arc::new(Mailbox::new(limits.messages.saturating_mul(2))),
            txs,
            queued,
            dropped_batches: AtomicU64::new(0),
            metrics,
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
        self.metrics.received(message.kind(), bytes);
        match message {
            NetMessage::Consensus(m) => {
                self.mailbox.push_message(peer, m, bytes);
            }
            NetMessage::Transactions(txs) if txs.len() > GOSSIP_BATCH => {
                self.drop_batch(peer, "more transactions than a gossip batch holds");
            }
            NetMessage::Transactions(txs) => {
                {
                    let mut queued = self.queued.lock();
                    let n = queued.entry(peer).or_default();
                    if *n >= PEER_TX_BATCHES {
                        drop(queued);
                        return self.drop_batch(peer, "this peer's verification queue is full");
                    }
                    *n += 1;
                }
                if self.txs.send((peer, txs)).is_err() {
                    self.drop_batch(peer, "the verification task stopped");
                }
            }
        }
    }
}
