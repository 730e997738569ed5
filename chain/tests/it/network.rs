//! libp2p links on loopback: validators in each other's allowlist exchange messages (one
//! of them dialled by DNS name); a stranger's connection is refused and nothing it sends
//! arrives; a validator dropped from the peer list is disconnected and refused; a frame over
//! the protocol's limit is refused.

use std::sync::Arc;
use std::time::Duration;

use chain::network::{
    peer_id, start, BlockSource, BlocksRequest, BlocksResponse, FrameLimits, InboundSink, NetMessage, NetworkConfig,
    NetworkHandle,
};
use chain_types::{CryptoHash, Signature, VoteKind};
use consensus::Vote;
use consensus_driver::ConsensusMessage;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::mpsc;

fn vote(validator: u16) -> NetMessage {
    NetMessage::Consensus(ConsensusMessage::Vote {
        vote: Vote { kind: VoteKind::Prevote, height: 1, round: 0, value: Some(CryptoHash([9; 32])), validator },
        signature: Signature([validator as u8; 64]),
    })
}

/// A peer with no blocks beyond genesis.
struct NoBlocks;

impl BlockSource for NoBlocks {
    fn blocks(&self, _: BlocksRequest) -> BlocksResponse {
        BlocksResponse { head: 0, blocks: Vec::new() }
    }
}

/// Hands what arrives to the test.
struct Channel(mpsc::UnboundedSender<(PeerId, NetMessage)>);

impl InboundSink for Channel {
    fn deliver(&self, peer: PeerId, message: NetMessage, _: usize) {
        let _ = self.0.send((peer, message));
    }
}

fn loopback() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0".parse().unwrap()
}

const LIMITS: FrameLimits = FrameLimits { messages: 64 * 1024, sync: 1024 * 1024 };

async fn node(
    seed: [u8; 32],
    peers: Vec<(PeerId, Multiaddr)>,
    allowed: Vec<PeerId>,
) -> (NetworkHandle, mpsc::UnboundedReceiver<(PeerId, NetMessage)>, Multiaddr) {
    let (tx, rx) = mpsc::unbounded_channel();
    let cfg = NetworkConfig { key_seed: seed, listen: loopback(), peers, allowed, limits: LIMITS };
    let (handle, addr) = start(cfg, Arc::new(NoBlocks), Arc::new(Channel(tx))).await.unwrap();
    (handle, rx, addr)
}

/// Sends `m` from `from` until it arrives at `rx` (dialling takes up to a second).
async fn reaches(
    from: &NetworkHandle,
    rx: &mut mpsc::UnboundedReceiver<(PeerId, NetMessage)>,
    m: NetMessage,
) -> (PeerId, NetMessage) {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            from.broadcast(m.clone());
            if let Ok(Some(got)) = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await {
                return got;
            }
        }
    })
    .await
    .expect("the message arrives")
}

/// Nothing but messages from `only` arrives at `rx` while `from` sends for `secs` seconds.
async fn silent(
    from: &NetworkHandle,
    rx: &mut mpsc::UnboundedReceiver<(PeerId, NetMessage)>,
    m: NetMessage,
    only: Option<PeerId>,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline {
        from.broadcast(m.clone());
        if let Ok(Some((peer, got))) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
            assert_eq!(Some(peer), only, "nothing from this sender may arrive, got {got:?} from {peer}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_peers_talk_and_strangers_are_refused() {
    let (a, b, s) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let (pa, pb) = (peer_id(a).unwrap(), peer_id(b).unwrap());
    let (ha, mut ra, addr_a) = node(a, vec![], vec![pb]).await;
    let port = addr_a.iter().find_map(|p| if let Protocol::Tcp(port) = p { Some(port) } else { None }).unwrap();
    let by_name: Multiaddr = format!("/dns4/localhost/tcp/{port}").parse().unwrap();
    let (hb, mut rb, _) = node(b, vec![(pa, by_name)], vec![]).await;
    let (hs, _rs, _) = node(s, vec![(pa, addr_a.clone())], vec![]).await;
    assert_eq!(ha.local_peer_id, pa);

    // B reaches A once connected (redial runs every second).
    assert_eq!(reaches(&hb, &mut ra, vote(2)).await, (pb, vote(2)));

    // A answers B directly.
    ha.send(pb, vote(1));
    let back = tokio::time::timeout(Duration::from_secs(5), rb.recv()).await.unwrap().unwrap();
    assert_eq!(back, (pa, vote(1)));

    // B asks A for blocks over the sync protocol and gets A's answer.
    let answer = hb.fetch_blocks(pa, BlocksRequest { from: 1, max: 8 }).await.unwrap();
    assert_eq!(answer, BlocksResponse { head: 0, blocks: Vec::new() });

    // The stranger keeps trying for three seconds; nothing from it arrives at A.
    hs.send(pa, vote(3));
    silent(&hs, &mut ra, vote(3), None).await;
    assert!(hs.fetch_blocks(pa, BlocksRequest { from: 1, max: 8 }).await.is_err(), "the stranger gets no blocks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_dropped_from_the_peer_list_is_disconnected_and_refused() {
    // Defect 8: a validator the treasury removed kept network access for good.
    let (a, b) = ([4u8; 32], [5u8; 32]);
    let (pa, pb) = (peer_id(a).unwrap(), peer_id(b).unwrap());
    let (_ha, mut ra, addr_a) = node(a, vec![], vec![]).await;
    let (hb, _rb, addr_b) = node(b, vec![(pa, addr_a)], vec![]).await;
    // A keeps B as a validator peer (allowed, dialled).
    _ha.set_peers(vec![(pb, addr_b.clone())]);
    assert_eq!(reaches(&hb, &mut ra, vote(2)).await.0, pb);
    // The treasury removes B: A's peer list no longer has it.
    _ha.set_peers(vec![]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    while ra.try_recv().is_ok() {}
    // B keeps sending and redialling; nothing arrives.
    silent(&hb, &mut ra, vote(2), None).await;
    assert!(hb.fetch_blocks(pa, BlocksRequest { from: 1, max: 8 }).await.is_err(), "nor does it get blocks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_the_protocol_limit_is_refused() {
    let (a, b) = ([6u8; 32], [7u8; 32]);
    let (pa, pb) = (peer_id(a).unwrap(), peer_id(b).unwrap());
    let (_ha, mut ra, addr_a) = node(a, vec![], vec![pb]).await;
    let (hb, _rb, _) = node(b, vec![(pa, addr_a)], vec![]).await;
    assert_eq!(reaches(&hb, &mut ra, vote(2)).await.0, pb, "connected");
    // A batch of gossip larger than the message frame limit (64 KiB here).
    let big = NetMessage::Consensus(ConsensusMessage::Decision {
        block: Box::new(chain_types::Block {
            header: chain_types::BlockHeader {
                height: 1,
                prev_hash: CryptoHash::default(),
                timestamp_ms: 1,
                proposer: "v0.acme".parse().unwrap(),
                tx_root: CryptoHash::default(),
                outcome_root: CryptoHash::default(),
                next_bp_hash: CryptoHash::default(),
                prev_state_root: CryptoHash([1; 32]),
            },
            transactions: vec![],
        }),
        certificate: chain_types::CommitCertificate {
            height: 1,
            round: 0,
            block_hash: CryptoHash::default(),
            signatures: (0..2_000)
                .map(|i| chain_types::CommitSignature { validator: i, signature: Signature([1; 64]) })
                .collect(),
        },
    });
    assert!(borsh::object_length(&big).unwrap() > LIMITS.messages);
    silent(&hb, &mut ra, big, None).await;
    // Smaller messages still pass afterwards.
    assert_eq!(reaches(&hb, &mut ra, vote(2)).await.0, pb);
}

/// Messages to a peer share one long-lived stream: a burst of a thousand arrives complete
/// and in the order it was sent (it fits the per-peer queue).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_to_a_peer_arrive_in_order_over_one_stream() {
    let (a, b) = ([8u8; 32], [9u8; 32]);
    let (pa, pb) = (peer_id(a).unwrap(), peer_id(b).unwrap());
    let (_ha, mut ra, addr_a) = node(a, vec![], vec![pb]).await;
    let (hb, _rb, _) = node(b, vec![(pa, addr_a)], vec![]).await;
    reaches(&hb, &mut ra, vote(2)).await;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(300), ra.recv()).await {}
    let round_of = |m: &NetMessage| match m {
        NetMessage::Consensus(ConsensusMessage::Vote { vote, .. }) => vote.round,
        other => panic!("unexpected {other:?}"),
    };
    let numbered = |round: u32| {
        NetMessage::Consensus(ConsensusMessage::Vote {
            vote: Vote { kind: VoteKind::Prevote, height: 1, round, value: None, validator: 2 },
            signature: Signature([2; 64]),
        })
    };
    for round in 1..=1000 {
        hb.send(pa, numbered(round));
    }
    let mut got = Vec::new();
    while got.len() < 1000 {
        let (peer, m) = tokio::time::timeout(Duration::from_secs(10), ra.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of 1000 arrived", got.len()))
            .unwrap();
        assert_eq!(peer, pb);
        got.push(round_of(&m));
    }
    assert_eq!(got, (1..=1000).collect::<Vec<u32>>(), "complete and in order");
}
