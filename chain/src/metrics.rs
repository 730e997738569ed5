//! Prometheus metrics (prometheus-client), served as text at `/metrics` on their own listen
//! address (`[metrics] listen` in config.toml), apart from the RPC so a scraper needs no
//! credentials and reaches no API. Names follow CometBFT's where it has a metric for the same
//! thing (`cometbft_consensus_height`, `cometbft_mempool_size`, `cometbft_p2p_peers`, ...), so
//! its dashboards and alerts carry over; the others are `chain_*`.
//!
//! Gauges of state (height, mempool, peers, syncing, store size) are read from the node when
//! scraped; events (commits, signatures, admissions, messages) are counted where they happen.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// A label with one value from a fixed set of names (a message kind, a refusal reason, a
/// signer backend).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Kind {
    pub message_type: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Backend {
    pub backend: &'static str,
}

fn histogram(start: f64, factor: f64, buckets: u16) -> Histogram {
    Histogram::new(exponential_buckets(start, factor, buckets))
}

/// Every metric the node exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    // Consensus.
    pub height: Gauge,
    pub latest_block_height: Gauge,
    pub round: Gauge,
    pub step: Gauge,
    pub rounds: Gauge,
    pub validators: Gauge,
    pub missing_validators: Gauge,
    pub byzantine_validators: Gauge,
    pub evidence_kept: Counter,
    pub block_interval_seconds: Histogram,
    pub num_txs: Gauge,
    pub total_txs: Gauge,
    pub block_size_bytes: Gauge,
    // Mempool.
    pub mempool_size: Gauge,
    pub mempool_size_bytes: Gauge,
    pub mempool_admitted: Counter,
    pub mempool_failed_txs: Family<Reason, Counter>,
    // Network.
    pub peers: Gauge,
    pub message_receive_bytes: Family<Kind, Counter>,
    pub messages_received: Family<Kind, Counter>,
    pub message_send_bytes: Family<Kind, Counter>,
    /// The totals of the two byte families (for `network_info`).
    bytes_sent: std::sync::atomic::AtomicU64,
    bytes_received: std::sync::atomic::AtomicU64,
    pub messages_sent: Family<Kind, Counter>,
    pub refused_connections: Counter,
    // Sync.
    pub syncing: Gauge,
    pub sync_target: Gauge,
    pub synced_blocks: Counter,
    // Signer.
    pub sign_seconds: Family<Backend, Histogram>,
    pub sign_failures: Counter,
    pub guard_refusals: Counter,
    pub signer_up: Family<Backend, Gauge>,
    // Store.
    pub store_size_bytes: Gauge,
    pub commit_seconds: Histogram,
    /// The RPC's requests, latency and refusals.
    pub rpc: Arc<rpc::metrics::RpcMetrics>,
    /// Unix ms of the last commit's block, for the interval.
    last_block_ms: AtomicU64,
    /// Validators with equivocation evidence kept since this node started.
    byzantine: Mutex<BTreeSet<String>>,
    /// Blocks synced as of the last report, for the counter's increments.
    synced_reported: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut r = Registry::default();
        let m = Metrics {
            height: Gauge::default(),
            latest_block_height: Gauge::default(),
            round: Gauge::default(),
            step: Gauge::default(),
            rounds: Gauge::default(),
            validators: Gauge::default(),
            missing_validators: Gauge::default(),
            byzantine_validators: Gauge::default(),
            evidence_kept: Counter::default(),
            block_interval_seconds: histogram(0.005, 2.0, 14),
            num_txs: Gauge::default(),
            total_txs: Gauge::default(),
            block_size_bytes: Gauge::default(),
            mempool_size: Gauge::default(),
            mempool_size_bytes: Gauge::default(),
            mempool_admitted: Counter::default(),
            mempool_failed_txs: Family::default(),
            peers: Gauge::default(),
            message_receive_bytes: Family::default(),
            messages_received: Family::default(),
            message_send_bytes: Family::default(),
            bytes_sent: Default::default(),
            bytes_received: Default::default(),
            messages_sent: Family::default(),
            refused_connections: Counter::default(),
            syncing: Gauge::default(),
            sync_target: Gauge::default(),
            synced_blocks: Counter::default(),
            sign_seconds: Family::new_with_constructor(|| histogram(0.0005, 2.0, 14)),
            sign_failures: Counter::default(),
            guard_refusals: Counter::default(),
            signer_up: Family::default(),
            store_size_bytes: Gauge::default(),
            commit_seconds: histogram(0.0005, 2.0, 14),
            rpc: Arc::default(),
            last_block_ms: AtomicU64::new(0),
            byzantine: Mutex::default(),
            synced_reported: AtomicU64::new(0),
            registry: Registry::default(),
        };
        let consensus = r.sub_registry_with_prefix("cometbft_consensus");
        consensus.register("height", "Height being decided (the head's plus one)", m.height.clone());
        consensus.register("latest_block_height", "Height of the last committed block", m.latest_block_height.clone());
        consensus.register("rounds", "Round the last block was decided in", m.rounds.clone());
        consensus.register("validators", "Validators deciding the next height", m.validators.clone());
        consensus.register(
            "missing_validators",
            "Validators of the last committed height from whom no vote had arrived by its commit",
            m.missing_validators.clone(),
        );
        consensus.register(
            "block_interval_seconds",
            "Time between this and the last block",
            m.block_interval_seconds.clone(),
        );
        consensus.register("num_txs", "Transactions in the last block", m.num_txs.clone());
        consensus.register("total_txs", "Transactions committed since this node started", m.total_txs.clone());
        consensus.register("block_size_bytes", "Size of the last block", m.block_size_bytes.clone());
        let ours = r.sub_registry_with_prefix("chain_consensus");
        ours.register("round", "Round being decided", m.round.clone());
        ours.register("step", "Step of the round: 0 propose, 1 prevote, 2 precommit, 3 commit", m.step.clone());
        ours.register(
            "byzantine_validators",
            "Validators with equivocation evidence kept since this node started (CometBFT's gauge of this name counts per block)",
            m.byzantine_validators.clone(),
        );
        ours.register(
            "evidence_kept",
            "Equivocations kept as evidence since this node started",
            m.evidence_kept.clone(),
        );
        let mempool = r.sub_registry_with_prefix("cometbft_mempool");
        mempool.register("size", "Pending transactions", m.mempool_size.clone());
        mempool.register("size_bytes", "Bytes of pending transactions", m.mempool_size_bytes.clone());
        mempool.register("failed_txs", "Transactions refused at admission, by reason", m.mempool_failed_txs.clone());
        let p2p = r.sub_registry_with_prefix("cometbft_p2p");
        p2p.register("peers", "Connected peers", m.peers.clone());
        p2p.register(
            "message_receive_bytes",
            "Bytes received from peers, by message kind",
            m.message_receive_bytes.clone(),
        );
        p2p.register(
            "message_send_bytes",
            "Bytes handed to peers' writers, by message kind (a broadcast counts once per peer)",
            m.message_send_bytes.clone(),
        );
        let sync = r.sub_registry_with_prefix("cometbft_blocksync");
        sync.register("syncing", "1 while catching up through block sync", m.syncing.clone());
        let ours_sync = r.sub_registry_with_prefix("chain_blocksync");
        ours_sync.register(
            "target_height",
            "Highest height a peer proved or claimed above the head; 0 when none is ahead",
            m.sync_target.clone(),
        );
        ours_sync.register(
            "blocks",
            "Blocks committed through block sync (rate() gives blocks per second)",
            m.synced_blocks.clone(),
        );
        let chain = r.sub_registry_with_prefix("chain");
        chain.register("mempool_admitted", "Transactions admitted to the mempool", m.mempool_admitted.clone());
        chain.register("p2p_messages_received", "Messages received from peers, by kind", m.messages_received.clone());
        chain.register(
            "p2p_messages_sent",
            "Messages handed to peers' writers, by kind (a broadcast counts once per peer)",
            m.messages_sent.clone(),
        );
        chain.register(
            "p2p_refused_connections",
            "Connections refused: not a validator of the current or next set, nor a configured peer",
            m.refused_connections.clone(),
        );
        chain.register("signer_sign_seconds", "Time to sign a consensus message, by backend", m.sign_seconds.clone());
        chain.register(
            "signer_failures",
            "Signatures the backend could not make (unreachable, slow)",
            m.sign_failures.clone(),
        );
        chain.register(
            "signer_up",
            "1 while the signer's backend answers its health check (polled every 5 s), 0 while it fails",
            m.signer_up.clone(),
        );
        chain.register("signer_guard_refusals", "Signatures the double-sign guard refused", m.guard_refusals.clone());
        chain.register("store_size_bytes", "Bytes of the store's files on disk", m.store_size_bytes.clone());
        chain.register("store_commit_seconds", "Time to commit a block durably", m.commit_seconds.clone());
        m.rpc.register(&mut r);
        Metrics { registry: r, ..m }
    }

    /// The current round and step (0 propose, 1 prevote, 2 precommit, 3 commit), and the
    /// validators missing from the last committed height.
    pub fn at(&self, round: u32, step: consensus::Step, missing: usize) {
        self.missing_validators.set(missing as i64);
        self.round.set(i64::from(round));
        self.step.set(match step {
            consensus::Step::Propose => 0,
            consensus::Step::Prevote => 1,
            consensus::Step::Precommit => 2,
            consensus::Step::Commit => 3,
        });
    }

    /// Where block sync stands: the height it catches up to (if a peer is ahead) and the blocks
    /// it committed since the driver started.
    pub fn sync(&self, target: Option<u64>, synced: u64) {
        self.sync_target.set(target.map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX)));
        let before = self.synced_reported.swap(synced, Ordering::Relaxed);
        self.synced_blocks.inc_by(synced.saturating_sub(before));
    }

    /// Equivocation evidence against `validator` was kept.
    pub fn equivocated(&self, validator: &str) {
        self.evidence_kept.inc();
        let mut seen = self.byzantine.lock();
        seen.insert(validator.to_string());
        self.byzantine_validators.set(seen.len() as i64);
    }

    /// Message bytes sent and received since start, over every kind.
    pub fn network_bytes(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.bytes_sent.load(Relaxed), self.bytes_received.load(Relaxed))
    }

    /// A message of `kind`, `bytes` long, handed to the writers of `peers` peers.
    pub fn sent(&self, message_type: &'static str, bytes: usize, peers: usize) {
        let kind = Kind { message_type };
        self.bytes_sent.fetch_add((bytes * peers) as u64, std::sync::atomic::Ordering::Relaxed);
        self.message_send_bytes.get_or_create(&kind).inc_by((bytes * peers) as u64);
        self.messages_sent.get_or_create(&kind).inc_by(peers as u64);
    }

    /// A message received from a peer, by kind, with its size.
    pub fn received(&self, message_type: &'static str, bytes: usize) {
        let kind = Kind { message_type };
        self.bytes_received.fetch_add(bytes as u64, std::sync::atomic::Ordering::Relaxed);
        self.message_receive_bytes.get_or_create(&kind).inc_by(bytes as u64);
        self.messages_received.get_or_create(&kind).inc();
    }

    /// How the signer answered, after `took`: failures (the backend) and refusals (the
    /// guard) are counted apart.
    pub fn signed(&self, backend: &'static str, took: Duration, outcome: Result<(), bool>) {
        self.sign_seconds.get_or_create(&Backend { backend }).observe(took.as_secs_f64());
        match outcome {
            Ok(()) => {}
            Err(true) => {
                self.guard_refusals.inc();
            }
            Err(false) => {
                self.sign_failures.inc();
            }
        }
    }

    /// Whether the signer's backend answered its health check.
    pub fn signer_up(&self, backend: &'static str, up: bool) {
        self.signer_up.get_or_create(&Backend { backend }).set(i64::from(up));
    }

    /// A transaction refused at admission.
    pub fn refused(&self, reason: String) {
        self.mempool_failed_txs.get_or_create(&Reason { reason }).inc();
    }

    /// The exposition text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// A committed block: its size, transactions, round and interval.
    pub fn committed(&self, txs: usize, bytes: usize, round: u32, timestamp_ms: u64, took: Duration) {
        self.num_txs.set(txs as i64);
        self.total_txs.inc_by(txs as i64);
        self.block_size_bytes.set(bytes as i64);
        self.rounds.set(i64::from(round));
        self.commit_seconds.observe(took.as_secs_f64());
        let last = self.last_block_ms.swap(timestamp_ms, Ordering::Relaxed);
        if last > 0 && timestamp_ms > last {
            self.block_interval_seconds.observe((timestamp_ms - last) as f64 / 1_000.0);
        }
    }
}

/// Serves `/metrics` on `listen` until `shutdown` resolves; `render` makes the text of each
/// scrape.
pub async fn serve(
    listener: tokio::net::TcpListener,
    render: impl Fn() -> String + Send + Sync + 'static,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let render = std::sync::Arc::new(render);
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let render = render.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                    render(),
                )
            }
        }),
    );
    tracing::info!(target: "chain", addr = %listener.local_addr()?, "metrics listening");
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
