//! `testnet`: run a local network of validators on loopback with a demo workload.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use testnet::signing::KmsMode;
use testnet::{bench, launch, Layout, Network, NetworkOptions, Workload, WorkloadStats};
use tokio::sync::watch;

#[derive(Parser)]
#[command(name = "testnet", version, about = "Local testnet on loopback")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create (or reuse) a testnet in DIR, start its nodes, run the demo workload and show
    /// live height and throughput until Ctrl-C (or --duration).
    Up {
        #[arg(long, default_value_t = 4)]
        validators: usize,
        #[arg(long, default_value = "testnet-data")]
        dir: PathBuf,
        #[arg(long, default_value_t = 3030)]
        rpc_base_port: u16,
        #[arg(long, default_value_t = 24560)]
        p2p_base_port: u16,
        /// Validator i serves Prometheus metrics at `http://127.0.0.1:<this + i>/metrics`.
        #[arg(long, default_value_t = 26660)]
        metrics_base_port: u16,
        /// Demo transfers per second (0 disables the workload).
        #[arg(long, default_value_t = 20.0)]
        tps: f64,
        /// Stop by itself after this many seconds.
        #[arg(long)]
        duration: Option<u64>,
        /// Blocks per epoch (validator-set changes apply at epoch ends); default: the
        /// development preset's.
        #[arg(long)]
        epoch_length: Option<u64>,
        #[command(flatten)]
        kms: KmsArgs,
    },
    /// Benchmark: pre-signed transfers from many accounts through JSON-RPC; prints finalized
    /// tx/s, submit-to-final latency percentiles, refusals, block interval, peak memory and
    /// CPU time per node, and writes them as JSON and a PNG plot. Without --rate: flat out, a
    /// rate sweep for the maximum sustained rate, then 10%, 50% and 80% of it. Run it from a
    /// release build (`scripts/bench.sh` builds one).
    Bench {
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Funded sender accounts.
        #[arg(long, default_value_t = 2000)]
        accounts: usize,
        /// Testnet directory (must be new); a temporary one, removed afterwards, by default.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Run one phase at this many transactions per second instead of the sweep.
        #[arg(long)]
        rate: Option<f64>,
        /// Seconds per paced phase.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Transactions in the flat-out phase.
        #[arg(long, default_value_t = 40_000)]
        flat_txs: usize,
        /// Concurrent HTTP connections submitting.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Where to write the JSON result.
        #[arg(long, default_value = "bench-result.json")]
        out: PathBuf,
        /// Where to draw latency against offered rate (PNG); next to --out by default.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Run from a debug build anyway (its figures say nothing about the chain's speed).
        #[arg(long)]
        allow_debug_build: bool,
        #[arg(long, default_value_t = 3030)]
        rpc_base_port: u16,
        #[arg(long, default_value_t = 24560)]
        p2p_base_port: u16,
        #[command(flatten)]
        kms: KmsArgs,
    },
    /// A testnet under a steady signed load while validators are killed, stopped and
    /// restarted at seeded random moments (at most f at a time); then checks one block per
    /// height on every node, every acknowledged transaction on every node, no double
    /// signing, and blocks resuming after each fault. Prints a timeline, writes
    /// chaos-report.json in the testnet directory, and exits 1 on any violation.
    Chaos {
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Seconds to run (the last fifth without new faults).
        #[arg(long, default_value_t = 120)]
        duration: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Transfers per second, all accounts together.
        #[arg(long, default_value_t = 20.0)]
        load: f64,
        /// Testnet directory (must be new; it keeps the report and the nodes' logs).
        #[arg(long, default_value = "chaos-data")]
        dir: PathBuf,
        #[arg(long, default_value_t = 3030)]
        rpc_base_port: u16,
        #[arg(long, default_value_t = 24560)]
        p2p_base_port: u16,
        /// Check the checker: count a transaction no node has as acknowledged, so the run
        /// must end with a violation.
        #[arg(long)]
        self_check: bool,
    },
    /// Stop the nodes of a testnet whose `up` was interrupted.
    Down {
        #[arg(long, default_value = "testnet-data")]
        dir: PathBuf,
    },
}

/// Where the validators' keys live.
#[derive(clap::Args)]
struct KmsArgs {
    /// local: key files; vault: each node signs through an OpenBao dev server (started
    /// here, one Transit key per validator); remote: through a `kms` daemon per validator
    /// (mutual TLS on loopback, one CA per validator).
    #[arg(long, value_enum, default_value_t = KmsMode::Local)]
    kms: KmsMode,
    /// OpenBao's port on 127.0.0.1.
    #[arg(long, default_value_t = 8200)]
    vault_port: u16,
    /// Validator i's kms daemon listens on this + i.
    #[arg(long, default_value_t = 26650)]
    kms_base_port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Up {
            validators,
            dir,
            rpc_base_port,
            p2p_base_port,
            metrics_base_port,
            tps,
            duration,
            epoch_length,
            kms,
        } => {
            let opts = NetworkOptions {
                epoch_length,
                metrics_base_port: Some(metrics_base_port),
                kms: kms.kms,
                vault_port: kms.vault_port,
                kms_base_port: kms.kms_base_port,
                ..NetworkOptions::new(validators, rpc_base_port, p2p_base_port, "testnet")
            };
            up(Layout::new(dir), opts, tps, duration.map(Duration::from_secs)).await
        }
        Command::Bench {
            validators,
            accounts,
            dir,
            rate,
            duration,
            flat_txs,
            connections,
            out,
            plot,
            allow_debug_build,
            rpc_base_port,
            p2p_base_port,
            kms,
        } => {
            if cfg!(debug_assertions) && !allow_debug_build {
                anyhow::bail!(
                    "this testnet binary is a debug build, whose figures say nothing about the chain's speed: run scripts/bench.sh (a release build), or pass --allow-debug-build"
                );
            }
            let plot = plot.unwrap_or_else(|| out.with_extension("png"));
            let temp = tempfile::Builder::new().prefix("chain-bench-").tempdir()?;
            let dir = dir.unwrap_or_else(|| temp.path().join("testnet"));
            let opts = bench::BenchOptions {
                validators,
                accounts,
                dir,
                rpc_base_port,
                p2p_base_port,
                rate,
                duration: Duration::from_secs(duration),
                flat_txs,
                connections,
                kms: kms.kms,
                vault_port: kms.vault_port,
                kms_base_port: kms.kms_base_port,
                plot,
            };
            let result = bench::run(&opts).await?;
            std::fs::write(&out, serde_json::to_string_pretty(&result)? + "\n")?;
            println!("result written to {}", out.display());
            Ok(())
        }
        Command::Chaos { validators, duration, seed, load, dir, rpc_base_port, p2p_base_port, self_check } => {
            anyhow::ensure!(
                !dir.join("genesis").exists(),
                "{} already holds a testnet; chaos needs a new --dir",
                dir.display()
            );
            let opts = testnet::chaos::ChaosOptions {
                network: NetworkOptions::new(validators, rpc_base_port, p2p_base_port, "chaos"),
                duration: Duration::from_secs(duration),
                seed,
                load,
                self_check,
            };
            let report = testnet::chaos::run(Layout::new(&dir), &opts).await?;
            if report["violations"].as_array().is_some_and(|v| !v.is_empty()) {
                for v in report["violations"].as_array().into_iter().flatten() {
                    eprintln!("violation: {}", v.as_str().unwrap_or_default());
                }
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Down { dir } => {
            let n = launch::down(&Layout::new(&dir), Duration::from_secs(10)).await?;
            println!("stopped {n} node(s) of {}", dir.display());
            Ok(())
        }
    }
}

async fn up(layout: Layout, opts: NetworkOptions, tps: f64, duration: Option<Duration>) -> anyhow::Result<()> {
    let dir = layout.root.clone();
    let net = Network::up(layout, &opts).await?;
    println!(
        "testnet {} up: {} validator(s), chain {}, RPC {}",
        dir.display(),
        net.nodes.len(),
        net.genesis.chain_id,
        net.nodes.iter().map(|n| n.rpc.url().to_owned()).collect::<Vec<_>>().join(" ")
    );
    let result = drive(&net, tps, duration).await;
    println!("stopping nodes");
    net.stop(Duration::from_secs(10)).await?;
    result
}

/// Runs the workload and the live view until Ctrl-C or the duration ends.
async fn drive(net: &Network, tps: f64, duration: Option<Duration>) -> anyhow::Result<()> {
    let stats = Arc::new(WorkloadStats::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let workload = if tps > 0.0 {
        let w = Workload {
            accounts: Workload::load_accounts(&net.layout)?,
            clients: net.nodes.iter().map(|n| n.rpc.clone()).collect(),
            tps,
            amount: 1_000,
        };
        println!("demo workload: {} accounts sending signed transfers at {tps}/s", w.accounts.len());
        Some(tokio::spawn(w.run(stats.clone(), stop_rx)))
    } else {
        None
    };
    let client = net.nodes[0].rpc.clone();
    let started = Instant::now();
    let deadline = duration.map(|d| tokio::time::Instant::now() + d);
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let (mut last_height, mut last_txs, mut last_at) = (None::<u64>, 0u64, Instant::now());
    let mut total_txs = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => { println!(); break; }
            _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => break,
        }
        let height = match client.status().await {
            Ok(s) => s["sync_info"]["latest_block_height"].as_u64().unwrap_or(0),
            Err(e) => {
                eprintln!("status: {e}");
                continue;
            }
        };
        for h in last_height.map_or(height, |l| l + 1)..=height {
            if let Ok(b) = client.call("block", serde_json::json!({ "block_id": h })).await {
                total_txs += b["transactions"].as_array().map_or(0, |t| t.len() as u64);
            }
        }
        let secs = last_at.elapsed().as_secs_f64().max(0.001);
        println!(
            "[{:>5.0}s] height {height:>6} | finalized tx/s {:>7.1} | demo sent {} final {} failed {} | mean latency {:.1} ms",
            started.elapsed().as_secs_f64(),
            (total_txs - last_txs) as f64 / secs,
            stats.sent.load(Ordering::Relaxed),
            stats.final_ok.load(Ordering::Relaxed),
            stats.failed.load(Ordering::Relaxed),
            stats.mean_latency_ms(),
        );
        (last_height, last_txs, last_at) = (Some(height), total_txs, Instant::now());
    }
    let _ = stop_tx.send(true);
    if let Some(w) = workload {
        let _ = w.await;
    }
    println!(
        "demo totals: sent {}, final {}, failed {}, {} transactions in blocks",
        stats.sent.load(Ordering::Relaxed),
        stats.final_ok.load(Ordering::Relaxed),
        stats.failed.load(Ordering::Relaxed),
        total_txs
    );
    Ok(())
}
