//! `testnet chaos`: a testnet under a steady signed load (every transfer acknowledged FINAL
//! recorded) while validators fail at seeded random moments, then a checker over the whole
//! run. It injects process faults: SIGKILL (restarted later), SIGSTOP (SIGCONT later) and a
//! clean restart; and clock jumps: the node restarted with its wall clock 40 s ahead
//! (libfaketime, Debian's `faketime`), later restarted on the true time. Never more than
//! f = (n - 1) / 3 validators at once.
//!
//! The checker proves, or lists as violations:
//! - one block hash per height on every node, over every height all of them hold;
//! - every acknowledged transaction on every node, with a success outcome;
//! - no validator signed two different messages for one step (no node holds evidence);
//! - after each fault healed, blocks resumed within [`RESUME_BOUND`].
//!
//! It prints a timeline and writes `chaos-report.json` in the testnet directory
//! (`faults` by kind, `heights_checked`, `acknowledged`, `violations`, `timeline`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nix::sys::signal::Signal;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use rpc::client::RpcClient;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::{Layout, Network, NetworkOptions, Workload, WorkloadStats};

/// How long blocks may take to resume after a fault healed.
pub const RESUME_BOUND: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct ChaosOptions {
    pub network: NetworkOptions,
    pub duration: Duration,
    pub seed: u64,
    /// Transfers per second, all accounts together.
    pub load: f64,
    /// Adds a transaction hash that no node has to the acknowledged ones before checking: the
    /// run must then fail, which shows the checker finds a lost transaction.
    pub self_check: bool,
}

/// Where Debian's `faketime` package puts the library that shifts a process's wall clock.
const FAKETIME_LIBS: [&str; 2] =
    ["/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1", "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1"];

/// How far a clock jump moves a node's wall clock.
const CLOCK_JUMP: &str = "+40s";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Kill,
    Stop,
    Restart,
    ClockJump,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Kill => "sigkill",
            Kind::Stop => "sigstop",
            Kind::Restart => "restart",
            Kind::ClockJump => "clock_jump",
        }
    }
}

/// One fault as it happened, in milliseconds from the start of the run.
#[derive(Debug)]
struct Fault {
    kind: Kind,
    node: String,
    at_ms: u128,
    healed_ms: u128,
    resumed_ms: Option<u128>,
}

async fn height(rpc: &RpcClient) -> Option<u64> {
    rpc.status().await.ok().and_then(|s| s["sync_info"]["latest_block_height"].as_u64())
}

/// Highest head among the nodes in `which` that answer.
async fn top(net: &Network, which: &[usize]) -> u64 {
    let mut best = 0;
    for &i in which {
        best = best.max(height(&net.nodes[i].rpc).await.unwrap_or(0));
    }
    best
}

/// Waits until the healthy nodes' head passes `from` by two blocks; how long it took.
async fn resumed(net: &Network, healthy: &[usize], from: u64, started: Instant) -> Option<u128> {
    let deadline = Instant::now() + RESUME_BOUND;
    while Instant::now() < deadline {
        if top(net, healthy).await >= from + 2 {
            return Some(started.elapsed().as_millis());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Runs the whole thing; returns the report (violations inside) and writes it.
pub async fn run(layout: Layout, opts: &ChaosOptions) -> anyhow::Result<Value> {
    let report_path = layout.root.join("chaos-report.json");
    let mut net = Network::up(layout.clone(), &opts.network).await.context("starting the testnet")?;
    let n = net.nodes.len();
    let f = (n - 1) / 3;
    anyhow::ensure!(f >= 1, "chaos needs at least 4 validators (f >= 1), not {n}");
    let faketime = FAKETIME_LIBS
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .context("libfaketimeMT.so.1 is missing: `apt-get install faketime` (clock jumps need it)")?;
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let started = Instant::now();

    let stats = Arc::new(WorkloadStats::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let workload = Workload {
        accounts: Workload::load_accounts(&layout)?,
        clients: net.nodes.iter().map(|node| node.rpc.clone()).collect(),
        tps: opts.load,
        amount: 1,
    };
    let load = tokio::spawn(workload.run(stats.clone(), stop_rx));

    let mut faults: Vec<Fault> = Vec::new();
    let mut violations: Vec<String> = Vec::new();
    // Leave the last fifth of the run fault-free, so every fault heals inside it.
    let calm = started + opts.duration.mul_f64(0.8);
    while Instant::now() + Duration::from_secs(4) < calm {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(1_000..4_000))).await;
        let kind = [Kind::Kill, Kind::Stop, Kind::Restart, Kind::ClockJump][rng.gen_range(0..4)];
        let victim = rng.gen_range(0..n);
        let healthy: Vec<usize> = (0..n).filter(|i| *i != victim).collect();
        let node = net.nodes[victim].account.clone();
        let at_ms = started.elapsed().as_millis();
        println!("{:>7.1} s  {:<8} {node}", at_ms as f64 / 1000.0, kind.name());
        // f = 1 here: one fault at a time, each healed before the next.
        let hold = Duration::from_millis(rng.gen_range(1_000..5_000));
        match kind {
            Kind::Kill => {
                net.signal(victim, Signal::SIGKILL)?;
                let _ = tokio::time::timeout(Duration::from_secs(10), net.nodes[victim].child.wait()).await;
                tokio::time::sleep(hold).await;
                net.restart(victim).await.with_context(|| format!("restarting {node}"))?;
            }
            Kind::Stop => {
                net.signal(victim, Signal::SIGSTOP)?;
                tokio::time::sleep(hold).await;
                net.signal(victim, Signal::SIGCONT)?;
            }
            Kind::Restart => {
                net.stop_node(victim, Duration::from_secs(30)).await.with_context(|| format!("stopping {node}"))?;
                net.restart(victim).await.with_context(|| format!("restarting {node}"))?;
            }
            Kind::ClockJump => {
                net.stop_node(victim, Duration::from_secs(30)).await.with_context(|| format!("stopping {node}"))?;
                let ahead = [("LD_PRELOAD", faketime), ("FAKETIME", CLOCK_JUMP), ("DONT_FAKE_MONOTONIC", "1")];
                net.restart_with_env(victim, &ahead).await.with_context(|| format!("restarting {node} ahead"))?;
                tokio::time::sleep(hold).await;
                net.stop_node(victim, Duration::from_secs(30)).await.with_context(|| format!("stopping {node}"))?;
                net.restart(victim).await.with_context(|| format!("restarting {node}"))?;
            }
        }
        let healed_ms = started.elapsed().as_millis();
        let from = top(&net, &healthy).await;
        let resumed_ms = resumed(&net, &(0..n).collect::<Vec<_>>(), from, started).await;
        println!(
            "{:>7.1} s  healed   {node}{}",
            healed_ms as f64 / 1000.0,
            resumed_ms.map_or(" (blocks did not resume)".to_owned(), |r| format!(
                ", blocks resumed {:.1} s later",
                (r - healed_ms) as f64 / 1000.0
            ))
        );
        if resumed_ms.is_none() {
            violations.push(format!(
                "blocks did not resume within {} s after the {} of {node} healed",
                RESUME_BOUND.as_secs(),
                kind.name()
            ));
        }
        faults.push(Fault { kind, node, at_ms, healed_ms, resumed_ms });
    }
    let rest = (started + opts.duration).saturating_duration_since(Instant::now());
    tokio::time::sleep(rest).await;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(60), load).await;

    if opts.self_check {
        let mut phantom = [0u8; 32];
        rng.fill(&mut phantom[..]);
        stats.acknowledged.lock().push(chain_types::CryptoHash(phantom));
        println!("self-check: added a transaction no node has to the acknowledged ones");
    }
    let checked = check(&net, &stats, &mut violations).await;
    let acknowledged = stats.acknowledged.lock().len();
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for fault in &faults {
        *by_kind.entry(fault.kind.name()).or_default() += 1;
    }
    let timeline: Vec<Value> = faults
        .iter()
        .map(|x| json!({ "kind": x.kind.name(), "node": x.node, "at_ms": x.at_ms as u64, "healed_ms": x.healed_ms as u64, "resumed_ms": x.resumed_ms.map(|r| r as u64) }))
        .collect();
    let report = json!({
        "seed": opts.seed,
        "validators": n,
        "duration_s": opts.duration.as_secs(),
        "load_tps": opts.load,
        "faults": by_kind,
        "heights_checked": checked,
        "acknowledged": acknowledged,
        "failed_submissions": stats.failed.load(Ordering::Relaxed),
        "violations": violations,
        "timeline": timeline,
    });
    std::fs::write(&report_path, serde_json::to_vec_pretty(&report)?)?;
    println!(
        "checked {checked} heights on {n} nodes and {acknowledged} acknowledged transactions: {} violations (report: {})",
        report["violations"].as_array().map_or(0, Vec::len),
        report_path.display()
    );
    net.stop(Duration::from_secs(10)).await?;
    Ok(report)
}

/// Waits (bounded) for every node to reach a common height, then checks blocks, transactions
/// and evidence on every node. Returns how many heights were compared.
async fn check(net: &Network, stats: &WorkloadStats, violations: &mut Vec<String>) -> u64 {
    let all: Vec<usize> = (0..net.nodes.len()).collect();
    let target = top(net, &all).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lowest = 0;
    while Instant::now() < deadline {
        lowest = u64::MAX;
        for node in &net.nodes {
            lowest = lowest.min(height(&node.rpc).await.unwrap_or(0));
        }
        if lowest >= target {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if lowest < target {
        violations.push(format!("a node stayed at {lowest}, behind the others' {target}, for 60 s after the run"));
    }
    for h in 1..=lowest {
        let mut hashes = Vec::new();
        for node in &net.nodes {
            let b = node.rpc.call("block", json!({ "block_id": h })).await.unwrap_or(Value::Null);
            hashes.push(b["header"]["hash"].as_str().unwrap_or("none").to_owned());
        }
        if hashes.iter().any(|x| *x != hashes[0]) {
            violations.push(format!("height {h} has different blocks: {hashes:?}"));
        }
    }
    let acked = stats.acknowledged.lock().clone();
    for hash in &acked {
        for node in &net.nodes {
            let t = node.rpc.call("tx", json!({ "tx_hash": hash, "wait_until": "NONE" })).await;
            match t {
                Ok(t) if t["status"].get("SuccessValue").is_some() => {}
                Ok(t) => violations.push(format!("{} shows acknowledged {hash} as {}", node.account, t["status"])),
                Err(e) => violations.push(format!("{} does not have acknowledged {hash}: {e}", node.account)),
            }
        }
    }
    for node in &net.nodes {
        match node.rpc.call("admin_evidence", json!([])).await {
            Ok(Value::Array(e)) if e.is_empty() => {}
            Ok(e) => violations.push(format!("{} holds equivocation evidence: {e}", node.account)),
            Err(e) => violations.push(format!("{} did not answer admin_evidence: {e}", node.account)),
        }
    }
    lowest
}
