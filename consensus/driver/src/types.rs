//! What the driver sends, receives and asks for.

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::{Block, BlockHeight, CommitCertificate, CompactBlock, CryptoHash, Signature, SignedTransaction};
use consensus::{Proposal, Round, ValueId, Vote, VoteKind};

/// A consensus message between validators. Signatures are checked by the receiver before
/// anything in the message is used.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ConsensusMessage {
    /// A proposal with its block named by header and transaction digests: the bytes of
    /// transactions travel ahead in gossip, and what a validator lacks it fetches
    /// ([`ConsensusMessage::FetchTransactions`]).
    Proposal {
        proposal: Proposal,
        block: Box<CompactBlock>,
        signature: Signature,
    },
    Vote {
        vote: Vote,
        signature: Signature,
    },
    /// Proof that the sender committed `height`: a quorum of precommits for the block. Sent
    /// after every commit and again while a height makes no progress.
    Certificate(CommitCertificate),
    /// A committed block with its certificate, for a peer still deciding that height.
    Decision {
        block: Box<Block>,
        certificate: CommitCertificate,
    },
    /// Asks for the transactions with these digests, which the proposed `block` of `height`
    /// includes and the sender lacks. Unsigned: answered only from what the receiver holds.
    FetchTransactions {
        height: BlockHeight,
        block: ValueId,
        digests: Vec<CryptoHash>,
    },
    /// The answer: those of the asked transactions the sender holds. Each is checked
    /// against the digests the proposal names before it is used.
    BlockTransactions {
        height: BlockHeight,
        block: ValueId,
        transactions: Vec<SignedTransaction>,
    },
}

impl ConsensusMessage {
    /// The height the message is about.
    pub fn height(&self) -> BlockHeight {
        match self {
            ConsensusMessage::Proposal { proposal, .. } => proposal.height,
            ConsensusMessage::Vote { vote, .. } => vote.height,
            ConsensusMessage::Certificate(c) | ConsensusMessage::Decision { certificate: c, .. } => c.height,
            ConsensusMessage::FetchTransactions { height, .. } | ConsensusMessage::BlockTransactions { height, .. } => {
                *height
            }
        }
    }

    /// A name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ConsensusMessage::Proposal { .. } => "proposal",
            ConsensusMessage::Vote { .. } => "vote",
            ConsensusMessage::Certificate(_) => "certificate",
            ConsensusMessage::Decision { .. } => "decision",
            ConsensusMessage::FetchTransactions { .. } => "fetch_transactions",
            ConsensusMessage::BlockTransactions { .. } => "block_transactions",
        }
    }
}

/// Asks a peer for up to `max` committed blocks from height `from` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlocksRequest {
    pub from: BlockHeight,
    pub max: u32,
}

/// Consecutive committed blocks from the requested height (possibly none) with their commit
/// certificates, and the peer's head height (a claim, not a proof).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlocksResponse {
    pub head: BlockHeight,
    pub blocks: Vec<(Block, CommitCertificate)>,
}

/// What happens to a driver from outside, besides time passing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<P> {
    /// A peer's consensus message (not yet verified).
    Message { from: P, message: ConsensusMessage },
    /// The answer to a [`crate::Network::request_blocks`], or why there is none.
    Blocks { from: P, result: Result<BlocksResponse, String> },
    /// Transactions arrived in the mempool.
    WorkArrived,
}

/// The consensus step a signature is made at; ordered as within a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SignStep {
    Propose,
    Prevote,
    Precommit,
}

impl From<VoteKind> for SignStep {
    fn from(kind: VoteKind) -> Self {
        match kind {
            VoteKind::Prevote => SignStep::Prevote,
            VoteKind::Precommit => SignStep::Precommit,
        }
    }
}

/// What to sign and at which (height, round, step), so a guard can refuse double signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignRequest {
    pub height: BlockHeight,
    pub round: Round,
    pub step: SignStep,
    pub bytes: Vec<u8>,
}
