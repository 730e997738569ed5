//! What validators send each other. Signatures are checked by the receiver before use.

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::{Block, BlockHeight, CommitCertificate, Signature, SignedTransaction};
use consensus::{Proposal, Vote};

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum NetMessage {
    Proposal {
        proposal: Proposal,
        block: Block,
        signature: Signature,
    },
    Vote {
        vote: Vote,
        signature: Signature,
    },
    /// Admitted transactions, gossiped in batches (the receiver batch-verifies them).
    Transactions(Vec<SignedTransaction>),
}

/// The response to every message: received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Ack;

/// Asks a peer for up to `max` committed blocks from height `from` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlocksRequest {
    pub from: BlockHeight,
    pub max: u32,
}

/// Consecutive committed blocks from the requested height (possibly none) with their commit
/// certificates, and the peer's head height (the sync target).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlocksResponse {
    pub head: BlockHeight,
    pub blocks: Vec<(Block, CommitCertificate)>,
}
