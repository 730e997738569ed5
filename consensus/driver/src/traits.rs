//! The driver's view of the world: five small traits. Production implements them with a
//! monotonic clock, libp2p, the KMS, a file and RocksDB (`chain::consensus`); the simulator
//! (`consensus-sim`) with simulated time, links, keys, memory and an in-memory chain.

use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::io;
use std::sync::Arc;

use chain_types::{
    AccountId, Block, BlockHeader, BlockHeight, CommitCertificate, CryptoHash, PublicKey, Signature, SignedTransaction,
};
use consensus::ValidatorSet;

use crate::{ConsensusMessage, Equivocation, SignRequest};

/// Time as the driver sees it.
pub trait Clock {
    /// Milliseconds on a monotonic clock: timers and intervals.
    fn now_ms(&self) -> u64;
    /// Milliseconds since the Unix epoch: block timestamps and their drift bound.
    fn unix_ms(&self) -> u64;
}

/// Sending to peers. Every call returns at once: delivery is best effort, and what matters is
/// sent again by the driver's relay.
pub trait Network {
    /// A peer's identity (a libp2p peer id; an index in the simulator).
    type Peer: Copy + Ord + Eq + Hash + Debug + Display;
    fn broadcast(&mut self, message: &ConsensusMessage);
    fn send(&mut self, to: Self::Peer, message: &ConsensusMessage);
    /// Asks `peer` for up to `max` certified blocks from height `from`; the answer (or its
    /// failure) comes back as [`crate::Event::Blocks`].
    fn request_blocks(&mut self, peer: Self::Peer, from: BlockHeight, max: u32);
}

/// Why a signature was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignFailure {
    /// The backend is down or slow; the same request may succeed later.
    #[error("signer unavailable: {0}")]
    Unavailable(String),
    /// Signing would be unsafe (the double-sign guard said no) or is impossible; retrying
    /// cannot help.
    #[error("signer refused: {0}")]
    Refused(String),
}

/// The validator's key, wherever it lives (behind a double-sign guard in production).
pub trait ConsensusSigner {
    fn public_key(&self) -> PublicKey;
    fn sign(&mut self, request: &SignRequest) -> Result<Signature, SignFailure>;
}

/// Durable bytes for the consensus WAL: a file in production, memory that survives a
/// simulated crash in the simulator.
pub trait WalStorage {
    /// Everything written so far.
    fn read_all(&mut self) -> io::Result<Vec<u8>>;
    /// Appends and returns once the bytes are durable.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Replaces the whole content atomically and durably.
    fn replace(&mut self, bytes: &[u8]) -> io::Result<()>;
}

/// A block the application executed on its head: what it commits if the block is decided.
pub trait Executed {
    fn block(&self) -> &Block;
}

/// The replicated state machine: blocks, their execution and the committed chain.
pub trait Application {
    type Executed: Executed;
    type Error: std::error::Error + Send + Sync + 'static;

    fn chain_id(&self) -> &str;
    /// The header of the last committed block (genesis at first).
    fn head(&self) -> Result<BlockHeader, Self::Error>;
    /// The validator set that decides `height`: exact up to the next height; beyond it, the
    /// best knowledge (the set of the next height).
    fn validators(&self, height: BlockHeight) -> Result<Arc<ValidatorSet>, Self::Error>;
    /// Whether transactions wait to be included.
    fn has_work(&self) -> bool;
    /// The pending transactions (the mempool's) with these digests
    /// ([`SignedTransaction::digest`]), in order; `None` for each one not held. Those found
    /// are trusted no more than a peer's: a block assembled from them is executed with its
    /// signatures checked as [`Application::execute`] says.
    fn transactions(&self, digests: &[CryptoHash]) -> Vec<Option<SignedTransaction>>;
    /// A new block on the head, built and executed, proposed by `proposer` at `timestamp_ms`.
    fn build(&mut self, proposer: &AccountId, timestamp_ms: u64) -> Result<Self::Executed, Self::Error>;
    /// Executes `block` on the head. `None` if it is not a valid next block: its transactions
    /// or signatures are invalid, or it starts from another state root than ours. With
    /// `certified` (a quorum committed it) signatures need not be checked again, and another
    /// state root is an error: this node's state diverged from the quorum's.
    fn execute(&mut self, block: Block, certified: bool) -> Result<Option<Self::Executed>, Self::Error>;
    /// Commits an executed block with its certificate, durably; the head moves to it.
    fn commit(&mut self, executed: Self::Executed, certificate: CommitCertificate) -> Result<(), Self::Error>;
    /// A committed block and its certificate, to help a peer that is behind.
    fn committed(&self, height: BlockHeight) -> Result<Option<(Block, CommitCertificate)>, Self::Error>;
    /// Keeps proof of an equivocation, durably.
    fn record_evidence(&mut self, evidence: Equivocation) -> Result<(), Self::Error>;
}
