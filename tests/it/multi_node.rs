//! Four validator processes on loopback, as one story under a steady transfer load:
//! 1. all four pass height 50 with identical blocks;
//! 2. one is killed with SIGKILL and the other three go on;
//! 3. it restarts, catches up through block sync and signs again (proposes blocks);
//! 4. two are stopped: no new block and no fork; both come back and progress resumes with
//!    all four in agreement;
//! 5. every transaction acknowledged FINAL by one node is present on all.

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use parking_lot::Mutex;
use serde_json::json;
use testnet::{Layout, Network, NetworkOptions};
use tests::{assert_same_blocks, block, free_port_range, height, start_load, wait_all};

/// `GET /ready` of a node: the status and the body.
async fn readiness(rpc: &rpc::client::RpcClient) -> (u16, serde_json::Value) {
    let r = reqwest::get(format!("{}/ready", rpc.url())).await.expect("GET /ready");
    (r.status().as_u16(), r.json().await.expect("a JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_survive_kills_catch_up_and_agree() {
    let dir = tempfile::tempdir().unwrap();
    let opts = NetworkOptions::new(4, free_port_range(4), free_port_range(4), "multi");
    let mut net = Network::up(Layout::new(dir.path()), &opts).await.expect("4 validators up");
    let rpcs: Vec<_> = net.nodes.iter().map(|n| n.rpc.clone()).collect();
    let keys = testnet::Workload::load_accounts(&net.layout).unwrap();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let load = start_load(rpcs.clone(), keys, acked.clone());

    // 1. Height 50 under load, the same blocks everywhere.
    let hs = wait_all(&rpcs, &[0, 1, 2, 3], 50, 120).await;
    assert!(hs.iter().all(|h| *h >= 50), "all four pass height 50: {hs:?}");
    assert_same_blocks(&rpcs, 1, 50).await;
    assert!(!acked.lock().is_empty(), "the load got transfers final");
    for r in &rpcs {
        let (status, ready) = readiness(r).await;
        assert_eq!(
            (status, ready["peers"].clone(), ready["peers_needed"].clone()),
            (200, json!(3), json!(2)),
            "{ready}"
        );
    }

    // 2. SIGKILL one validator: the other three go on.
    net.signal(3, Signal::SIGKILL).unwrap();
    let _ = net.nodes[3].child.wait().await;
    let at_kill = height(&rpcs[0]).await;
    let hs = wait_all(&rpcs, &[0, 1, 2], at_kill + 10, 60).await;
    assert!(hs.iter().all(|h| *h >= at_kill + 10), "three of four go on: {hs:?} from {at_kill}");

    // 3. It restarts, catches up and signs again: it authors a block (its proposal won).
    net.restart(3).await.expect("node 3 restarts");
    let ahead = height(&rpcs[0]).await;
    let hs = wait_all(&rpcs, &[3], ahead, 60).await;
    assert!(hs[0] >= ahead, "node 3 caught up to {ahead}: at {}", hs[0]);
    let me = net.nodes[3].account.clone();
    let mut authored = None;
    for _ in 0..600 {
        let top = height(&rpcs[3]).await;
        for h in ahead..=top {
            if block(&rpcs[3], h).await["author"] == json!(me) {
                authored = Some(h);
            }
        }
        if authored.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let authored = authored.unwrap_or_else(|| panic!("{me} proposed no block after its restart"));
    let hs = wait_all(&rpcs, &[0, 1, 2, 3], authored, 30).await;
    assert!(hs.iter().all(|h| *h >= authored), "{hs:?}");
    assert_same_blocks(&rpcs, at_kill.saturating_sub(5).max(1), authored).await;
    let log = std::fs::read_to_string(net.nodes[3].home.join("node.log")).unwrap();
    assert!(log.contains("sync progress"), "node 3 caught up through block sync");

    // 4. Two stop: nothing moves and nothing forks; both come back and the chain goes on.
    net.signal(2, Signal::SIGTERM).unwrap();
    net.signal(3, Signal::SIGTERM).unwrap();
    let _ = net.nodes[2].child.wait().await;
    let _ = net.nodes[3].child.wait().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (h0, h1) = (height(&rpcs[0]).await, height(&rpcs[1]).await);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!((height(&rpcs[0]).await, height(&rpcs[1]).await), (h0, h1), "no block without a quorum");
    let (status, ready) = readiness(&rpcs[0]).await;
    assert_eq!(status, 503, "one peer cannot make a quorum: {ready}");
    assert!(ready["reasons"][0].as_str().unwrap().contains("1 peers connected, 2 needed"), "{ready}");
    let common = h0.min(h1);
    assert_eq!(
        block(&rpcs[0], common).await["header"]["hash"],
        block(&rpcs[1], common).await["header"]["hash"],
        "no fork"
    );
    net.restart(2).await.expect("node 2 restarts");
    net.restart(3).await.expect("node 3 restarts");
    let resumed = h0.max(h1) + 5;
    let hs = wait_all(&rpcs, &[0, 1, 2, 3], resumed, 90).await;
    assert!(hs.iter().all(|h| *h >= resumed), "progress resumes on all four: {hs:?}, halted at {h0}/{h1}");
    assert_same_blocks(&rpcs, common.saturating_sub(3).max(1), resumed).await;
    for r in &rpcs {
        let mut last = readiness(r).await;
        for _ in 0..50 {
            if last.0 == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            last = readiness(r).await;
        }
        assert_eq!(last.0, 200, "ready again: {}", last.1);
    }

    // 5. Every transfer acknowledged FINAL by some node is on every node.
    for task in load {
        task.abort();
    }
    let acked = acked.lock().clone();
    assert!(acked.len() >= 20, "enough load went through: {}", acked.len());
    for tx in &acked {
        for (i, r) in rpcs.iter().enumerate() {
            let found = r.call("tx", json!({ "tx_hash": tx, "sender_account_id": "acme", "wait_until": "NONE" })).await;
            assert!(found.is_ok(), "final transaction {tx} is on node {i}: {found:?}");
        }
    }
    for n in &mut net.nodes {
        let _ = n.child.start_kill();
    }
}
