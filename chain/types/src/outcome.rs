//! The recorded result of every transaction included in a block.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::{AccountId, BlockHeight, CryptoHash, TxExecutionError};

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum ExecutionStatus {
    /// Applied; carries the return value of the last action (empty for non-calls).
    SuccessValue(Vec<u8>),
    /// Not applied (or rolled back): why.
    Failure(TxExecutionError),
}

/// A transaction's outcome, stored under its hash when its block commits.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ExecutionOutcome {
    pub tx_hash: CryptoHash,
    pub signer_id: AccountId,
    pub receiver_id: AccountId,
    pub block_height: BlockHeight,
    pub block_hash: CryptoHash,
    pub status: ExecutionStatus,
    pub logs: Vec<String>,
}

impl ExecutionOutcome {
    pub fn is_success(&self) -> bool {
        matches!(self.status, ExecutionStatus::SuccessValue(_))
    }
}
