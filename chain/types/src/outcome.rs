//! The recorded result of every transaction included in a block.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::{sha3_256, to_borsh, AccountId, BlockHeight, CryptoHash, TxExecutionError};

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
    /// The leaf of this outcome under its block's `outcome_root`: sha3-256 of the borsh of
    /// `(tx_hash, signer_id, receiver_id, status, logs)`. The block fields are left out (the
    /// root is part of the block they name).
    pub fn leaf_hash(&self) -> CryptoHash {
        Self::leaf_of(&self.tx_hash, &self.signer_id, &self.receiver_id, &self.status, &self.logs)
    }

    /// The bytes whose sha3-256 is [`ExecutionOutcome::leaf_hash`].
    pub fn leaf_bytes(&self) -> Vec<u8> {
        Self::leaf_bytes_of(&self.tx_hash, &self.signer_id, &self.receiver_id, &self.status, &self.logs)
    }

    /// [`ExecutionOutcome::leaf_hash`] from the parts, before the block is known.
    pub fn leaf_of(
        tx_hash: &CryptoHash,
        signer_id: &AccountId,
        receiver_id: &AccountId,
        status: &ExecutionStatus,
        logs: &[String],
    ) -> CryptoHash {
        sha3_256(&Self::leaf_bytes_of(tx_hash, signer_id, receiver_id, status, logs))
    }

    /// The bytes whose sha3-256 is the leaf: borsh `(tx_hash, signer_id, receiver_id,
    /// status, logs)` (what a light client is given to check an outcome).
    pub fn leaf_bytes_of(
        tx_hash: &CryptoHash,
        signer_id: &AccountId,
        receiver_id: &AccountId,
        status: &ExecutionStatus,
        logs: &[String],
    ) -> Vec<u8> {
        to_borsh(&(tx_hash, signer_id, receiver_id, status, logs))
    }

    pub fn is_success(&self) -> bool {
        matches!(self.status, ExecutionStatus::SuccessValue(_))
    }
}
