//! The demo workload: each funded account sends signed NEAR-format transfers to the next,
//! through JSON-RPC `send_tx` with `wait_until: FINAL`, at a target total rate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chain_types::{Action, CryptoHash, Transaction, TransferAction};
use genesis::KeyFile;
use rpc::client::{ClientError, RpcClient};
use tokio::sync::watch;

use crate::Layout;

/// Counters shared with the live view.
#[derive(Debug, Default)]
pub struct WorkloadStats {
    pub sent: AtomicU64,
    pub final_ok: AtomicU64,
    pub failed: AtomicU64,
    /// Sum of submit-to-final latencies in microseconds (for the mean).
    pub latency_us: AtomicU64,
    /// Every transaction a node acknowledged FINAL with success (what `testnet chaos` checks
    /// on every node afterwards).
    pub acknowledged: parking_lot::Mutex<Vec<CryptoHash>>,
}

impl WorkloadStats {
    pub fn mean_latency_ms(&self) -> f64 {
        let n = self.final_ok.load(Ordering::Relaxed);
        if n == 0 {
            return 0.0;
        }
        self.latency_us.load(Ordering::Relaxed) as f64 / n as f64 / 1000.0
    }
}

#[derive(Debug)]
pub struct Workload {
    pub accounts: Vec<KeyFile>,
    pub clients: Vec<RpcClient>,
    /// Target transfers per second across all accounts.
    pub tps: f64,
    pub amount: u128,
}

impl Workload {
    /// Every account credentials file of the testnet's genesis.
    pub fn load_accounts(layout: &Layout) -> anyhow::Result<Vec<KeyFile>> {
        let mut accounts = Vec::new();
        for entry in std::fs::read_dir(layout.accounts_dir())? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                accounts.push(KeyFile::load(&path)?);
            }
        }
        accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        anyhow::ensure!(accounts.len() >= 2, "the workload needs at least two funded accounts");
        Ok(accounts)
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, stats: Arc<WorkloadStats>, stop: watch::Receiver<bool>) {
        let n = self.accounts.len();
        let per_account = Duration::from_secs_f64(n as f64 / self.tps.max(0.001));
        let mut tasks = Vec::new();
        for i in 0..n {
            let from = self.accounts[i].clone();
            let to = self.accounts[(i + 1) % n].account_id.clone();
            let client = self.clients[i % self.clients.len()].clone();
            let (stats, mut stop, amount) = (stats.clone(), stop.clone(), self.amount);
            tasks.push(tokio::spawn(async move {
                let mut sender = Sender { from, client, nonce: None, block_hash: None };
                let mut tick = tokio::time::interval(per_account);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = stop.wait_for(|s| *s) => break,
                    }
                    sender.send_one(&to, amount, &stats).await;
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

struct Sender {
    from: KeyFile,
    client: RpcClient,
    nonce: Option<u64>,
    block_hash: Option<CryptoHash>,
}

impl Sender {
    async fn send_one(&mut self, to: &chain_types::AccountId, amount: u128, stats: &WorkloadStats) {
        let (nonce, block_hash) = match self.prepare().await {
            Ok(v) => v,
            Err(e) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                eprintln!("workload: {}: cannot prepare a transfer: {e}", self.from.account_id);
                return;
            }
        };
        let tx = Transaction {
            signer_id: self.from.account_id.clone(),
            public_key: self.from.public_key,
            nonce,
            receiver_id: to.clone(),
            block_hash,
            actions: vec![Action::Transfer(TransferAction { deposit: amount })],
        }
        .sign(&self.from.secret_key);
        stats.sent.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        match self.client.send_tx(&tx, "FINAL").await {
            Ok(r) if r["status"].get("SuccessValue").is_some() => {
                self.nonce = Some(nonce);
                stats.final_ok.fetch_add(1, Ordering::Relaxed);
                stats.latency_us.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                stats.acknowledged.lock().push(tx.hash());
            }
            Ok(r) => {
                self.nonce = Some(nonce);
                stats.failed.fetch_add(1, Ordering::Relaxed);
                eprintln!("workload: transfer failed: {}", r["status"]);
            }
            Err(e) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                // Re-read nonce and block hash before the next attempt.
                self.nonce = None;
                self.block_hash = None;
                if !matches!(e, ClientError::Rpc { .. }) || e.cause() != Some("INVALID_TRANSACTION") {
                    eprintln!("workload: {}: {e}", self.from.account_id);
                }
            }
        }
    }

    async fn prepare(&mut self) -> Result<(u64, CryptoHash), ClientError> {
        let nonce = match self.nonce {
            Some(n) => n,
            None => self.client.nonce(&self.from.account_id, &self.from.public_key).await?,
        };
        let hash = match self.block_hash {
            Some(h) => h,
            None => {
                let h = self.client.final_block_hash().await?;
                self.block_hash = Some(h);
                h
            }
        };
        Ok((nonce + 1, hash))
    }
}
