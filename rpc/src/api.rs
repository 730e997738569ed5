//! What the RPC layer needs from a node.

use std::future::Future;
use std::time::Duration;

use chain_types::{
    AccessKey, Account, AccountId, Balance, Block, BlockHeight, CommitCertificate, CryptoHash, ExecutionOutcome,
    InvalidTxError, PublicKey, Signature, SignedTransaction, StateChangeCause,
};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Finality {
    Optimistic,
    #[serde(rename = "near-final")]
    NearFinal,
    #[default]
    Final,
}

/// Which block a read is answered at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockRef {
    Finality(Finality),
    Height(BlockHeight),
    Hash(CryptoHash),
}

/// How long `send_tx` waits (NEAR's `TxExecutionStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WaitUntil {
    None,
    Included,
    ExecutedOptimistic,
    IncludedFinal,
    Executed,
    #[default]
    Final,
}

impl WaitUntil {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitUntil::None => "NONE",
            WaitUntil::Included => "INCLUDED",
            WaitUntil::ExecutedOptimistic => "EXECUTED_OPTIMISTIC",
            WaitUntil::IncludedFinal => "INCLUDED_FINAL",
            WaitUntil::Executed => "EXECUTED",
            WaitUntil::Final => "FINAL",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("block {0} is not known")]
    UnknownBlock(String),
    /// A proof was asked at a block whose state root no certified header carries yet.
    #[error("the state after block {0} is not yet committed to by a certified header; ask again after the next block")]
    NotYetProvable(BlockHeight),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a view call returned no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewCallError {
    UnknownAccount,
    /// The account runs no module.
    NoModule,
    /// The module refused or failed; its message.
    Failed(String),
}

/// A validator as `validators` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorView {
    pub account_id: AccountId,
    pub public_key: PublicKey,
    pub stake: Balance,
}

/// The validator sets as of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorsView {
    /// The set deciding the block after the one asked about.
    pub current: Vec<ValidatorView>,
    /// The set of the next epoch (the current one if no change is pending).
    pub next: Vec<ValidatorView>,
    /// First height of the epoch the block is in, and the epoch's number.
    pub epoch_start_height: BlockHeight,
    pub epoch_height: u64,
}

/// Equivocation consensus has seen: a validator signed two different votes (or proposals)
/// for one step. The proof holds both signed messages and the validator's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceView {
    pub proof: chain_types::Equivocation,
    /// The offender's account, when the validator set of that height is known.
    pub validator: Option<AccountId>,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Invalid(#[from] InvalidTxError),
    #[error("mempool is full ({capacity} transactions); retry later")]
    MempoolFull { capacity: usize },
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Node facts for `status`.
#[derive(Debug, Clone)]
pub struct NodeStatus {
    pub chain_id: String,
    pub genesis_hash: CryptoHash,
    pub head: Block,
    pub earliest: Block,
    pub validators: Vec<AccountId>,
    pub validator_account_id: Option<AccountId>,
    pub validator_public_key: Option<PublicKey>,
    /// The node's network (libp2p) key.
    pub node_public_key: PublicKey,
    pub uptime_sec: u64,
    pub syncing: bool,
}

/// A state write as NEAR's `changes` methods show it, decoded from the store's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateChangeValue {
    /// `module`: the native module the account runs after the block (its code hash).
    AccountUpdate {
        account_id: AccountId,
        account: Account,
        module: Option<String>,
    },
    AccountDeletion {
        account_id: AccountId,
    },
    AccessKeyUpdate {
        account_id: AccountId,
        public_key: PublicKey,
        access_key: AccessKey,
    },
    AccessKeyDeletion {
        account_id: AccountId,
        public_key: PublicKey,
    },
    DataUpdate {
        account_id: AccountId,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    DataDeletion {
        account_id: AccountId,
        key: Vec<u8>,
    },
    /// A native module deployed (its code is empty; see `view_code`).
    ContractCodeUpdate {
        account_id: AccountId,
        module: String,
    },
    ContractCodeDeletion {
        account_id: AccountId,
    },
}

impl StateChangeValue {
    pub fn account_id(&self) -> &AccountId {
        match self {
            StateChangeValue::AccountUpdate { account_id, .. }
            | StateChangeValue::AccountDeletion { account_id }
            | StateChangeValue::AccessKeyUpdate { account_id, .. }
            | StateChangeValue::AccessKeyDeletion { account_id, .. }
            | StateChangeValue::DataUpdate { account_id, .. }
            | StateChangeValue::DataDeletion { account_id, .. }
            | StateChangeValue::ContractCodeUpdate { account_id, .. }
            | StateChangeValue::ContractCodeDeletion { account_id } => account_id,
        }
    }
}

/// One write of a block with why it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChangeView {
    pub cause: StateChangeCause,
    pub value: StateChangeValue,
}

/// Storage entries of a module: (key under the module's prefix, value), in key order.
pub type StateEntries = Vec<(Vec<u8>, Vec<u8>)>;

/// A peer as `network_info` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerView {
    pub peer_id: String,
    pub addr: Option<String>,
    pub account_id: Option<AccountId>,
}

/// The node's network for `network_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInfo {
    pub active_peers: Vec<PeerView>,
    /// The validators of the current and next sets, with where they are reached.
    pub known_producers: Vec<PeerView>,
    pub peer_max_count: u32,
    /// Averages since the node started.
    pub sent_bytes_per_sec: u64,
    pub received_bytes_per_sec: u64,
}

/// A state read proven against a certified state root: `proof` is the borsh of a Jellyfish
/// Merkle `SparseMerkleProof<Sha3_256>` of the entry's key (existence, or non-existence
/// when the entry is absent) against the root after `block`, which the header of the block
/// after it (`root_block`, with its commit certificate) carries as `prev_state_root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateProof {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
    pub proof: Vec<u8>,
    pub root_block: Block,
    pub root_certificate: CommitCertificate,
}

/// A state entry to prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateRead {
    Account(AccountId),
    AccessKey(AccountId, PublicKey),
    ModuleData(AccountId, Vec<u8>),
    /// A raw store key (as a view reported reading it).
    Raw(Vec<u8>),
}

/// A block with the commit certificate that finalized it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifiedBlock {
    pub block: Block,
    pub certificate: CommitCertificate,
}

/// Chain parameters for `EXPERIMENTAL_protocol_config` (from genesis).
#[derive(Debug, Clone)]
pub struct ProtocolConfig {
    pub chain_id: String,
    pub genesis_time_ms: u64,
    pub epoch_length: u64,
    /// The genesis validator set, with the stake each holds.
    pub genesis_validators: Vec<ValidatorView>,
    /// Seats: the current set's size.
    pub validators: usize,
    /// All tokens at genesis.
    pub total_supply: Balance,
    pub transaction_validity_blocks: u64,
    pub max_tx_bytes: u64,
    /// The only account that may create top-level accounts.
    pub registrar_account_id: AccountId,
    /// The multisig treasury (the registrar's only caller).
    pub treasury_account_id: AccountId,
    /// The workspace module (organizations, invitations, credentials).
    pub workspace_account_id: AccountId,
    /// The workspace's name (genesis `workspace.name`).
    pub workspace_name: String,
}

/// What liveness and readiness probes need to know about a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Block sync is catching up with a peer.
    pub syncing: bool,
    /// Milliseconds since the head block's timestamp, and after how long without a block the
    /// chain counts as stalled.
    pub head_age_ms: u64,
    pub stalled_after_ms: u64,
    /// Validator peers connected, and how many this node needs for a quorum (with its own
    /// vote if it is a validator; one to follow the chain if it is not).
    pub peers: usize,
    pub peers_needed: usize,
    /// Why the validator's signer failed its last request, while it fails.
    pub signer_failure: Option<String>,
}

impl Health {
    /// Why the node should not take traffic (empty when ready).
    pub fn not_ready(&self) -> Vec<String> {
        let mut why = Vec::new();
        if self.syncing {
            why.push("syncing: catching up with a peer".to_owned());
        }
        if self.peers < self.peers_needed {
            why.push(format!("{} peers connected, {} needed for a quorum", self.peers, self.peers_needed));
        }
        if self.signer_failure.is_some() {
            // The detail (an address) is in the node's log, not on an open endpoint.
            why.push("signer failing".to_owned());
        }
        why
    }

    /// No block for longer than the stall bound.
    pub fn stalled(&self) -> bool {
        self.head_age_ms > self.stalled_after_ms
    }
}

/// The node as the RPC layer sees it. Reads return the block they were answered at.
pub trait NodeApi: Send + Sync + 'static {
    fn status(&self) -> Result<NodeStatus, NodeError>;
    fn health(&self) -> Health;
    fn protocol_config(&self) -> ProtocolConfig;
    fn block(&self, at: BlockRef) -> Result<Block, NodeError>;
    /// The precommit signatures that committed block `height`, by validator index in the
    /// set of that height (`None` where the certificate has none).
    fn approvals(&self, height: BlockHeight) -> Result<Vec<Option<Signature>>, NodeError>;
    fn account(&self, id: &AccountId, at: BlockRef) -> Result<(Option<Account>, Block), NodeError>;
    fn access_key(
        &self,
        id: &AccountId,
        key: &PublicKey,
        at: BlockRef,
    ) -> Result<(Option<AccessKey>, Block), NodeError>;
    /// Every access key of an account as of a block.
    fn access_keys(&self, id: &AccountId, at: BlockRef) -> Result<(Vec<(PublicKey, AccessKey)>, Block), NodeError>;
    /// Runs a module's read-only `method` against the state as of a block.
    fn call_view(
        &self,
        id: &AccountId,
        method: &str,
        args: &[u8],
        at: BlockRef,
    ) -> Result<(Result<Vec<u8>, ViewCallError>, Block), NodeError>;
    /// The validator sets as of a block.
    fn validators(&self, at: BlockRef) -> Result<(ValidatorsView, Block), NodeError>;
    /// Every state write a block made, with its cause, in the order made.
    fn state_changes(&self, at: BlockRef) -> Result<(Vec<StateChangeView>, Block), NodeError>;
    /// A module's storage entries under `prefix` as of a block (key, value); `None` when the
    /// account does not exist.
    fn module_state(
        &self,
        id: &AccountId,
        prefix: &[u8],
        at: BlockRef,
    ) -> Result<(Option<StateEntries>, Block), NodeError>;
    /// The native module an account runs as of a block: `(account exists, module name)`.
    fn module_of(&self, id: &AccountId, at: BlockRef) -> Result<(bool, Option<String>, Block), NodeError>;
    /// Proofs of state entries as of a block (see [`StateProof`]).
    fn prove_state(&self, reads: &[StateRead], at: BlockRef) -> Result<(Vec<StateProof>, Block), NodeError>;
    /// The state entries a module's read-only `method` reads as of a block (to prove them).
    fn view_reads(&self, id: &AccountId, method: &str, args: &[u8], at: BlockRef) -> Result<Vec<StateRead>, NodeError>;
    /// A committed block with its certificate.
    fn certified_block(&self, at: BlockRef) -> Result<CertifiedBlock, NodeError>;
    /// Peers and validators for `network_info`.
    fn network_info(&self) -> NetworkInfo;
    /// Equivocation seen since the node started (admin only over the RPC).
    fn evidence(&self) -> Vec<EvidenceView>;
    /// Validates against head state and adds to the mempool; returns the transaction hash.
    fn submit(&self, tx: SignedTransaction) -> Result<CryptoHash, SubmitError>;
    /// [`NodeApi::submit`] for the APIs: a node may gather concurrent submissions to check
    /// their signatures together, and should refuse at once (before any signature work)
    /// what it has no room for.
    fn submit_gathered(&self, tx: SignedTransaction) -> impl Future<Output = Result<CryptoHash, SubmitError>> + Send {
        std::future::ready(self.submit(tx))
    }
    /// The stored outcome of a transaction, once its block committed.
    fn stored_outcome(&self, hash: &CryptoHash) -> Result<Option<ExecutionOutcome>, NodeError>;
    /// The stored outcome and the transaction itself (from the block that holds it).
    fn outcome(&self, hash: &CryptoHash) -> Result<Option<(ExecutionOutcome, SignedTransaction)>, NodeError> {
        let Some(outcome) = self.stored_outcome(hash)? else {
            return Ok(None);
        };
        let block = self.block(BlockRef::Height(outcome.block_height))?;
        let tx = block.transactions.into_iter().find(|t| &t.hash() == hash).ok_or_else(|| {
            NodeError::Internal(format!("outcome of {hash} points at block {} without it", outcome.block_height))
        })?;
        Ok(Some((outcome, tx)))
    }
    /// The height of the newest committed block, updated as blocks commit.
    fn subscribe_head(&self) -> tokio::sync::watch::Receiver<BlockHeight>;
    /// Whether block sync is catching up, updated the moment it changes.
    fn subscribe_syncing(&self) -> tokio::sync::watch::Receiver<bool>;
    /// Waits up to `timeout` for the outcome.
    fn wait_outcome(
        &self,
        hash: CryptoHash,
        timeout: Duration,
    ) -> impl Future<Output = Result<Option<(ExecutionOutcome, SignedTransaction)>, NodeError>> + Send;
}

/// Why [`submit_and_wait`] returned no outcome.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("accepted, but no outcome arrived in time")]
    Timeout,
}

/// Sends a transaction the way both APIs do: a resubmission of one that already ran gets its
/// stored outcome; otherwise it is submitted and, above `NONE`, its outcome awaited up to
/// `timeout`. `None` means submitted without waiting.
pub(crate) async fn submit_and_wait<N: NodeApi>(
    node: &N,
    tx: SignedTransaction,
    wait: WaitUntil,
    timeout: Duration,
) -> Result<Option<(ExecutionOutcome, SignedTransaction)>, SendError> {
    let hash = tx.hash();
    if let Some(found) = node.outcome(&hash)? {
        return Ok(Some(found));
    }
    node.submit_gathered(tx).await?;
    if wait == WaitUntil::None {
        return Ok(None);
    }
    node.wait_outcome(hash, timeout).await?.map(Some).ok_or(SendError::Timeout)
}

/// The outcome of a transaction: stored, or, when `wait` is above `NONE`, awaited up to
/// `timeout`. `None` if it is not (yet) known.
pub(crate) async fn outcome_or_wait<N: NodeApi>(
    node: &N,
    hash: CryptoHash,
    wait: WaitUntil,
    timeout: Duration,
) -> Result<Option<(ExecutionOutcome, SignedTransaction)>, NodeError> {
    match node.outcome(&hash)? {
        Some(found) => Ok(Some(found)),
        None if wait > WaitUntil::None => node.wait_outcome(hash, timeout).await,
        None => Ok(None),
    }
}
