//! Four validators signing through `kms` daemons backed by one OpenBao
//! (`testnet up --kms remote`): one daemon is killed with SIGKILL and its validator misses
//! its votes while the other three go on, then signs again once the daemon is back; OpenBao
//! hangs (SIGSTOP) and every validator misses its votes without crashing, and the chain
//! resumes when it continues.

use std::time::Duration;

use nix::sys::signal::Signal;
use rpc::client::RpcClient;
use serde_json::{json, Value};
use testnet::signing::{kms_dir, spawn_kms, KmsMode};
use testnet::{Layout, Network, NetworkOptions};
use tests::{free_port, free_port_range, height, reach};

/// Whether validator `v` signed the commit certificate of any block in `from..=to`.
async fn signed_any(rpc: &RpcClient, v: usize, from: u64, to: u64) -> bool {
    for h in from..=to {
        let b: Value = rpc.call("block", json!({ "block_id": h })).await.unwrap();
        if !b["header"]["approvals"][v].is_null() {
            return true;
        }
    }
    false
}

/// Whether validator `v` signs a certificate from height `from` on, within about 30 more
/// blocks (a certificate holds the first quorum of precommits, so a slower signer may be
/// missing from a few in a row).
async fn signs_from(rpc: &RpcClient, v: usize, from: u64) -> bool {
    let mut to = reach(rpc, from + 3, 60).await;
    for _ in 0..30 {
        if signed_any(rpc, v, from, to).await {
            return true;
        }
        to = reach(rpc, to + 1, 30).await;
    }
    false
}

fn alive(net: &mut Network) {
    for n in &mut net.nodes {
        assert!(n.child.try_wait().unwrap().is_none(), "node {} exited", n.account);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_miss_votes_while_their_signer_is_down_and_sign_again_after() {
    let dir = tempfile::tempdir().unwrap();
    let opts = NetworkOptions {
        kms: KmsMode::Remote,
        vault_port: free_port(),
        kms_base_port: free_port_range(4),
        ..NetworkOptions::new(4, free_port_range(4), free_port_range(4), "kms-net")
    };
    let mut net = Network::up(Layout::new(dir.path()), &opts).await.expect("4 validators with kms daemons up");
    let rpc = net.nodes[1].rpc.clone();
    assert!(signs_from(&rpc, 0, 2).await, "validator 0 signs while its daemon runs");

    // Validator 0's daemon dies: it misses every vote, the other three go on.
    net.kms_daemons[0].kill().await.unwrap();
    let from = height(&rpc).await + 2;
    let to = reach(&rpc, from + 8, 60).await;
    assert!(!signed_any(&rpc, 0, from, to).await, "no signature of validator 0 while its daemon is dead");
    alive(&mut net);
    let log = std::fs::read_to_string(net.nodes[0].home.join("node.log")).unwrap();
    assert!(log.contains("could not sign"), "the node logs its missed votes");

    // The daemon comes back: validator 0 signs again.
    let account = net.nodes[0].account.clone();
    net.kms_daemons[0] = spawn_kms(&kms_dir(&net.layout, &account)).await.unwrap();
    let from = height(&rpc).await + 1;
    assert!(signs_from(&rpc, 0, from).await, "validator 0 signs again after its daemon restarts");

    // OpenBao hangs: nobody can sign, the chain stops, nothing crashes; it resumes after.
    let bao = net.openbao.as_ref().unwrap();
    bao.signal(Signal::SIGSTOP).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopped_at = height(&rpc).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(height(&rpc).await <= stopped_at + 1, "no quorum can sign while OpenBao hangs");
    alive(&mut net);
    net.openbao.as_ref().unwrap().signal(Signal::SIGCONT).unwrap();
    reach(&rpc, stopped_at + 3, 60).await;
    alive(&mut net);
    net.stop(Duration::from_secs(10)).await.unwrap();
}
