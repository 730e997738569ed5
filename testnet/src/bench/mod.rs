//! `testnet bench`: N validators on loopback, pre-signed NEAR-format transfers from many
//! accounts submitted through JSON-RPC, and the figures that matter to an operator:
//! finalized transactions per second, submit-to-final latency percentiles, block interval,
//! each node's peak memory, and the machine's signature-verification bound to compare with.
//!
//! Without `--rate` it runs a sweep: flat out first (the maximum), then 10% and 80% of that
//! maximum. Latency is measured from the moment a transaction is posted to the moment the
//! bench sees it in a final block on node 0 (polled every millisecond).

mod load;
mod observe;
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
use stats::{batch_verify_rate, peak_rss_kib, percentile};

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
}

/// What one phase measured.
#[derive(Debug, Clone)]
struct Phase {
    name: String,
    target_rate: Option<f64>,
    sent: usize,
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
            "sent": self.sent,
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
            "{:<6} ({target}): sent {} final {} submit-failed {} | {:.0} finalized tx/s | latency p50 {:.1} p90 {:.1} p99 {:.1} max {:.1} ms | block interval mean {:.1} p50 {:.1} p99 {:.1} ms over {} blocks, {:.0} tx/block",
            self.name, self.sent, self.finalized, self.failed, self.finalized_tps, self.latency_ms[0], self.latency_ms[1],
            self.latency_ms[2], self.latency_ms[3], self.block_interval_ms[0], self.block_interval_ms[1],
            self.block_interval_ms[2], self.blocks, self.mean_block_txs,
        );
        if let Some(e) = &self.first_error {
            println!("        first submit error: {e}");
        }
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
    let net = Network::up(layout, &net_opts).await?;
    let result = phases(&net, opts).await;
    let rss: Vec<Value> = net
        .nodes
        .iter()
        .map(|n| json!({ "node": n.account, "peak_rss_mib": n.child.id().and_then(peak_rss_kib).map(|k| round1(k as f64 / 1024.0)) }))
        .collect();
    net.stop(Duration::from_secs(10)).await?;
    let phases = result?;
    for r in &rss {
        println!("{} peak RSS {} MiB", r["node"].as_str().unwrap_or("?"), r["peak_rss_mib"]);
    }
    Ok(json!({
        "validators": opts.validators,
        "accounts": opts.accounts,
        "connections": opts.connections,
        "cores": cores,
        "batch_verify_per_core": per_core.round(),
        "signature_bound_tps": bound.round(),
        "target_tps": (bound * 0.6).round(),
        "phases": phases.iter().map(Phase::to_json).collect::<Vec<_>>(),
        "nodes": rss,
    }))
}

async fn phases(net: &Network, opts: &BenchOptions) -> anyhow::Result<Vec<Phase>> {
    let accounts: Vec<_> = Workload::load_accounts(&net.layout)?
        .into_iter()
        .filter(|k| k.account_id.as_str().starts_with("load"))
        .collect();
    let mut nonces = vec![0u64; accounts.len()];
    let secs = opts.duration.as_secs_f64();
    if let Some(rate) = opts.rate {
        let count = (rate * secs).ceil() as usize;
        return Ok(vec![phase(net, opts, &accounts, &mut nonces, "rate", Some(rate), count).await?]);
    }
    let max = phase(net, opts, &accounts, &mut nonces, "max", None, opts.flat_txs).await?;
    let top = max.finalized_tps.max(1.0);
    let mut all = vec![max];
    for (name, share) in [("10%", 0.1), ("80%", 0.8)] {
        let count = (top * share * secs).ceil() as usize;
        all.push(phase(net, opts, &accounts, &mut nonces, name, Some(top * share), count).await?);
    }
    Ok(all)
}

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
    let from = client.status().await?["sync_info"]["latest_block_height"].as_u64().unwrap_or(0);
    let txs = Arc::new(presign(accounts, nonces, net.nodes.len(), count, recent));
    let index: HashMap<String, usize> = txs.iter().enumerate().map(|(k, t)| (t.hash.clone(), k)).collect();
    let urls = Arc::new(net.nodes.iter().map(|n| n.rpc.url().to_owned()).collect::<Vec<_>>());
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
