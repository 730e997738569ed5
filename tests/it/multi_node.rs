//! Four validator processes on loopback, as a story: they agree on every block under a
//! transfer load; a transaction final on one node is on all; with one validator stopped the
//! other three go on; with two stopped the chain halts without forking.

use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use testnet::{Layout, Network, NetworkOptions};
use tests::{free_port_range, transfer};

async fn height(rpc: &rpc::client::RpcClient) -> u64 {
    rpc.status().await.map(|s| s["sync_info"]["latest_block_height"].as_u64().unwrap_or(0)).unwrap_or(0)
}

async fn block_hash(rpc: &rpc::client::RpcClient, h: u64) -> Value {
    rpc.call("block", json!({ "block_id": h })).await.map(|b| b["header"]["hash"].clone()).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_agree_keep_going_with_three_and_halt_with_two() {
    let dir = tempfile::tempdir().unwrap();
    let opts = NetworkOptions {
        validators: 4,
        rpc_base_port: free_port_range(4),
        p2p_base_port: free_port_range(4),
        chain_id: "multi".into(),
    };
    let mut net = Network::up(Layout::new(dir.path()), &opts).await.expect("4 validators up");
    let rpcs: Vec<_> = net.nodes.iter().map(|n| n.rpc.clone()).collect();
    let keys = testnet::Workload::load_accounts(&net.layout).unwrap();

    // Load: each account sends transfers, each through a different node, waiting for FINAL.
    let hash = rpcs[0].final_block_hash().await.unwrap();
    let mut acked = Vec::new();
    for round in 1..=8u64 {
        for (i, from) in keys.iter().enumerate() {
            let to = keys[(i + 1) % keys.len()].account_id.to_string();
            let tx = transfer(from, &to, round, hash, 1);
            let r =
                rpcs[i % 4].send_tx(&tx, "FINAL").await.unwrap_or_else(|e| panic!("transfer via node {}: {e}", i % 4));
            assert_eq!(r["status"], json!({ "SuccessValue": "" }));
            acked.push(tx.hash());
        }
    }
    let target = 30;
    for _ in 0..300 {
        let mut hs = Vec::new();
        for r in &rpcs {
            hs.push(height(r).await);
        }
        if hs.iter().all(|h| *h >= target) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for h in 1..=target {
        let first = block_hash(&rpcs[0], h).await;
        assert!(first.is_string(), "block {h} exists on node 0");
        for (i, r) in rpcs.iter().enumerate().skip(1) {
            assert_eq!(block_hash(r, h).await, first, "node {i} has the same block {h}");
        }
    }
    for tx in &acked {
        for (i, r) in rpcs.iter().enumerate() {
            let found =
                r.call("tx", json!({ "tx_hash": tx, "sender_account_id": "acme", "wait_until": "FINAL" })).await;
            assert!(found.is_ok(), "final transaction {tx} is on node {i}");
        }
    }

    // One validator stops: the other three keep committing (quorum is 3 of 4).
    let pid = |i: usize| Pid::from_raw(net.nodes[i].child.id().unwrap() as i32);
    kill(pid(3), Signal::SIGTERM).unwrap();
    let before = height(&rpcs[0]).await;
    let mut progressed = false;
    for _ in 0..100 {
        if height(&rpcs[0]).await >= before + 3 {
            progressed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(progressed, "three of four validators go on");

    // A second one stops: two of four cannot commit; nothing moves and nothing forks.
    kill(pid(2), Signal::SIGTERM).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (h0, h1) = (height(&rpcs[0]).await, height(&rpcs[1]).await);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!((height(&rpcs[0]).await, height(&rpcs[1]).await), (h0, h1), "no block without a quorum");
    let common = h0.min(h1);
    assert_eq!(block_hash(&rpcs[0], common).await, block_hash(&rpcs[1], common).await, "no fork");

    for n in &mut net.nodes {
        let _ = n.child.start_kill();
    }
}
