//! The simulated application: an in-memory chain whose state root is a hash chain over the
//! heights and the blocks' transactions, so every honest node builds and checks the same
//! roots. Its transactions are real signed transfers from one client key, gossiped by the
//! event loop into each node's pool (its mempool, lost in a crash) and proposed by digest;
//! execution refuses a transaction twice and, outside certified blocks, a bad signature on
//! one the pool does not hold. The chain survives a simulated crash (the block store).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use chain_types::{
    sha3_256, AccountId, Action, Block, BlockHeader, BlockHeight, CommitCertificate, CryptoHash, Equivocation,
    PublicKey, SecretKey, SignedTransaction, Transaction, TransferAction,
};
use consensus::{Validator, ValidatorSet};
use consensus_driver::{Application, BlocksRequest, BlocksResponse};

use crate::{Role, Scenario};

/// A node's durable chain: committed blocks (genesis at index 0), the digests of their
/// transactions, and the evidence it kept.
#[derive(Debug)]
pub struct ChainState {
    pub blocks: Vec<(Block, CommitCertificate)>,
    pub committed: HashSet<CryptoHash>,
    pub evidence: Vec<Equivocation>,
}

impl ChainState {
    pub fn new() -> Self {
        ChainState { blocks: vec![genesis_block()], committed: HashSet::new(), evidence: Vec::new() }
    }

    pub fn head(&self) -> BlockHeight {
        self.blocks.len() as BlockHeight - 1
    }
}

impl Default for ChainState {
    fn default() -> Self {
        Self::new()
    }
}

pub type SharedChain = Rc<RefCell<ChainState>>;

/// A node's pending transactions by digest (its mempool: lost in a crash).
pub type Pool = Rc<RefCell<BTreeMap<CryptoHash, SignedTransaction>>>;

/// Most transactions an honest proposer puts in a block.
pub const BLOCK_TRANSACTIONS: usize = 8;

pub const CHAIN_ID: &str = "sim";
/// Genesis time; simulated milliseconds are added to it.
pub const GENESIS_MS: u64 = 1_700_000_000_000;

/// The state root every honest node computes after `parent`: what its child's header
/// carries.
pub fn expected_root(parent: &BlockHeader) -> CryptoHash {
    let mut bytes = parent.prev_state_root.0.to_vec();
    bytes.extend_from_slice(&parent.height.to_le_bytes());
    bytes.extend_from_slice(parent.tx_root.as_bytes());
    sha3_256(&bytes)
}

fn client_key() -> SecretKey {
    SecretKey::from_seed(sha3_256(b"sim client").0)
}

/// Nonces of the transactions a withholder makes up for its own blocks.
const PRIVATE_NONCES: u64 = u64::MAX / 2;

/// Whether a withholder made `tx` up (nobody else ever held it before its proposal).
pub fn is_private(tx: &SignedTransaction) -> bool {
    tx.transaction.nonce >= PRIVATE_NONCES
}

/// The `n`th transaction of the run's client: a signed transfer, unique by its nonce.
pub fn client_transaction(n: u64) -> SignedTransaction {
    let key = client_key();
    Transaction {
        signer_id: "client.sim".parse().unwrap_or_else(|_| unreachable!("a valid account id")),
        public_key: key.public_key(),
        nonce: n,
        receiver_id: account(0),
        block_hash: CryptoHash::default(),
        actions: vec![Action::Transfer(TransferAction { deposit: 1 })],
    }
    .sign(&key)
}

pub fn genesis_block() -> (Block, CommitCertificate) {
    let header = BlockHeader {
        height: 0,
        prev_hash: CryptoHash::default(),
        timestamp_ms: GENESIS_MS,
        proposer: account(0),
        tx_root: Block::compute_tx_root(&[]),
        outcome_root: CryptoHash::default(),
        next_bp_hash: CryptoHash::default(),
        prev_state_root: sha3_256(b"sim genesis"),
    };
    let block = Block { header, transactions: Vec::new() };
    let hash = block.hash();
    (block, CommitCertificate { height: 0, round: 0, block_hash: hash, signatures: Vec::new() })
}

pub fn account(key: usize) -> AccountId {
    format!("v{key}.sim").parse().unwrap_or_else(|_| unreachable!("a valid account id"))
}

/// The validator sets of the run, by height (a pure function, known to every node).
#[derive(Debug)]
pub struct Schedule {
    pub keys: Vec<PublicKey>,
    pub scenario: Rc<Scenario>,
}

impl Schedule {
    pub fn set_at(&self, height: BlockHeight) -> ValidatorSet {
        let members = self
            .scenario
            .set_at(height)
            .into_iter()
            .map(|k| Validator { account_id: account(k), consensus_key: self.keys[k] });
        ValidatorSet::new(members.collect()).unwrap_or_else(|| unreachable!("sets are never empty"))
    }
}

/// A block the simulated application executed.
#[derive(Debug, Clone)]
pub struct SimExecuted(pub Block);

impl consensus_driver::Executed for SimExecuted {
    fn block(&self) -> &Block {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
#[error("simulated application: {0}")]
pub struct SimAppError(String);

#[derive(Debug)]
pub struct SimApp {
    pub chain: SharedChain,
    pub pool: Pool,
    pub schedule: Rc<Schedule>,
    pub role: Role,
}

impl SimApp {
    fn head_block(&self) -> Block {
        let chain = self.chain.borrow();
        chain.blocks.last().map(|(b, _)| b.clone()).unwrap_or_else(|| genesis_block().0)
    }

    /// Whether a committed block is one an honest node could have accepted: it extends its
    /// parent, later than it, executes to its state root, and its transactions are new
    /// (against `committed`, the digests of the blocks before it) and validly signed.
    pub fn valid_child(parent: &Block, block: &Block, committed: &HashSet<CryptoHash>) -> bool {
        let h = &block.header;
        Self::executes(parent, block, committed)
            && h.timestamp_ms > parent.header.timestamp_ms
            && block.tx_root_matches()
            && block.transactions.iter().all(SignedTransaction::verify_signature)
    }

    /// What execution checks (the header rules are the driver's): the block builds on the
    /// parent and reaches the state root it claims, and no transaction of it ran before or
    /// appears twice.
    fn executes(parent: &Block, block: &Block, committed: &HashSet<CryptoHash>) -> bool {
        let h = &block.header;
        let mut seen = HashSet::new();
        h.height == parent.header.height + 1
            && h.prev_hash == parent.hash()
            && h.prev_state_root == expected_root(&parent.header)
            && block
                .transactions
                .iter()
                .map(SignedTransaction::digest)
                .all(|d| !committed.contains(&d) && seen.insert(d))
    }
}

impl Application for SimApp {
    type Executed = SimExecuted;
    type Error = SimAppError;

    fn chain_id(&self) -> &str {
        CHAIN_ID
    }

    fn head(&self) -> Result<BlockHeader, SimAppError> {
        Ok(self.head_block().header)
    }

    /// As the node: heights past the next one get the next one's set (the blocks in between,
    /// which could change it, are not known yet).
    fn validators(&self, height: BlockHeight) -> Result<Arc<ValidatorSet>, SimAppError> {
        let next = self.head_block().header.height + 1;
        Ok(Arc::new(self.schedule.set_at(height.min(next))))
    }

    fn has_work(&self) -> bool {
        true
    }

    fn transactions(&self, digests: &[CryptoHash]) -> Vec<Option<SignedTransaction>> {
        let pool = self.pool.borrow();
        digests.iter().map(|d| pool.get(d).cloned()).collect()
    }

    fn build(&mut self, proposer: &AccountId, timestamp_ms: u64) -> Result<SimExecuted, SimAppError> {
        let head = self.head_block();
        let height = head.header.height + 1;
        let mut transactions: Vec<SignedTransaction> =
            self.pool.borrow().values().take(BLOCK_TRANSACTIONS).cloned().collect();
        if self.role == Role::Withholder {
            // Transactions nobody else has seen (nonces far from the client's).
            transactions.extend((0..2).map(|i| client_transaction(PRIVATE_NONCES + height * 2 + i)));
        }
        let mut prev_state_root = expected_root(&head.header);
        if self.role == Role::InvalidProposer {
            prev_state_root.0[0] ^= 0xFF;
        }
        let timestamp_ms = if self.role == Role::FarFutureTimestamp { u64::MAX } else { timestamp_ms };
        let header = BlockHeader {
            height,
            prev_hash: head.hash(),
            timestamp_ms,
            proposer: proposer.clone(),
            tx_root: Block::compute_tx_root(&transactions),
            outcome_root: CryptoHash::default(),
            next_bp_hash: CryptoHash::default(),
            prev_state_root,
        };
        Ok(SimExecuted(Block { header, transactions }))
    }

    /// As the node: signatures of transactions the pool holds were checked on arrival, the
    /// others are checked here unless a quorum certified the block.
    fn execute(&mut self, block: Block, certified: bool) -> Result<Option<SimExecuted>, SimAppError> {
        let valid = {
            let chain = self.chain.borrow();
            let pool = self.pool.borrow();
            Self::executes(&self.head_block(), &block, &chain.committed)
                && (certified
                    || block.transactions.iter().all(|t| pool.contains_key(&t.digest()) || t.verify_signature()))
        };
        Ok(valid.then_some(SimExecuted(block)))
    }

    fn commit(&mut self, executed: SimExecuted, certificate: CommitCertificate) -> Result<(), SimAppError> {
        let mut chain = self.chain.borrow_mut();
        let expected = chain.blocks.len() as u64;
        if executed.0.header.height != expected {
            return Err(SimAppError(format!(
                "commit of height {} on a head of {}",
                executed.0.header.height,
                expected - 1
            )));
        }
        let mut pool = self.pool.borrow_mut();
        for tx in &executed.0.transactions {
            let digest = tx.digest();
            pool.remove(&digest);
            chain.committed.insert(digest);
        }
        chain.blocks.push((executed.0, certificate));
        Ok(())
    }

    fn committed(&self, height: BlockHeight) -> Result<Option<(Block, CommitCertificate)>, SimAppError> {
        Ok(self.chain.borrow().blocks.get(height as usize).cloned())
    }

    fn record_evidence(&mut self, evidence: Equivocation) -> Result<(), SimAppError> {
        let mut chain = self.chain.borrow_mut();
        if !chain.evidence.contains(&evidence) {
            chain.evidence.push(evidence);
        }
        Ok(())
    }
}

/// What a node answers a block request with (the production node reads its store alike).
pub fn serve_blocks(chain: &ChainState, request: BlocksRequest) -> BlocksResponse {
    let head = chain.blocks.len().saturating_sub(1) as u64;
    let from = request.from.max(1);
    let last = head.min(from.saturating_add(u64::from(request.max)).saturating_sub(1));
    let blocks = (from..=last).filter_map(|h| chain.blocks.get(h as usize).cloned()).collect();
    BlocksResponse { head, blocks }
}
