//! What validators send each other. Signatures are checked by the receiver before use.

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::{Block, Signature, SignedTransaction};
use consensus::{Proposal, Vote};

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum NetMessage {
    Proposal { proposal: Proposal, block: Block, signature: Signature },
    Vote { vote: Vote, signature: Signature },
    Transaction(SignedTransaction),
}

/// The response to every message: received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Ack;
