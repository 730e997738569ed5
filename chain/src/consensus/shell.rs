//! Runs the consensus driver on a thread of its own: execution and signing never block the
//! tokio workers that serve the RPC and the network, and the driver sees one event at a time.
//! Tokio tasks feed its mailbox (peer messages, block responses, work, shutdown).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use consensus::TimeoutParams;
use consensus_driver::{BlockLimits, ConsensusSigner, Driver, DriverConfig, DriverError};
use tokio::runtime::Handle;
use tokio::sync::{oneshot, watch};

use super::adapters::{FileWal, KmsSigner, P2p, SystemClock};
use super::app::NodeApp;
use super::inbox::Inbox;
use super::mailbox::Mailbox;
use crate::network::NetworkHandle;
use crate::node::Node;

#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error("consensus WAL: {0}")]
    Wal(#[from] std::io::Error),
    #[error("the validator set has {0} validators; configure [network] so this node can reach its peers")]
    NeedsNetwork(usize),
    #[error("the consensus thread stopped without a result (it panicked)")]
    Panicked,
}

/// The peer-to-peer side of consensus: the network and the inbox it delivers to.
#[derive(Debug)]
pub struct Peers {
    pub handle: NetworkHandle,
    pub inbox: Arc<Inbox>,
}

pub(crate) fn driver_config(node: &Node) -> DriverConfig {
    let c = &node.genesis.consensus;
    let timeouts = TimeoutParams {
        propose_ms: c.timeout_propose_ms,
        vote_ms: c.timeout_vote_ms,
        delta_ms: c.timeout_delta_ms,
        max_ms: c.timeout_max_ms,
    };
    let l = &node.genesis.limits;
    let limits = BlockLimits {
        max_transactions: l.max_block_transactions,
        max_tx_bytes: l.max_tx_bytes,
        max_block_bytes: l.max_block_bytes,
        max_block_cost: l.max_block_cost,
        max_clock_drift_ms: c.max_clock_drift_ms,
    };
    DriverConfig::new(timeouts, c.min_block_interval_ms, c.max_block_interval_ms, limits)
}

/// Runs consensus until `shutdown` turns true, as a validator when `signer` is given and
/// as an observer otherwise. Returns an error only for faults that must stop the node (store
/// or WAL failure, a validator set that needs a network this node lacks).
pub async fn run(
    node: Arc<Node>,
    signer: Option<Arc<dyn kms::Signer>>,
    wal_dir: &Path,
    peers: Option<Peers>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ConsensusError> {
    let n = node.validators().len();
    if n > 1 && peers.is_none() {
        return Err(ConsensusError::NeedsNetwork(n));
    }
    let (handle, mailbox) = match peers {
        Some(p) => (Some(p.handle), p.inbox.mailbox.clone()),
        None => (None, Arc::new(Mailbox::new(0))),
    };
    let mut feeders = tokio::task::JoinSet::new();
    {
        let (node, mailbox) = (node.clone(), mailbox.clone());
        feeders.spawn(async move {
            loop {
                node.mempool.wait_for_transaction().await;
                mailbox.work_arrived();
            }
        });
    }
    {
        let mailbox = mailbox.clone();
        feeders.spawn(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
            mailbox.shutdown();
        });
    }
    let (done, result) = oneshot::channel();
    let runtime = Handle::current();
    let wal_dir: PathBuf = wal_dir.to_owned();
    std::thread::Builder::new().name("consensus".into()).spawn(move || {
        let _ = done.send(drive(node, signer, &wal_dir, handle, mailbox, runtime));
    })?;
    let outcome = result.await.unwrap_or(Err(ConsensusError::Panicked));
    feeders.abort_all();
    outcome
}

/// The consensus thread: the driver and its event loop.
fn drive(
    node: Arc<Node>,
    signer: Option<Arc<dyn kms::Signer>>,
    wal_dir: &Path,
    handle: Option<NetworkHandle>,
    mailbox: Arc<Mailbox>,
    runtime: Handle,
) -> Result<(), ConsensusError> {
    let has_network = handle.is_some();
    let clock = SystemClock::new();
    let start = clock.instant(0);
    let net = P2p { handle, mailbox: mailbox.clone(), runtime: runtime.clone() };
    let timeout = std::time::Duration::from_millis(node.genesis.consensus.timeout_vote_ms);
    let signer = signer
        .map(|signer| Box::new(KmsSigner { signer, runtime, node: node.clone(), timeout }) as Box<dyn ConsensusSigner>);
    let config = driver_config(&node);
    let app = NodeApp { node: node.clone() };
    let mut driver = Driver::new(app, net, clock, FileWal::open(wal_dir)?, signer, config)?;
    loop {
        node.set_syncing(driver.is_syncing());
        node.metrics().at(driver.round(), driver.step(), driver.missing_validators());
        node.metrics().sync(driver.sync_target(), driver.synced_blocks());
        if !has_network && driver.validator_count() > 1 {
            return Err(ConsensusError::NeedsNetwork(driver.validator_count()));
        }
        let deadline = driver.next_deadline().map(|ms| start + std::time::Duration::from_millis(ms));
        match mailbox.wait(deadline) {
            Ok(Some(event)) => driver.handle(event)?,
            Ok(None) => {}
            Err(_stopped) => {
                node.set_syncing(false);
                return Ok(());
            }
        }
        driver.on_timers()?;
    }
}
