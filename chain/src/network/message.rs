//! What validators send each other. Signatures are checked by the receiver before use.

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::SignedTransaction;
use consensus_driver::ConsensusMessage;
pub use consensus_driver::{BlocksRequest, BlocksResponse};

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum NetMessage {
    /// Proposals and votes, for the consensus driver.
    Consensus(ConsensusMessage),
    /// Admitted transactions, gossiped in batches (the receiver batch-verifies them).
    Transactions(Vec<SignedTransaction>),
}

impl NetMessage {
    /// The message's kind, a label of the metrics (`proposal`, `vote`, `transactions`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            NetMessage::Consensus(m) => m.kind(),
            NetMessage::Transactions(_) => "transactions",
        }
    }
}
