//! `kms bench`: sequential sign latency of a signer configuration.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use kms::sign_bytes::consensus_bytes;
use kms::{SignRequest, SignerConfig, Step};

use crate::daemon::base_dir;

/// Signs `count` prevotes at increasing heights and prints latency percentiles. Guarded
/// backends use a throw-away state file, so a real watermark is never touched.
pub async fn run(config_path: &Path, count: usize, start_height: u64) -> anyhow::Result<()> {
    let config = bench_config(config_path)?;
    let scratch = tempfile::Builder::new().prefix("kms-bench-").tempdir()?;
    let scratch = scratch.path();
    let signer_config = match config.signer {
        SignerConfig::Local { key_file, max_height, .. } => {
            SignerConfig::Local { key_file, state_file: scratch.join("state.json"), max_height }
        }
        SignerConfig::Vault { vault, max_height, .. } => {
            SignerConfig::Vault { vault, state_file: scratch.join("state.json"), max_height }
        }
        remote @ SignerConfig::Remote { .. } => remote,
    };
    let signer = signer_config.open(&base_dir(config_path), &config.chain_id).await?;
    let mut latencies = Vec::with_capacity(count);
    let started = Instant::now();
    for i in 0..count as u64 {
        let height = start_height + i;
        let bytes = consensus_bytes(&config.chain_id, height, 0, Step::Prevote, [7; 32]);
        let request = SignRequest { height, round: 0, step: Step::Prevote, bytes };
        let t = Instant::now();
        signer.sign(&request).await.with_context(|| format!("signing at height {height}"))?;
        latencies.push(t.elapsed());
    }
    let total = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    println!(
        "signer={} count={count} p50={:.3}ms p90={:.3}ms p99={:.3}ms max={:.3}ms rate={:.0}/s",
        signer_config.kind(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0),
        count as f64 / total.as_secs_f64()
    );
    Ok(())
}

/// What the bench reads from its config: a daemon's `kms.toml` (its `listen` is ignored)
/// or a node-style file with `chain_id` and a `[signer]` of any kind, `remote` included.
#[derive(Debug, serde::Deserialize)]
struct BenchConfig {
    chain_id: String,
    signer: SignerConfig,
}

fn bench_config(path: &Path) -> anyhow::Result<BenchConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{}: needs chain_id and [signer]", path.display()))
}
