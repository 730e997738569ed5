//! Block sync between in-process nodes over libp2p on loopback, with real stores and the
//! real driver: an observer started late learns from a validator's certificates that it is
//! behind, catches up and then follows; blocks whose certificate does not verify, or that do
//! not match their certificate, are refused and leave the store as it was before them.

use std::sync::Arc;
use std::time::Duration;

use chain::consensus::{run, ConsensusError, Inbox, Peers};
use chain::network::{self, BlockSource, BlocksRequest, BlocksResponse, FrameLimits, NetMessage, NetworkConfig};
use chain::node::Node;
use consensus_driver::ConsensusMessage;
use genesis::Generated;
use kms::{LocalSigner, Signer};
use libp2p::{Multiaddr, PeerId};
use rpc::{BlockRef, Finality, NodeApi};
use tokio::sync::watch;

use crate::harness::{alice_to_bob, one_validator, open_node};

fn chain() -> Generated {
    one_validator("sync-test", genesis::unix_time_ms())
}

fn loopback() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0".parse().unwrap()
}

fn limits(node: &Node) -> FrameLimits {
    FrameLimits::for_blocks(node.genesis().limits.max_block_bytes)
}

async fn net(
    node: &Arc<Node>,
    seed: [u8; 32],
    peers: Vec<(PeerId, Multiaddr)>,
    allowed: Vec<PeerId>,
) -> (Peers, Multiaddr) {
    let limits = limits(node);
    let inbox = Inbox::new(node.clone(), limits);
    let cfg = NetworkConfig { key_seed: seed, listen: loopback(), peers, allowed, limits };
    let (handle, addr) = network::start(cfg, node.clone(), inbox.clone()).await.unwrap();
    node.start_gossip(handle.clone());
    (Peers { handle, inbox }, addr)
}

/// Submits `count` transfers alice -> bob with nonces from `first`.
fn transfers(node: &Node, g: &Generated, first: u64, count: u64) {
    let recent = node.block(BlockRef::Finality(Finality::Final)).unwrap().hash();
    for tx in alice_to_bob(g, recent, first..first + count) {
        node.submit(tx).unwrap();
    }
}

async fn wait_height(node: &Node, height: u64) {
    let mut heads = node.subscribe_head();
    tokio::time::timeout(Duration::from_secs(30), heads.wait_for(|h| *h >= height))
        .await
        .unwrap_or_else(|_| panic!("height {height} not reached; head {}", node.store().head().unwrap().unwrap()))
        .unwrap();
}

fn same_chain(a: &Node, b: &Node, up_to: u64) {
    for h in 0..=up_to {
        let (x, y) = (a.store().block(h).unwrap().unwrap(), b.store().block(h).unwrap().unwrap());
        assert_eq!(x.block.hash(), y.block.hash(), "block {h}");
        assert_eq!(x.certificate, y.certificate, "certificate {h}");
    }
}

struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), ConsensusError>>,
}

fn drive(node: &Arc<Node>, signer: Option<Arc<dyn Signer>>, wal: std::path::PathBuf, peers: Peers) -> Running {
    let (stop, stop_rx) = watch::channel(false);
    let node = node.clone();
    let task = tokio::spawn(async move { run(node, signer, &wal, Some(peers), stop_rx).await });
    Running { stop, task }
}

impl Running {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_observer_catches_up_then_follows() {
    let g = chain();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let key = g.validators[0].consensus.secret_key.clone();
    let (seed_a, seed_b) = (g.validators[0].network.secret_key.seed(), [7u8; 32]);
    let (peer_a, peer_b) = (network::peer_id(seed_a).unwrap(), network::peer_id(seed_b).unwrap());

    let a = open_node(&g, dir_a.path(), Some(&key));
    let (peers_a, addr_a) = net(&a, seed_a, vec![], vec![peer_b]).await;
    let signer: Arc<dyn Signer> = Arc::new(LocalSigner::new(key));
    let validator = drive(&a, Some(signer), dir_a.path().join("wal"), peers_a);
    for round in 0..20 {
        transfers(&a, &g, round * 5 + 1, 5);
        wait_height(&a, round + 1).await;
    }
    let behind = a.store().head().unwrap().unwrap();
    assert!(behind >= 20);

    // B starts from genesis; A's next certificate proves that it is behind.
    let b = open_node(&g, dir_b.path(), None);
    let (peers_b, _) = net(&b, seed_b, vec![(peer_a, addr_a)], vec![]).await;
    let observer = drive(&b, None, dir_b.path().join("wal"), peers_b);
    wait_height(&b, behind).await;
    same_chain(&a, &b, behind);

    // It keeps following as A goes on.
    transfers(&a, &g, 101, 10);
    let later = behind + 3;
    wait_height(&a, later).await;
    wait_height(&b, later).await;
    same_chain(&a, &b, later);
    let bob: chain_types::AccountId = "bob.acme".parse().unwrap();
    let at = BlockRef::Height(later);
    assert_eq!(a.account(&bob, at).unwrap().0, b.account(&bob, at).unwrap().0, "same state");
    tokio::time::timeout(Duration::from_secs(10), async {
        while b.is_syncing() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("B follows live, not by block requests");

    observer.stop().await;
    validator.stop().await;
}

/// Serves a validator's blocks with one of them altered.
struct Forger {
    real: Arc<Node>,
    alter: fn(&mut BlocksResponse),
}

impl BlockSource for Forger {
    fn blocks(&self, request: BlocksRequest) -> BlocksResponse {
        let mut r = self.real.blocks(request);
        (self.alter)(&mut r);
        r
    }
}

/// A fresh observer whose only peer is a forger of `a`'s blocks, shown `a`'s real head
/// certificate as proof that the forger is ahead. Returns the head the observer settles at.
async fn sync_from_forger(a: &Arc<Node>, g: &Generated, alter: fn(&mut BlocksResponse)) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let b = open_node(g, dir.path(), None);
    let (seed_f, seed_b) = ([8u8; 32], [9u8; 32]);
    let (peer_f, peer_b) = (network::peer_id(seed_f).unwrap(), network::peer_id(seed_b).unwrap());
    let source = Arc::new(Forger { real: a.clone(), alter });
    let limits = limits(a);
    let cfg = NetworkConfig { key_seed: seed_f, listen: loopback(), peers: vec![], allowed: vec![peer_b], limits };
    let (forger, addr_f) = network::start(cfg, source, Inbox::new(a.clone(), limits)).await.unwrap();
    let (peers_b, _) = net(&b, seed_b, vec![(peer_f, addr_f)], vec![]).await;
    let observer = drive(&b, None, dir.path().join("wal"), peers_b);
    let head = a.store().head_block().unwrap().unwrap();
    let proof = NetMessage::Consensus(ConsensusMessage::Certificate(head.certificate));
    // B settles when its head stays put for two seconds (it keeps retrying the forger).
    let (mut last, mut since) = (u64::MAX, tokio::time::Instant::now());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        forger.broadcast(proof.clone());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = b.store().head().unwrap().unwrap();
        if now != last {
            (last, since) = (now, tokio::time::Instant::now());
        }
        if since.elapsed() > Duration::from_secs(2) && (now > 0 || since.elapsed() > Duration::from_secs(6)) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "B never settled; head {now}");
    }
    observer.stop().await;
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_blocks_are_refused() {
    let g = chain();
    let dir_a = tempfile::tempdir().unwrap();
    let key = g.validators[0].consensus.secret_key.clone();
    let a = open_node(&g, dir_a.path(), Some(&key));
    let (peers_a, _) = net(&a, g.validators[0].network.secret_key.seed(), vec![], vec![]).await;
    let signer: Arc<dyn Signer> = Arc::new(LocalSigner::new(key));
    let validator = drive(&a, Some(signer), dir_a.path().join("wal"), peers_a);
    for round in 0..6 {
        transfers(&a, &g, round * 2 + 1, 2);
        wait_height(&a, round + 1).await;
    }
    validator.stop().await;
    let top = a.store().head().unwrap().unwrap();

    // The untouched source syncs fully: the forgeries below fail for what they change.
    assert_eq!(sync_from_forger(&a, &g, |_| {}).await, top);
    assert!(top >= 6);

    // A precommit signature altered at block 4: blocks 1..3 are applied, 4 is refused.
    let head = sync_from_forger(&a, &g, |r| {
        for (block, cert) in &mut r.blocks {
            if block.header.height == 4 {
                cert.signatures[0].signature.0[0] ^= 1;
            }
        }
    })
    .await;
    assert_eq!(head, 3, "nothing of block 4 was applied");

    // Block 2 with a transaction removed: its certificate names another block.
    let head = sync_from_forger(&a, &g, |r| {
        for (block, _) in &mut r.blocks {
            if block.header.height == 2 {
                block.transactions.pop();
                block.header.tx_root = chain_types::Block::compute_tx_root(&block.transactions);
            }
        }
    })
    .await;
    assert_eq!(head, 1);

    // A certificate without signatures (no quorum).
    let head = sync_from_forger(&a, &g, |r| {
        for (_, cert) in &mut r.blocks {
            cert.signatures.clear();
        }
    })
    .await;
    assert_eq!(head, 0);
}
