//! One validator of four turns liar: its node stops and the `byzantine` process (a test-only
//! binary) takes its keys and attacks the three honest validator processes over the real
//! libp2p protocols for 40 s, with validly signed lies (far-future heights, floods of the next
//! height and of thousands of rounds, proposals for others' rounds, proposals from the end of
//! time and over the block limits, conflicting votes, forged certificates) and garbage frames
//! of every kind, while a
//! steady load of transfers goes through the honest nodes. The story:
//! 1. the three keep finalizing throughout (no stall longer than a few seconds);
//! 2. they agree on every block (no fork), and every transfer acknowledged FINAL is on all;
//! 3. their memory stays bounded;
//! 4. each kept evidence of the liar's conflicting votes, which `genesis verify-evidence`
//!    checks from the genesis file alone and pins on the liar;
//! 5. none of them logged a panic;
//! 6. the treasury removes the liar: from the next epoch the three disconnect it, and when it
//!    comes back it gets neither an acknowledgement nor a block, while they go on.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use parking_lot::Mutex;
use serde_json::{json, Value};
use testnet::{Layout, Network, NetworkOptions};
use tests::{
    assert_same_blocks, binary, free_port_range, height, reach, start_load, treasury_decides, validator_accounts,
    wait_all,
};

/// How long the liar attacks.
const ATTACK_SECS: u64 = 40;
/// Epochs short enough that removing the liar takes effect within seconds.
const EPOCH: u64 = 20;
/// Peak resident memory an honest validator may reach (about 33 MiB in this test; 190 MiB
/// under the bench's full load).
const RSS_BOUND_MIB: u64 = 256;

fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    kib / 1024
}

/// Starts the liar on a validator's home for `secs`.
fn start_liar(home: &std::path::Path, secs: u64) -> tokio::process::Child {
    tokio::process::Command::new(binary("byzantine"))
        .arg("--home")
        .arg(home)
        .args(["--duration", &secs.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the liar")
}

/// The honest nodes' warnings and errors about `height`, to read a stall.
fn logged_at(net: &Network, height: u64) -> String {
    let needle = format!("height={height} ");
    let mut out = String::new();
    for n in net.nodes.iter().take(3) {
        let log = std::fs::read_to_string(n.home.join("node.log")).unwrap_or_default();
        let lines: Vec<&str> =
            log.lines().filter(|l| l.contains(&needle) && (l.contains("WARN") || l.contains("ERROR"))).collect();
        out += &format!("== {} ({} lines)\n", n.account, lines.len());
        for l in lines.iter().take(40) {
            out += &format!("{l}\n");
        }
    }
    out
}

/// Waits for the liar to end by itself and returns its report (its last stdout line).
async fn liar_report(liar: tokio::process::Child) -> Value {
    let output = liar.wait_with_output().await.expect("the liar ends by itself");
    serde_json::from_slice(output.stdout.trim_ascii_end().rsplit(|b| *b == b'\n').next().unwrap_or(b"{}"))
        .unwrap_or_else(|e| {
            panic!("liar report: {e}; stdout {:?} stderr {}", output.stdout, String::from_utf8_lossy(&output.stderr))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_lying_validator_cannot_halt_fork_or_exhaust_the_other_three() {
    let dir = tempfile::tempdir().unwrap();
    let opts = NetworkOptions {
        epoch_length: Some(EPOCH),
        ..NetworkOptions::new(4, free_port_range(4), free_port_range(4), "byzantine")
    };
    let mut net = Network::up(Layout::new(dir.path()), &opts).await.expect("4 validators up");
    let honest: Vec<_> = net.nodes.iter().take(3).map(|n| n.rpc.clone()).collect();
    reach(&honest[0], 3, 60).await;

    // Validator 3 stops; the liar takes its keys.
    net.signal(3, Signal::SIGKILL).unwrap();
    let _ = net.nodes[3].child.wait().await;
    let liar_home = net.nodes[3].home.clone();
    let liar = start_liar(&liar_home, ATTACK_SECS);
    let keys = testnet::Workload::load_accounts(&net.layout).unwrap();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let load = start_load(honest.clone(), keys, acked.clone());

    // 1. Progress while it lies: the lowest honest head, every 250 ms.
    let started = Instant::now();
    let min_height = |hs: &[u64]| hs.iter().copied().min().unwrap_or(0);
    let mut heads = Vec::new();
    for r in &honest {
        heads.push(height(r).await);
    }
    let first = min_height(&heads);
    let (mut last, mut moved, mut longest_stall) = (first, Instant::now(), Duration::ZERO);
    let mut stalled_at = first;
    while started.elapsed() < Duration::from_secs(ATTACK_SECS) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        heads.clear();
        for r in &honest {
            heads.push(height(r).await);
        }
        let now = min_height(&heads);
        if now > last {
            if moved.elapsed() > longest_stall {
                (longest_stall, stalled_at) = (moved.elapsed(), last);
            }
            (last, moved) = (now, Instant::now());
        }
    }
    if moved.elapsed() > longest_stall {
        (longest_stall, stalled_at) = (moved.elapsed(), last);
    }
    let report = liar_report(liar).await;
    for kind in [
        "future_height_votes",
        "next_height_flood",
        "round_flood",
        "wrong_proposer",
        "far_future_timestamp",
        "over_limit_block",
        "withheld_transactions",
        "fetch_flood",
        "unasked_transactions",
        "conflicting_votes",
        "forged_certificate",
        "forged_decision",
        "garbage",
        "absurd_block_request",
    ] {
        assert!(report["sent"][kind].as_u64().unwrap_or(0) > 0, "the liar sent no {kind}: {report}");
    }
    assert!(report["followed_to_height"].as_u64().unwrap_or(0) >= first, "the liar followed the chain: {report}");
    eprintln!(
        "under attack: {} blocks in {ATTACK_SECS} s, longest stall {longest_stall:?}; the liar sent {}",
        last - first,
        report["sent"]
    );
    assert!(last >= first + 15, "the honest three finalized {} blocks in {ATTACK_SECS} s under attack", last - first);
    assert!(
        longest_stall < Duration::from_secs(10),
        "a stall of {longest_stall:?} under attack at height {}; what the honest nodes logged there:\n{}",
        stalled_at + 1,
        logged_at(&net, stalled_at + 1)
    );

    // 2. No fork; every acknowledged transfer is on all three.
    for task in load {
        task.abort();
    }
    // Transfers the load sent but no longer waits for land in the next blocks.
    let settled = height(&honest[0]).await + 2;
    wait_all(&honest, &[0, 1, 2], settled, 30).await;
    let top = {
        let mut hs = Vec::new();
        for r in &honest {
            hs.push(height(r).await);
        }
        min_height(&hs)
    };
    assert_same_blocks(&honest, 1, top).await;
    let acked = acked.lock().clone();
    assert!(acked.len() >= 10, "the load went through: {}", acked.len());
    for tx in &acked {
        for (i, r) in honest.iter().enumerate() {
            let found = r.call("tx", json!({ "tx_hash": tx, "sender_account_id": "acme", "wait_until": "NONE" })).await;
            assert!(found.is_ok(), "final transaction {tx} is on node {i}: {found:?}");
        }
    }

    // 3. Bounded memory.
    for (i, n) in net.nodes.iter().take(3).enumerate() {
        let pid = n.child.id().expect("running");
        let mib = peak_rss_mib(pid);
        eprintln!("node {i}: peak RSS {mib} MiB");
        assert!(mib > 0 && mib < RSS_BOUND_MIB, "node {i} peaked at {mib} MiB");
    }

    // 4. Evidence, checked from the genesis file alone.
    let liar_account = net.nodes[3].account.clone();
    for (i, r) in honest.iter().enumerate() {
        let evidence = r.call("admin_evidence", json!([])).await.unwrap();
        let mine: Vec<&Value> =
            evidence.as_array().unwrap().iter().filter(|e| e["validator"] == json!(liar_account)).collect();
        let kinds: std::collections::BTreeSet<&str> = mine.iter().filter_map(|e| e["kind"].as_str()).collect();
        assert!(kinds.contains("conflicting_votes"), "node {i} kept evidence of the liar's double votes: {kinds:?}");
        // One of each kind (its own proposals at one round conflict too), checked from the
        // genesis file alone.
        for kind in kinds {
            let e = mine.iter().find(|e| e["kind"] == kind).unwrap();
            let out = std::process::Command::new(binary("genesis"))
                .args(["verify-evidence", "--genesis"])
                .arg(liar_home.join("genesis.json"))
                .arg(e["proof"].as_str().unwrap())
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && said.contains(&liar_account) && said.contains(kind),
                "verify-evidence of {kind}: {said} {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    // 5. No panic anywhere.
    for n in net.nodes.iter().take(3) {
        let log = std::fs::read_to_string(n.home.join("node.log")).unwrap_or_default();
        assert!(!log.contains("panicked"), "{} panicked:\n{log}", n.account);
    }

    // 6. Removed by the treasury, the liar is cut off.
    let remove =
        json!({"receiver_id": "treasury", "actions": [{"type": "RemoveValidator", "account_id": liar_account}]});
    treasury_decides(&net, remove).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut sets = Vec::new();
        for r in &honest {
            sets.push(validator_accounts(r).await);
        }
        if sets.iter().all(|s| s.len() == 3 && !s.contains(&liar_account)) {
            break;
        }
        assert!(Instant::now() < deadline, "the liar was not removed within 120 s: {sets:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before = height(&honest[0]).await;
    let report = liar_report(start_liar(&liar_home, 8)).await;
    eprintln!("the removed liar, back for 8 s: {report}");
    assert_eq!(report["streams_opened"], json!(0), "a removed validator opened message streams: {report}");
    assert_eq!(report["blocks_fetched"], json!(0), "a removed validator was served blocks: {report}");
    let after = wait_all(&honest, &[0, 1, 2], before + 3, 30).await;
    assert!(after.iter().all(|h| *h >= before + 3), "the three went on without the liar: {after:?}");
    for n in &mut net.nodes {
        let _ = n.child.start_kill();
    }
}
