//! `testnet bench`: N validators on loopback, pre-signed NEAR-format transfers from many
//! accounts submitted through JSON-RPC, and the figures that matter to an operator:
//! finalized transactions per second, submit-to-final latency percentiles, block interval,
//! each node's peak memory, and the machine's signature-verification bound to compare with.
//!
//! Without `--rate` it runs a sweep: flat out first, then paced phases at rising fractions of
//! that rate to find the maximum *sustained* rate (the highest offered rate finalized in full,
//! nothing refused, p99 under a second), refined by bisection; then 10%, 50% and 80% of the
//! maximum sustained rate. Latency is measured from the moment a transaction is posted to the
//! moment the bench sees it in a final block on node 0 (polled every millisecond). Refusals
//! (a full mempool's fast answer) are counted apart from failures. The result is JSON and a
//! PNG of latency against offered rate.
//!
//! Then catch-up: the last validator stops while the others take the maximum sustained rate
//! for a phase; it restarts and the bench times it until it holds the head the others had,
//! and reports the rate it caught up at against the maximum sustained rate.

mod load;
mod observe;
pub mod plot;
mod stats;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde_json::{json, Value};

use crate::signing::KmsMode;
use crate::{Layout, Network, NetworkOptions, Workload};
use load::{presign, submit, NOT_SENT};
use observe::watch_finality;
use stats::{batch_verify_rate, cpu_seconds, peak_rss_kib, percentile};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub validators: usize,
    /// Funded sender accounts (each also receives).
    pub accounts: usize,
    /// A directory for the testnet; must not hold one already.
    pub dir: PathBuf,
    pub rpc_base_port: u16,
    pub p2p_base_port: u16,
    /// One phase at this rate (transactions per second); `None` runs the sweep.
    pub rate: Option<f64>,
    /// Length of each paced phase.
    pub duration: Duration,
    /// Transactions in the flat-out phase.
    pub flat_txs: usize,
    /// Concurrent HTTP connections submitting.
    pub connections: usize,
    /// Where the validators' keys live.
    pub kms: KmsMode,
    pub vault_port: u16,
    pub kms_base_port: u16,
    /// Where to draw latency against offered rate (PNG).
    pub plot: PathBuf,
}

/// A paced phase is sustained when everything offered was finalized, nothing was refused
/// or failed, and p99 stayed under this.
const SUSTAINED_P99_MS: f64 = 1_000.0;
/// Fractions of the flat-out rate the sweep tries, in order, until one is not sustained.
const SWEEP: [f64; 7] = [0.3, 0.5, 0.7, 0.85, 1.0, 1.2, 1.5];
/// Bisection steps between the last sustained and the first failing sweep rate.
const REFINE_STEPS: usize = 2;

/// What one phase measured.
#[derive(Debug, Clone)]
struct Phase {
    name: String,
    target_rate: Option<f64>,
    sent: usize,
    refused: u64,
    failed: u64,
    first_error: Option<String>,
    finalized: usize,
    finalized_tps: f64,
    latency_ms: [f64; 4],
    block_interval_ms: [f64; 3],
    blocks: usize,
    mean_block_txs: f64,
}

impl Phase {
    fn to_json(&self) -> Value {
        json!({
            "phase": self.name,
            "target_rate": self.target_rate,
            "offered_tps": round1(self.offered_tps()),
            "sent": self.sent,
            "refused": self.refused,
            "submit_failed": self.failed,
            "first_submit_error": self.first_error,
            "finalized": self.finalized,
            "finalized_tps": round1(self.finalized_tps),
            "latency_ms": { "p50": round1(self.latency_ms[0]), "p90": round1(self.latency_ms[1]),
                            "p99": round1(self.latency_ms[2]), "max": round1(self.latency_ms[3]) },
            "block_interval_ms": { "mean": round1(self.block_interval_ms[0]), "p50": round1(self.block_interval_ms[1]),
                                   "p99": round1(self.block_interval_ms[2]) },
            "blocks": self.blocks,
            "mean_block_txs": round1(self.mean_block_txs),
        })
    }

    fn print(&self) {
        let target = self.target_rate.map_or("flat out".to_owned(), |r| format!("{r:.0} tx/s"));
        println!(
            "{:<10} ({target}): sent {} final {} refused {} failed {} | {:.0} finalized tx/s | latency p50 {:.1} p90 {:.1} p99 {:.1} max {:.1} ms | block interval mean {:.1} p50 {:.1} p99 {:.1} ms over {} blocks, {:.0} tx/block",
            self.name, self.sent, self.finalized, self.refused, self.failed, self.finalized_tps, self.latency_ms[0], self.latency_ms[1],
            self.latency_ms[2], self.latency_ms[3], self.block_interval_ms[0], self.block_interval_ms[1],
            self.block_interval_ms[2], self.blocks, self.mean_block_txs,
        );
        if let Some(e) = &self.first_error {
            println!("        first submit error: {e}");
        }
    }
}

impl Phase {
    /// The rate offered: the pacing target, or for the flat-out phase what was sent per
    /// second of the phase.
    fn offered_tps(&self) -> f64 {
        self.target_rate.unwrap_or(self.finalized_tps)
    }

    fn sustained(&self) -> bool {
        self.target_rate.is_some()
            && self.refused == 0
            && self.failed == 0
            && self.sent > 0
            && self.finalized == self.sent
            && self.latency_ms[2] < SUSTAINED_P99_MS
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Runs the benchmark and returns its result (also printed as it goes).
pub async fn run(opts: &BenchOptions) -> anyhow::Result<Value> {
    let layout = Layout::new(&opts.dir);
    if layout.genesis_file().exists() {
        bail!("{} already holds a testnet; the bench needs a fresh --dir", opts.dir.display());
    }
    if opts.accounts < 2 {
        bail!("--accounts must be at least 2");
    }
    println!("measuring single-core batch ed25519 verification (2 s)...");
    let per_core = batch_verify_rate(2.0)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bound = per_core * cores as f64 / opts.validators as f64;
    println!(
        "signature bound: {per_core:.0} verifications/s per core x {cores} cores / {} validators = {bound:.0} tx/s (60% = {:.0})",
        opts.validators,
        bound * 0.6
    );

    let net_opts = NetworkOptions {
        load_accounts: opts.accounts,
        kms: opts.kms,
        vault_port: opts.vault_port,
        kms_base_port: opts.kms_base_port,
        ..NetworkOptions::new(opts.validators, opts.rpc_base_port, opts.p2p_base_port, "bench")
    };
    println!(
        "starting {} validators with {} funded accounts in {}",
        opts.validators,
        opts.accounts,
        opts.dir.display()
    );
    let mut net = Network::up(layout, &net_opts).await?;
    let accounts: Vec<_> = Workload::load_accounts(&net.layout)?
        .into_iter()
        .filter(|k| k.account_id.as_str().starts_with("load"))
        .collect();
    let mut nonces = vec![0u64; accounts.len()];
    let mut result = phases(&net, opts, &accounts, &mut nonces).await;
    let mut caught_up = None;
    if let Ok(run) = &mut result {
        if let Some(max) = run.max_sustained {
            match catch_up(&mut net, opts, &accounts, &mut nonces, max).await {
                Ok(Some((down, c))) => {
                    run.phases.push(down);
                    caught_up = Some(c);
                }
                Ok(None) => {}
                Err(e) => result = Err(e),
            }
        }
    }
    let nodes: Vec<Value> = net
        .nodes
        .iter()
        .map(|n| {
            let pid = n.child.id();
            json!({
                "node": n.account,
                "peak_rss_mib": pid.and_then(peak_rss_kib).map(|k| round1(k as f64 / 1024.0)),
                "cpu_seconds": pid.and_then(cpu_seconds).map(round1),
            })
        })
        .collect();
    net.stop(Duration::from_secs(10)).await?;
    let run = result?;
    for n in &nodes {
        println!(
            "{} peak RSS {} MiB, {} CPU seconds",
            n["node"].as_str().unwrap_or("?"),
            n["peak_rss_mib"],
            n["cpu_seconds"]
        );
    }
    let points: Vec<plot::Point> = run
        .phases
        .iter()
        .filter(|p| p.target_rate.is_some() && p.finalized > 0 && p.name != ONE_DOWN)
        .map(|p| plot::Point { offered_tps: p.offered_tps(), p50_ms: p.latency_ms[0], p99_ms: p.latency_ms[2] })
        .collect();
    let title = format!("{} validators: submit-to-final latency against offered load", opts.validators);
    plot::latency_against_rate(&opts.plot, &title, &points, run.max_sustained)?;
    println!("plot written to {}", opts.plot.display());
    if let (Some(c), Some(max)) = (&caught_up, run.max_sustained) {
        println!(
            "catch-up: {} was {} blocks ({} transactions) behind and caught up in {:.2} s: {:.0} tx/s, {:.1}x the max sustained rate",
            c.node,
            c.blocks,
            c.transactions,
            c.seconds,
            c.tps(),
            c.tps() / max
        );
    }
    if let Some(flat) = run.flat_out {
        println!(
            "flat out {flat:.0} tx/s ({:.0}% of the bound), max sustained {} tx/s{}",
            100.0 * flat / bound,
            run.max_sustained.map_or("-".to_owned(), |m| format!("{m:.0}")),
            run.max_sustained.map_or(String::new(), |m| format!(" ({:.0}% of the bound)", 100.0 * m / bound)),
        );
    }
    Ok(json!({
        "validators": opts.validators,
        "accounts": opts.accounts,
        "connections": opts.connections,
        "cores": cores,
        "batch_verify_per_core": per_core.round(),
        "signature_bound_tps": bound.round(),
        "target_tps": (bound * 0.6).round(),
        "flat_out_tps": run.flat_out.map(f64::round),
        "max_sustained_tps": run.max_sustained.map(f64::round),
        "plot": opts.plot.display().to_string(),
        "phases": run.phases.iter().map(Phase::to_json).collect::<Vec<_>>(),
        "catch_up": caught_up.map(|c| json!({
            "node": c.node,
            "blocks": c.blocks,
            "transactions": c.transactions,
            "seconds": round1(c.seconds),
            "tps": c.tps().round(),
            "times_max_sustained": run.max_sustained.map(|m| round1(c.tps() / m)),
        })),
        "nodes": nodes,
    }))
}

/// What the phases found.
struct Run {
    phases: Vec<Phase>,
    flat_out: Option<f64>,
    max_sustained: Option<f64>,
}

async fn phases(
    net: &Network,
    opts: &BenchOptions,
    accounts: &[genesis::KeyFile],
    nonces: &mut [u64],
) -> anyhow::Result<Run> {
    if let Some(rate) = opts.rate {
        let one = paced(net, opts, accounts, nonces, "rate", rate).await?;
        return Ok(Run { phases: vec![one], flat_out: None, max_sustained: None });
    }
    let flat = phase(net, opts, accounts, nonces, "flat out", None, opts.flat_txs).await?;
    let flat_tps = flat.finalized_tps.max(1.0);
    let mut all = vec![flat];
    // Rising rates until one is not sustained, then bisection between the last two.
    let (mut good, mut bad): (Option<f64>, Option<f64>) = (None, None);
    for share in SWEEP {
        let rate = (flat_tps * share).round();
        let p = paced(net, opts, accounts, nonces, &format!("sweep {rate:.0}"), rate).await?;
        let ok = p.sustained();
        all.push(p);
        if ok {
            good = Some(rate);
        } else {
            bad = Some(rate);
            break;
        }
    }
    for _ in 0..REFINE_STEPS {
        let (Some(lo), Some(hi)) = (good, bad) else { break };
        let rate = ((lo + hi) / 2.0).round();
        let p = paced(net, opts, accounts, nonces, &format!("sweep {rate:.0}"), rate).await?;
        if p.sustained() {
            good = Some(rate);
        } else {
            bad = Some(rate);
        }
        all.push(p);
    }
    let Some(max) = good else {
        println!("no paced rate was sustained (the lowest tried: {:.0} tx/s)", flat_tps * SWEEP[0]);
        return Ok(Run { phases: all, flat_out: Some(flat_tps), max_sustained: None });
    };
    println!("max sustained: {max:.0} tx/s");
    for (name, share) in [("10%", 0.1), ("50%", 0.5), ("80%", 0.8)] {
        all.push(paced(net, opts, accounts, nonces, name, (max * share).max(1.0)).await?);
    }
    Ok(Run { phases: all, flat_out: Some(flat_tps), max_sustained: Some(max) })
}

/// A phase at `rate` for the configured duration.
async fn paced(
    net: &Network,
    opts: &BenchOptions,
    accounts: &[genesis::KeyFile],
    nonces: &mut [u64],
    name: &str,
    rate: f64,
) -> anyhow::Result<Phase> {
    let count = (rate * opts.duration.as_secs_f64()).ceil() as usize;
    phase(net, opts, accounts, nonces, name, Some(rate), count).await
}

/// The phase run while the last validator is down.
const ONE_DOWN: &str = "one down";

/// How a validator that was down caught up.
#[derive(Debug, Clone)]
struct CatchUp {
    node: String,
    blocks: u64,
    transactions: usize,
    seconds: f64,
}

impl CatchUp {
    fn tps(&self) -> f64 {
        self.transactions as f64 / self.seconds.max(1e-3)
    }
}

/// Stops the last validator, runs a phase at `rate` on the others, restarts it and times it
/// (from the restart, start-up included) until it holds the head the others had then.
/// `None` with fewer than four validators (the others would lack a quorum).
async fn catch_up(
    net: &mut Network,
    opts: &BenchOptions,
    accounts: &[genesis::KeyFile],
    nonces: &mut [u64],
    rate: f64,
) -> anyhow::Result<Option<(Phase, CatchUp)>> {
    let n = net.nodes.len();
    if n < 4 {
        return Ok(None);
    }
    let i = n - 1;
    let (up, down) = (net.nodes[0].rpc.clone(), net.nodes[i].rpc.clone());
    let from = head(&down).await?;
    net.signal(i, nix::sys::signal::Signal::SIGTERM)?;
    net.nodes[i].child.wait().await?;
    let phase = paced(net, opts, accounts, nonces, ONE_DOWN, rate).await?;
    let target = head(&up).await?;
    let started = Instant::now();
    net.restart(i).await?;
    while head(&down).await.unwrap_or(0) < target {
        if started.elapsed() > Duration::from_secs(300) {
            bail!("{} did not catch up to height {target} within 300 s", net.nodes[i].account);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut transactions = 0;
    for h in from + 1..=target {
        let b = up.call("block", json!({ "block_id": h })).await?;
        transactions += b["transactions"].as_array().map_or(0, Vec::len);
    }
    let node = net.nodes[i].account.clone();
    Ok(Some((phase, CatchUp { node, blocks: target - from, transactions, seconds })))
}

async fn head(rpc: &rpc::client::RpcClient) -> anyhow::Result<u64> {
    Ok(rpc.status().await?["sync_info"]["latest_block_height"].as_u64().unwrap_or(0))
}

/// A phase of `count` transactions, submitted to the nodes that are running (a stopped
/// node's process has been waited for, so it has no id).
async fn phase(
    net: &Network,
    opts: &BenchOptions,
    accounts: &[genesis::KeyFile],
    nonces: &mut [u64],
    name: &str,
    rate: Option<f64>,
    count: usize,
) -> anyhow::Result<Phase> {
    let client = net.nodes[0].rpc.clone();
    let recent = client.final_block_hash().await.context("reading the final block")?;
    let from = head(&client).await?;
    let urls: Vec<String> =
        net.nodes.iter().filter(|n| n.child.id().is_some()).map(|n| n.rpc.url().to_owned()).collect();
    let txs = Arc::new(presign(accounts, nonces, urls.len(), count, recent));
    let index: HashMap<String, usize> = txs.iter().enumerate().map(|(k, t)| (t.hash.clone(), k)).collect();
    let urls = Arc::new(urls);
    let start = Instant::now();
    let submitting = tokio::spawn(submit(txs.clone(), urls, rate, opts.connections, start));
    let expected = rate.map_or(Duration::from_secs(60), |r| Duration::from_secs_f64(count as f64 / r));
    let (final_at, blocks) =
        watch_finality(&client, &index, from, start, start + expected + Duration::from_secs(30)).await;
    let submitted = submitting.await?;
    let first_error = submitted.first_error.lock().clone();

    let sent_at: Vec<u64> = submitted.at_us.iter().map(|a| a.load(Ordering::Relaxed)).collect();
    let mut latencies: Vec<f64> = sent_at
        .iter()
        .zip(&final_at)
        .filter_map(|(s, f)| match (*s, f) {
            (s, Some(f)) if s != NOT_SENT => Some(f.saturating_sub(s) as f64 / 1000.0),
            _ => None,
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let first_sent = sent_at.iter().copied().filter(|s| *s != NOT_SENT).min().unwrap_or(0);
    let last_final = final_at.iter().flatten().copied().max().unwrap_or(first_sent);
    let finalized = final_at.iter().flatten().count();
    let window_s = (last_final.saturating_sub(first_sent) as f64 / 1e6).max(1e-3);
    let bench_blocks: Vec<_> = blocks.iter().filter(|b| b.transactions > 0).collect();
    let mut intervals: Vec<f64> =
        blocks.windows(2).map(|w| w[1].timestamp_ms.saturating_sub(w[0].timestamp_ms) as f64).collect();
    let mean_interval = if intervals.is_empty() { 0.0 } else { intervals.iter().sum::<f64>() / intervals.len() as f64 };
    intervals.sort_by(f64::total_cmp);
    let p = Phase {
        name: name.to_owned(),
        target_rate: rate,
        sent: sent_at.iter().filter(|s| **s != NOT_SENT).count(),
        refused: submitted.refused.load(Ordering::Relaxed),
        failed: submitted.failed.load(Ordering::Relaxed),
        first_error,
        finalized,
        finalized_tps: finalized as f64 / window_s,
        latency_ms: [
            percentile(&latencies, 50.0),
            percentile(&latencies, 90.0),
            percentile(&latencies, 99.0),
            latencies.last().copied().unwrap_or(0.0),
        ],
        block_interval_ms: [mean_interval, percentile(&intervals, 50.0), percentile(&intervals, 99.0)],
        blocks: blocks.len(),
        mean_block_txs: if bench_blocks.is_empty() {
            0.0
        } else {
            bench_blocks.iter().map(|b| b.transactions).sum::<usize>() as f64 / bench_blocks.len() as f64
        },
    };
    p.print();
    Ok(p)
}
