//! libp2p links on loopback: validators in each other's allowlist exchange messages (one
//! of them dialled by DNS name); a stranger's connection is refused and nothing it sends
//! arrives.

use std::time::Duration;

use std::sync::Arc;

use chain::network::{peer_id, start, BlockSource, BlocksRequest, BlocksResponse, NetMessage, NetworkConfig};
use chain_types::{CryptoHash, Signature, VoteKind};
use consensus::Vote;
use libp2p::multiaddr::Protocol;
use libp2p::Multiaddr;

fn vote(validator: u16) -> NetMessage {
    NetMessage::Vote {
        vote: Vote { kind: VoteKind::Prevote, height: 1, round: 0, value: Some(CryptoHash([9; 32])), validator },
        signature: Signature([validator as u8; 64]),
    }
}

/// A peer with no blocks beyond genesis.
struct NoBlocks;

impl BlockSource for NoBlocks {
    fn blocks(&self, _: BlocksRequest) -> BlocksResponse {
        BlocksResponse { head: 0, blocks: Vec::new() }
    }
}

fn loopback() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_peers_talk_and_strangers_are_refused() {
    let (a, b, s) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let (pa, pb) = (peer_id(a).unwrap(), peer_id(b).unwrap());
    let (ha, mut ra, addr_a) =
        start(NetworkConfig { key_seed: a, listen: loopback(), peers: vec![], allowed: vec![pb] }, Arc::new(NoBlocks))
            .await
            .unwrap();
    let port = addr_a.iter().find_map(|p| if let Protocol::Tcp(port) = p { Some(port) } else { None }).unwrap();
    let by_name: Multiaddr = format!("/dns4/localhost/tcp/{port}").parse().unwrap();
    let (hb, mut rb, _) = start(
        NetworkConfig { key_seed: b, listen: loopback(), peers: vec![(pa, by_name)], allowed: vec![] },
        Arc::new(NoBlocks),
    )
    .await
    .unwrap();
    let (hs, _rs, _) = start(
        NetworkConfig { key_seed: s, listen: loopback(), peers: vec![(pa, addr_a.clone())], allowed: vec![] },
        Arc::new(NoBlocks),
    )
    .await
    .unwrap();
    assert_eq!(ha.local_peer_id, pa);

    // B reaches A once connected (redial runs every second).
    let got = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            hb.broadcast(vote(2));
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(300), ra.recv()).await {
                return m;
            }
        }
    })
    .await
    .expect("B's message reaches A");
    assert_eq!(got, (pb, vote(2)));

    // A answers B directly.
    ha.send(pb, vote(1));
    let back = tokio::time::timeout(Duration::from_secs(5), rb.recv()).await.unwrap().unwrap();
    assert_eq!(back, (pa, vote(1)));

    // B asks A for blocks over the sync protocol and gets A's answer.
    let answer = hb.fetch_blocks(pa, BlocksRequest { from: 1, max: 8 }).await.unwrap();
    assert_eq!(answer, BlocksResponse { head: 0, blocks: Vec::new() });

    // The stranger keeps trying for three seconds; nothing from it arrives at A.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline {
        hs.broadcast(vote(3));
        hs.send(pa, vote(3));
        if let Ok(Some((from, m))) = tokio::time::timeout(Duration::from_millis(200), ra.recv()).await {
            assert_eq!(from, pb, "only B's messages may arrive, got {m:?} from {from}");
        }
    }
    assert!(hs.fetch_blocks(pa, BlocksRequest { from: 1, max: 8 }).await.is_err(), "the stranger gets no blocks");
}
