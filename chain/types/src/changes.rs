//! Each state write a block makes, kept with its cause: what NEAR's `changes` methods report.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::CryptoHash;

/// Why a state entry was written (NEAR's `StateChangeCause`, the kinds that happen here).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum StateChangeCause {
    /// Written from the genesis file.
    InitialState,
    /// A transaction's access-key nonce.
    TransactionProcessing { tx_hash: CryptoHash },
    /// A transaction's actions. They run in the transaction's own block as its one receipt,
    /// whose id is the transaction hash.
    ReceiptProcessing { receipt_hash: CryptoHash },
    /// An epoch's end: the treasury's pending validator set became current.
    ValidatorAccountsUpdate,
}

/// One state write: the raw key, the new value (`None` deletes) and its cause.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct StateChangeRecord {
    pub cause: StateChangeCause,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}
