//! NEAR-compatible primitives for the private chain: account ids, ed25519 keys and signatures,
//! transactions and actions, blocks, commit certificates and execution outcomes.
//!
//! # Invariants
//! - Every wire type is borsh-encoded exactly as nearcore / near-api-js 7.2.0 encode it:
//!   little-endian integers, `u32` length-prefixed strings and vectors, enum tags as `u8`.
//!   `decode(encode(x)) == x` and `encode(decode(b)) == b` for every accepted `b`
//!   (checked against the byte vectors made by near-api-js and by property tests).
//! - A transaction is signed over `sha256(borsh(Transaction))`; that digest is its hash.
//!   A signature over the raw bytes does not verify.
//! - Blocks and headers are hashed with sha3-256 over their borsh encoding; a block's id is
//!   the hash of its header, which commits to the signed transactions (signatures included)
//!   through the Merkle root `tx_root`, to their outcomes through `outcome_root` and to the
//!   next height's validator set through `next_bp_hash`.
//! - Account ids follow the near-account-id rules (2..=64 chars, `a-z 0-9 - _ .`, no leading,
//!   trailing or doubled separator); decoding an invalid id fails.
//! - Keys other than ed25519 (key type 0) are rejected when decoded.
//!
//! This crate does no IO.

mod account;
mod block;
mod certificate;
mod changes;
mod cost;
mod crypto;
mod error;
mod evidence;
mod hash;
pub mod merkle;
mod outcome;
mod transaction;
mod views;

pub use account::{is_implicit, AccountId, AccountIdRef};
pub use block::{validators_hash, Block, BlockHeader, CompactBlock};
pub use certificate::{
    quorum, CertificateError, CommitCertificate, CommitSignature, ProposalSignBytes, VoteKind, VoteSignBytes,
};
pub use changes::{StateChangeCause, StateChangeRecord};
pub use cost::{
    action_cost, max_transaction_cost, total_cost, BYTES_PER_COST_UNIT, MAX_ACTIONS_PER_TRANSACTION, TX_BASE_COST,
};
pub use crypto::{KeyParseError, PublicKey, SecretKey, Signature};
pub use error::{ActionError, ActionErrorKind, ActionsValidationError, InvalidTxError, TxExecutionError};
pub use evidence::{Equivocation, EvidenceError};
pub use hash::{sha256, sha3_256, to_borsh, CryptoHash, HashParseError};
pub use outcome::{ExecutionOutcome, ExecutionStatus};
pub use transaction::{
    verify_signatures_batch, AccessKey, AccessKeyPermission, Action, AddKeyAction, CreateAccountAction, DelegateAction,
    DeleteAccountAction, DeleteKeyAction, DeployContractAction, FunctionCallAction, FunctionCallPermission,
    SignedDelegateAction, SignedTransaction, StakeAction, Transaction, TransferAction,
};
pub use views::{option_u128_string, u128_string, Account, Balance, BlockHeight, Nonce};
