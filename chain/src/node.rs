//! The node: store, runtime, mempool and validator set behind the RPC's [`NodeApi`].

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chain_types::{
    AccessKey, Account, AccountId, Block, BlockHeader, BlockHeight, CommitCertificate, CryptoHash, ExecutionOutcome,
    InvalidTxError, PublicKey, Signature, SignedTransaction,
};
use consensus::{Validator, ValidatorSet};
use contracts::ModuleRegistry;
use genesis::Genesis;
use rpc::{
    BlockRef, CertifiedBlock, EvidenceView, Health, NetworkInfo, NodeApi, NodeError, NodeStatus, ProtocolConfig,
    StateChangeView, StateProof, StateRead, SubmitError, ValidatorView, ValidatorsView, ViewCallError,
};
use tokio::sync::watch;

use crate::admission::Submissions;
use crate::mempool::{InsertError, Mempool, Spend};
use crate::metrics::Metrics;
use crate::network::{NetMessage, NetworkHandle};
use crate::runtime::{
    check_stateful, check_stateless, genesis_changes, ApplyError, BlockContext, Overlay, Runtime, ViewError,
};
use crate::store::{StateKey, Store, StoreError, StoredBlock};
use crate::validators::Validators;
use crate::verification::verify_signatures;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the store was initialised from genesis {found}, but the genesis file given hashes to {expected}")]
    GenesisMismatch { expected: CryptoHash, found: CryptoHash },
    #[error("store at {0} is not initialised: run `chain init` first")]
    NotInitialised(String),
    #[error("genesis state: {0}")]
    Genesis(String),
    #[error("state root of the store ({found}) differs from the head block's ({expected}) at height {height}")]
    StateRootMismatch { height: BlockHeight, expected: CryptoHash, found: CryptoHash },
}

/// Where a transaction came from: the RPC (signature not yet checked, or checked in a
/// gathered batch; gossiped on) or a peer's gossip (signature checked by the caller; not
/// gossiped again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Rpc,
    RpcVerified,
    Peer,
}

/// A running node's shared state.
#[derive(Debug)]
pub struct Node {
    pub(crate) store: Store,
    pub(crate) genesis: Arc<Genesis>,
    pub(crate) genesis_hash: CryptoHash,
    pub(crate) runtime: Runtime,
    pub(crate) mempool: Mempool,
    pub(crate) validators: Validators,
    /// This node's consensus key, when it signs.
    validator_key: Option<PublicKey>,
    pub(crate) head: watch::Sender<BlockHeight>,
    /// Transactions admitted through the RPC, waiting to be gossiped (once the network is up).
    gossip: Arc<GossipQueue>,
    /// True while block sync is catching up with a peer.
    syncing: watch::Sender<bool>,
    /// RPC submissions waiting for their signatures to be checked together.
    pub(crate) submissions: Arc<Submissions>,
    /// The p2p network, once started (its peer count, for readiness).
    network: std::sync::OnceLock<NetworkHandle>,
    /// Why the signer's last request failed, while it fails.
    signer_failure: parking_lot::Mutex<Option<String>>,
    /// The signer's backend (`local`, `vault`, `remote`), for the metrics.
    signer_backend: std::sync::OnceLock<&'static str>,
    pub(crate) metrics: Arc<Metrics>,
    /// The head block's timestamp (Unix ms), for health checks without reading the store.
    pub(crate) head_time_ms: std::sync::atomic::AtomicU64,
    /// When the node was opened (`status`'s uptime).
    pub(crate) started: std::time::Instant,
    /// This node, for the tasks it starts.
    me: Weak<Node>,
}

/// Most transactions in one gossip message.
pub const GOSSIP_BATCH: usize = 2_000;

/// Transactions admitted locally, sent to peers in batches by the gossip task.
#[derive(Debug, Default)]
struct GossipQueue {
    pending: parking_lot::Mutex<Vec<SignedTransaction>>,
    arrived: tokio::sync::Notify,
}

impl GossipQueue {
    fn push(&self, tx: SignedTransaction) {
        self.pending.lock().push(tx);
        self.arrived.notify_one();
    }

    /// Sends batches to every connected peer until the network stops. No timer: what
    /// arrives while a batch is being sent forms the next batch, so batches grow with load
    /// and a lone transaction goes out at once.
    /// A batch holds at most [`GOSSIP_BATCH`] transactions and `max_bytes` bytes (so it
    /// fits the peers' frame limit).
    async fn run(self: Arc<Self>, network: NetworkHandle, max_bytes: usize) {
        loop {
            self.arrived.notified().await;
            tokio::task::yield_now().await;
            let pending = std::mem::take(&mut *self.pending.lock());
            let (mut batch, mut bytes) = (Vec::new(), 0usize);
            for tx in pending {
                let size = borsh::object_length(&tx).unwrap_or(usize::MAX);
                if !batch.is_empty() && (batch.len() >= GOSSIP_BATCH || bytes.saturating_add(size) > max_bytes) {
                    if !network.broadcast(NetMessage::Transactions(std::mem::take(&mut batch))) {
                        return;
                    }
                    bytes = 0;
                }
                bytes = bytes.saturating_add(size);
                batch.push(tx);
            }
            if !batch.is_empty() && !network.broadcast(NetMessage::Transactions(batch)) {
                return;
            }
        }
    }
}

/// The RPC error for a transaction the mempool refused. The per-account limit has no error
/// of its own in the RPC: it answers as a full mempool whose capacity is the account's
/// share; pending spend beyond the balance is NEAR's `NotEnoughBalance` with the pending
/// deposits counted in `cost`.
fn refusal(e: InsertError) -> SubmitError {
    match e {
        InsertError::Full { capacity } => SubmitError::MempoolFull { capacity },
        InsertError::FullBytes { held, .. } => SubmitError::MempoolFull { capacity: held },
        InsertError::AccountFull { limit, .. } => SubmitError::MempoolFull { capacity: limit },
        InsertError::NotEnoughBalance { signer_id, balance, pending, cost } => {
            InvalidTxError::NotEnoughBalance { signer_id, balance, cost: pending.saturating_add(cost) }.into()
        }
    }
}

/// A refusal's name for the metrics: NEAR's error variant (`InvalidNonce`, ...), or
/// `MempoolFull`, or `Internal`.
fn refusal_reason(e: &SubmitError) -> String {
    match e {
        SubmitError::MempoolFull { .. } => "MempoolFull".to_owned(),
        SubmitError::Invalid(e) => match serde_json::to_value(e) {
            Ok(serde_json::Value::String(name)) => name,
            Ok(serde_json::Value::Object(map)) => map.keys().next().cloned().unwrap_or_else(|| "Invalid".to_owned()),
            _ => "Invalid".to_owned(),
        },
        SubmitError::Node(_) => "Internal".to_owned(),
    }
}

/// The genesis block: height 0, committing to the genesis state; trusted by definition, so
/// its certificate carries no signatures.
pub fn genesis_block(g: &Genesis, prev_state_root: CryptoHash, next_bp_hash: CryptoHash) -> Block {
    Block {
        header: BlockHeader {
            height: 0,
            prev_hash: CryptoHash::default(),
            timestamp_ms: g.genesis_time_ms,
            proposer: g.workspace.master_account.clone(),
            tx_root: Block::compute_tx_root(&[]),
            outcome_root: CryptoHash::default(),
            next_bp_hash,
            prev_state_root,
        },
        transactions: Vec::new(),
    }
}

/// Writes the genesis state and block into an empty store. Returns the genesis block hash.
pub fn init_store(store: &Store, g: &Genesis) -> Result<CryptoHash, StartError> {
    if let Some(existing) = store.genesis_hash()? {
        check_genesis_file(store, g)?;
        return Ok(existing);
    }
    let changes = genesis_changes(g).map_err(|e| StartError::Genesis(e.to_string()))?;
    let tree = store.prepare_tree(&changes)?;
    let next_bp_hash = crate::validators::next_bp_hash_in(&changes, &g.treasury.account_id)?
        .ok_or_else(|| StartError::Genesis("the genesis state holds no validator schedule".into()))?;
    let block = genesis_block(g, tree.root, next_bp_hash);
    let hash = block.hash();
    let certificate = CommitCertificate { height: 0, round: 0, block_hash: hash, signatures: Vec::new() };
    let stored = StoredBlock { block, certificate, jmt_version: tree.state_version.unwrap_or(0) };
    store.commit_genesis(&stored, &changes, tree, g.hash())?;
    Ok(hash)
}

/// Refuses a store initialised from a different genesis file (compared by canonical hash).
fn check_genesis_file(store: &Store, g: &Genesis) -> Result<(), StartError> {
    let expected = g.hash();
    match store.genesis_file_hash()? {
        Some(found) if found == expected => Ok(()),
        Some(found) => Err(StartError::GenesisMismatch { expected, found }),
        None => Err(StartError::NotInitialised("the store has no genesis record".into())),
    }
}

/// Reads the Merkle root the head block starts from (its parent's tree version; genesis: its
/// own) and compares it with the root the head's header carries, so a damaged store is refused
/// instead of served.
fn check_head_root(store: &Store) -> Result<(), StartError> {
    let Some(head) = store.head_block()? else { return Ok(()) };
    let height = head.block.header.height;
    let base = match height.checked_sub(1) {
        Some(parent) => {
            store
                .block(parent)?
                .ok_or_else(|| StoreError::Corrupt {
                    column: "blocks",
                    detail: format!("block {parent}, the head's parent, is missing"),
                })?
                .jmt_version
        }
        None => head.jmt_version,
    };
    let found = store.root_at(base)?;
    let expected = head.block.header.prev_state_root;
    if found != expected {
        return Err(StartError::StateRootMismatch { height, expected, found });
    }
    Ok(())
}

impl Node {
    /// Opens an initialised store and checks it belongs to `genesis`.
    pub fn open(
        data_dir: &Path,
        genesis: Genesis,
        modules: ModuleRegistry,
        validator_key: Option<PublicKey>,
    ) -> Result<Arc<Node>, StartError> {
        let store = Store::open(data_dir)?;
        let genesis_hash =
            store.genesis_hash()?.ok_or_else(|| StartError::NotInitialised(data_dir.display().to_string()))?;
        check_genesis_file(&store, &genesis)?;
        let head = store.head()?.unwrap_or(0);
        check_head_root(&store)?;
        let validators = Validators::load(&store, genesis.treasury.account_id.clone())?;
        let runtime = Runtime::new(&genesis, modules);
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let l = &genesis.limits;
        let mempool =
            Mempool::new(size(l.mempool_capacity), size(l.mempool_per_account)).with_max_bytes(size(l.mempool_bytes));
        let head_time_ms = store.head_block()?.map_or(0, |b| b.block.header.timestamp_ms);
        let (head_tx, _) = watch::channel(head);
        Ok(Arc::new_cyclic(|me| Node {
            store,
            genesis: Arc::new(genesis),
            genesis_hash,
            runtime,
            mempool,
            validators,
            validator_key,
            head: head_tx,
            gossip: Arc::new(GossipQueue::default()),
            syncing: watch::Sender::new(false),
            submissions: Arc::default(),
            network: std::sync::OnceLock::new(),
            signer_failure: parking_lot::Mutex::new(None),
            signer_backend: std::sync::OnceLock::new(),
            metrics: Arc::default(),
            head_time_ms: std::sync::atomic::AtomicU64::new(head_time_ms),
            started: std::time::Instant::now(),
            me: me.clone(),
        }))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The validator set of the next height.
    pub fn validators(&self) -> Arc<ValidatorSet> {
        self.validators.next()
    }

    /// The validator set that decides (and certifies) block `height`.
    pub fn validators_at(&self, height: BlockHeight) -> Result<Arc<ValidatorSet>, StoreError> {
        self.validators.at(&self.store, height)
    }

    /// The staking schedule as of the head, as it changes.
    pub fn subscribe_validators(&self) -> watch::Receiver<Arc<contracts::staking::ValidatorSchedule>> {
        self.validators.subscribe()
    }

    /// The consensus key this node signs with, if it validates.
    pub fn validator_key(&self) -> Option<PublicKey> {
        self.validator_key
    }

    /// This node's entry in the next height's set, if it is a validator there.
    fn me(&self) -> Option<Validator> {
        let set = self.validators.next();
        let key = self.validator_key?;
        set.index_of(&key).map(|i| set.validators()[i].clone())
    }

    /// The metrics, for what is counted where it happens.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The metrics, to share with the tasks that count in them (the network's sends).
    pub fn shared_metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// The metrics' text for a scrape: the state gauges read now, then everything.
    pub fn metrics_text(&self) -> String {
        let m = &self.metrics;
        let head = i64::try_from(*self.head.borrow()).unwrap_or(i64::MAX - 1);
        m.height.set(head + 1);
        m.latest_block_height.set(head);
        m.validators.set(self.validators.next().len() as i64);
        m.mempool_size.set(self.mempool.len() as i64);
        m.mempool_size_bytes.set(self.mempool.bytes() as i64);
        m.peers.set(self.network.get().map_or(0, NetworkHandle::connected_peers) as i64);
        if let Some(n) = self.network.get() {
            m.refused_connections.inc_by(n.take_refused());
        }
        m.syncing.set(i64::from(self.is_syncing()));
        m.store_size_bytes.set(i64::try_from(self.store.size_bytes()).unwrap_or(i64::MAX));
        m.encode()
    }

    /// Names the signer's backend in the metrics.
    pub fn set_signer_backend(&self, backend: &'static str) {
        let _ = self.signer_backend.set(backend);
    }

    pub(crate) fn signer_backend(&self) -> &'static str {
        self.signer_backend.get().copied().unwrap_or("unknown")
    }

    /// Records how the signer's last request went (readiness reports a failing signer).
    pub(crate) fn signer_answered(&self, result: Result<(), String>) {
        *self.signer_failure.lock() = result.err();
    }

    /// Whether block sync is catching up with a peer right now.
    pub fn is_syncing(&self) -> bool {
        *self.syncing.borrow()
    }

    /// Whether block sync is catching up now; watchers (the gRPC health service) hear of
    /// each change at once.
    pub(crate) fn set_syncing(&self, syncing: bool) {
        self.syncing.send_if_modified(|now| std::mem::replace(now, syncing) != syncing);
    }

    /// The p2p network, once started.
    pub(crate) fn network(&self) -> Option<&NetworkHandle> {
        self.network.get()
    }

    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }

    /// Gossip transactions this node admits through its RPC to its peers from now on (in
    /// batches, from a task on the current runtime).
    pub fn start_gossip(&self, network: NetworkHandle) {
        let _ = self.network.set(network.clone());
        let frame = crate::network::FrameLimits::for_blocks(self.genesis.limits.max_block_bytes).messages;
        tokio::spawn(self.gossip.clone().run(network, frame / 2));
    }

    /// Admits transactions a peer gossiped: validated here again against our head, the
    /// signatures of those new to us verified in batches on every core (one by one only in a
    /// batch that fails, to find the bad ones). Not gossiped further. Returns how many were added.
    pub fn accept_from_peer(&self, txs: Vec<SignedTransaction>) -> usize {
        let (fresh, hashes): (Vec<_>, Vec<_>) = txs
            .into_iter()
            .map(|t| {
                let hash = t.hash();
                (t, hash)
            })
            .filter(|(_, h)| !self.mempool.contains(h))
            .unzip();
        let refs: Vec<&SignedTransaction> = fresh.iter().collect();
        let valid = verify_signatures(&refs, &hashes);
        let mut added = 0;
        for ((tx, hash), verified) in fresh.into_iter().zip(hashes).zip(valid) {
            if verified && self.admit(tx, hash, Origin::Peer).is_ok() {
                added += 1;
            }
        }
        added
    }

    /// Admits an RPC submission whose signature was checked (in a gathered batch).
    pub(crate) fn admit_verified(&self, tx: SignedTransaction, hash: CryptoHash) -> Result<CryptoHash, SubmitError> {
        self.admit(tx, hash, Origin::RpcVerified)
    }

    /// Admits a transaction (counting refusals by reason for the metrics).
    fn admit(&self, tx: SignedTransaction, hash: CryptoHash, origin: Origin) -> Result<CryptoHash, SubmitError> {
        let admitted = self.try_admit(tx, hash, origin);
        if let Err(e) = &admitted {
            self.metrics.refused(refusal_reason(e));
        }
        admitted
    }

    fn try_admit(&self, tx: SignedTransaction, hash: CryptoHash, origin: Origin) -> Result<CryptoHash, SubmitError> {
        if self.mempool.contains(&hash) {
            return Ok(hash);
        }
        if origin != Origin::RpcVerified {
            // (A gathered submission passed these checks before it was queued.)
            check_stateless(&tx, self.runtime.max_tx_bytes, origin == Origin::Rpc)?;
        }
        let head = self.store.head().map_err(Self::internal)?.unwrap_or(0);
        let ctx = BlockContext {
            chain_id: &self.genesis.chain_id,
            height: head + 1,
            timestamp_ms: 0,
            validity_blocks: self.genesis.transaction_validity_blocks,
            store: &self.store,
        };
        let spend = match check_stateful(&Overlay::new(&self.store), &ctx, &tx) {
            Ok(v) => Spend { cost: v.cost, balance: v.signer.amount },
            Err(ApplyError::Invalid(e)) => return Err(e.into()),
            Err(ApplyError::Store(e)) => return Err(Self::internal(e).into()),
        };
        let gossiped = (origin != Origin::Peer).then(|| tx.clone());
        match self.mempool.insert_hashed(tx, hash, spend) {
            Ok(true) => {
                self.metrics.mempool_admitted.inc();
                if let Some(tx) = gossiped {
                    self.gossip.push(tx);
                }
                Ok(hash)
            }
            Ok(false) => Ok(hash),
            Err(e) => {
                tracing::debug!(target: "chain::mempool", %hash, error = %e, "transaction refused");
                Err(refusal(e))
            }
        }
    }

    /// Equivocations consensus has seen.
    pub fn evidence(&self) -> Vec<chain_types::Equivocation> {
        self.store.evidence().unwrap_or_else(|e| {
            tracing::error!(target: "chain", error = %e, "cannot read the evidence kept");
            Vec::new()
        })
    }

    pub(crate) fn internal(e: StoreError) -> NodeError {
        tracing::error!(target: "chain", error = %e, "store read failed");
        NodeError::Internal(e.to_string())
    }

    pub(crate) fn resolve(&self, at: BlockRef) -> Result<StoredBlock, NodeError> {
        let height = match at {
            BlockRef::Finality(_) => self.store.head().map_err(Self::internal)?,
            BlockRef::Height(h) => Some(h),
            BlockRef::Hash(h) => self.store.height_of(&h).map_err(Self::internal)?,
        };
        let found = match height {
            Some(h) => self.store.block(h).map_err(Self::internal)?,
            None => None,
        };
        found.ok_or_else(|| {
            NodeError::UnknownBlock(match at {
                BlockRef::Hash(h) => h.to_string(),
                BlockRef::Height(h) => h.to_string(),
                BlockRef::Finality(_) => "head".into(),
            })
        })
    }

    /// The block context reads at `stored` run in (views see its height and time).
    pub(crate) fn context_at(&self, stored: &StoredBlock) -> BlockContext<'_> {
        BlockContext {
            chain_id: &self.genesis.chain_id,
            height: stored.block.header.height,
            timestamp_ms: stored.block.header.timestamp_ms,
            validity_blocks: self.genesis.transaction_validity_blocks,
            store: &self.store,
        }
    }

    /// Reads a state entry as of a block, through the Merkle tree's versioned values.
    fn read_at<T: borsh::BorshDeserialize>(&self, key: &[u8], at: BlockRef) -> Result<(Option<T>, Block), NodeError> {
        let stored = self.resolve(at)?;
        let value = self.store.state_at(key, stored.jmt_version).map_err(Self::internal)?;
        let decoded = value
            .map(|b| T::try_from_slice(&b).map_err(|e| NodeError::Internal(format!("corrupt state entry: {e}"))))
            .transpose()?;
        Ok((decoded, stored.block))
    }
}

impl NodeApi for Node {
    fn status(&self) -> Result<NodeStatus, NodeError> {
        let head = self.resolve(BlockRef::Height(*self.head.borrow()))?.block;
        let earliest = self.resolve(BlockRef::Height(0))?.block;
        let me = self.me();
        Ok(NodeStatus {
            chain_id: self.genesis.chain_id.clone(),
            genesis_hash: self.genesis_hash,
            head,
            earliest,
            validators: self.validators.next().validators().iter().map(|v| v.account_id.clone()).collect(),
            validator_account_id: me.as_ref().map(|v| v.account_id.clone()),
            validator_public_key: me.as_ref().map(|v| v.consensus_key),
            node_public_key: crate::node_queries::network_key(self, me.as_ref().map(|v| v.consensus_key)),
            uptime_sec: self.started.elapsed().as_secs(),
            syncing: self.is_syncing(),
        })
    }

    fn health(&self) -> Health {
        let head_ms = self.head_time_ms.load(Ordering::Relaxed);
        let set = self.validators.next();
        let validator = self.me().is_some();
        // A validator brings its own vote; an observer follows through at least one peer.
        let peers_needed = if validator { set.quorum().saturating_sub(1) } else { 1 };
        let interval = self.genesis.consensus.max_block_interval_ms;
        Health {
            syncing: self.is_syncing(),
            head_age_ms: genesis::unix_time_ms().saturating_sub(head_ms),
            stalled_after_ms: interval.saturating_mul(3).max(30_000),
            peers: self.network.get().map_or(0, NetworkHandle::connected_validators),
            peers_needed,
            // A key out of the set signs nothing: its last failure says nothing now.
            signer_failure: if validator { self.signer_failure.lock().clone() } else { None },
        }
    }

    fn protocol_config(&self) -> ProtocolConfig {
        let g = &self.genesis;
        ProtocolConfig {
            chain_id: g.chain_id.clone(),
            genesis_time_ms: g.genesis_time_ms,
            epoch_length: g.epoch_length,
            genesis_validators: g
                .validators
                .iter()
                .zip(genesis::split_stake(g.total_stake, g.validators.len()))
                .map(|(v, stake)| ValidatorView {
                    account_id: v.account_id.clone(),
                    public_key: v.consensus_key,
                    stake,
                })
                .collect(),
            validators: self.validators.next().len(),
            total_supply: g.total_supply,
            transaction_validity_blocks: g.transaction_validity_blocks,
            max_tx_bytes: g.limits.max_tx_bytes,
            registrar_account_id: g.registrar.account_id.clone(),
            treasury_account_id: g.treasury.account_id.clone(),
            workspace_account_id: g.workspace.account_id.clone(),
            workspace_name: g.workspace.name.clone(),
        }
    }

    fn block(&self, at: BlockRef) -> Result<Block, NodeError> {
        Ok(self.resolve(at)?.block)
    }

    fn approvals(&self, height: BlockHeight) -> Result<Vec<Option<Signature>>, NodeError> {
        let stored = self.resolve(BlockRef::Height(height))?;
        let n = if height == 0 { 0 } else { self.validators_at(height).map_err(Self::internal)?.len() };
        let mut out = vec![None; n];
        for s in stored.certificate.signatures {
            if let Some(slot) = out.get_mut(usize::from(s.validator)) {
                *slot = Some(s.signature);
            }
        }
        Ok(out)
    }

    fn account(&self, id: &AccountId, at: BlockRef) -> Result<(Option<Account>, Block), NodeError> {
        self.read_at(&StateKey::account(id), at)
    }

    fn access_key(
        &self,
        id: &AccountId,
        key: &PublicKey,
        at: BlockRef,
    ) -> Result<(Option<AccessKey>, Block), NodeError> {
        self.read_at(&StateKey::access_key(id, key), at)
    }

    fn access_keys(&self, id: &AccountId, at: BlockRef) -> Result<(Vec<(PublicKey, AccessKey)>, Block), NodeError> {
        let stored = self.resolve(at)?;
        let prefix = StateKey::access_keys_prefix(id);
        // Candidates from the head's key list, each read as of the block.
        let mut keys = Vec::new();
        for (k, _) in self.store.state_prefix(&prefix).map_err(Self::internal)? {
            let Some(pk) = k.get(prefix.len()..).and_then(|b| <[u8; 32]>::try_from(b).ok()).map(PublicKey) else {
                continue;
            };
            let value = self.store.state_at(&k, stored.jmt_version).map_err(Self::internal)?;
            if let Some(bytes) = value {
                let key = borsh::from_slice::<AccessKey>(&bytes)
                    .map_err(|e| NodeError::Internal(format!("corrupt access key: {e}")))?;
                keys.push((pk, key));
            }
        }
        Ok((keys, stored.block))
    }

    fn call_view(
        &self,
        id: &AccountId,
        method: &str,
        args: &[u8],
        at: BlockRef,
    ) -> Result<(Result<Vec<u8>, ViewCallError>, Block), NodeError> {
        let stored = self.resolve(at)?;
        let ctx = self.context_at(&stored);
        let result = match self.runtime.view(&ctx, Some(stored.jmt_version), id, method, args) {
            Ok(bytes) => Ok(bytes),
            Err(ViewError::UnknownAccount(_)) => Err(ViewCallError::UnknownAccount),
            Err(ViewError::NoModule(_)) => Err(ViewCallError::NoModule),
            Err(ViewError::Module(e)) => Err(ViewCallError::Failed(e.to_string())),
            Err(ViewError::Store(e)) => return Err(Self::internal(e)),
        };
        Ok((result, stored.block))
    }

    fn validators(&self, at: BlockRef) -> Result<(ValidatorsView, Block), NodeError> {
        let stored = self.resolve(at)?;
        let schedule = self.validators.schedule_at(&self.store, stored.jmt_version).map_err(Self::internal)?;
        let view = |set: &[contracts::staking::ValidatorInfo]| {
            set.iter()
                .zip(contracts::staking::split_stake(schedule.total_stake, set.len()))
                .map(|(v, stake)| ValidatorView {
                    account_id: v.account_id.clone(),
                    public_key: v.consensus_key,
                    stake,
                })
                .collect::<Vec<_>>()
        };
        let epoch_length = self.genesis.epoch_length.max(1);
        let epoch_height = rpc::epoch_of(stored.block.header.height, epoch_length);
        let v = ValidatorsView {
            current: view(&schedule.current),
            next: view(schedule.next()),
            epoch_start_height: epoch_height * epoch_length + 1,
            epoch_height,
        };
        Ok((v, stored.block))
    }

    fn state_changes(&self, at: BlockRef) -> Result<(Vec<StateChangeView>, Block), NodeError> {
        crate::node_queries::state_changes(self, at)
    }

    fn module_state(
        &self,
        id: &AccountId,
        prefix: &[u8],
        at: BlockRef,
    ) -> Result<(Option<rpc::StateEntries>, Block), NodeError> {
        crate::node_queries::module_state(self, id, prefix, at)
    }

    fn module_of(&self, id: &AccountId, at: BlockRef) -> Result<(bool, Option<String>, Block), NodeError> {
        let stored = self.resolve(at)?;
        let (exists, module) = crate::node_queries::module_at(self, id, stored.jmt_version)?;
        Ok((exists, module, stored.block))
    }

    fn prove_state(&self, reads: &[StateRead], at: BlockRef) -> Result<(Vec<StateProof>, Block), NodeError> {
        crate::node_queries::prove_state(self, reads, at)
    }

    fn view_reads(&self, id: &AccountId, method: &str, args: &[u8], at: BlockRef) -> Result<Vec<StateRead>, NodeError> {
        crate::node_queries::view_reads(self, id, method, args, at)
    }

    fn certified_block(&self, at: BlockRef) -> Result<CertifiedBlock, NodeError> {
        let stored = self.resolve(at)?;
        Ok(CertifiedBlock { block: stored.block, certificate: stored.certificate })
    }

    fn network_info(&self) -> NetworkInfo {
        crate::node_queries::network_info(self)
    }

    fn evidence(&self) -> Vec<EvidenceView> {
        Node::evidence(self)
            .into_iter()
            .map(|proof| {
                let validator = self
                    .validators_at(proof.height())
                    .ok()
                    .and_then(|set| set.validators().get(usize::from(proof.validator())).map(|v| v.account_id.clone()));
                EvidenceView { proof, validator }
            })
            .collect()
    }

    fn submit(&self, tx: SignedTransaction) -> Result<CryptoHash, SubmitError> {
        let hash = tx.hash();
        self.admit(tx, hash, Origin::Rpc)
    }

    /// Cheap checks at once (known, size, actions), then the signature in a gathered batch
    /// on every core ([`crate::admission`]).
    async fn submit_gathered(&self, tx: SignedTransaction) -> Result<CryptoHash, SubmitError> {
        let hash = tx.hash();
        if self.mempool.contains(&hash) {
            return Ok(hash);
        }
        check_stateless(&tx, self.runtime.max_tx_bytes, false)?;
        let Some(me) = self.me.upgrade() else { return self.admit(tx, hash, Origin::Rpc) };
        self.submissions.submit(&me, tx, hash).await
    }

    fn stored_outcome(&self, hash: &CryptoHash) -> Result<Option<ExecutionOutcome>, NodeError> {
        self.store.outcome(hash).map_err(Self::internal)
    }

    fn subscribe_head(&self) -> watch::Receiver<BlockHeight> {
        self.head.subscribe()
    }

    fn subscribe_syncing(&self) -> watch::Receiver<bool> {
        self.syncing.subscribe()
    }

    async fn wait_outcome(
        &self,
        hash: CryptoHash,
        timeout: Duration,
    ) -> Result<Option<(ExecutionOutcome, SignedTransaction)>, NodeError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut heads = self.head.subscribe();
        loop {
            heads.borrow_and_update();
            if let Some(found) = self.outcome(&hash)? {
                return Ok(Some(found));
            }
            match tokio::time::timeout_at(deadline, heads.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) | Err(_) => return Ok(None),
            }
        }
    }
}
