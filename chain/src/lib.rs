//! The validator node: RocksDB store, execution runtime, mempool, block production and the
//! JSON-RPC server, wired together.
//!
//! # Invariants
//! - Blocks are decided by the Tendermint state machine (`consensus` crate) and committed
//!   only with a commit certificate that verifies against the validator set (a quorum of
//!   precommits over the block id). Every proposal and vote is signed through the `Signer`
//!   and fsynced to the consensus WAL before it leaves; the WAL is replayed on restart.
//! - A block and all its effects are written in one fsynced batch: after a crash the node
//!   resumes at the last committed height with the identical state root.
//! - Transactions are admitted to the mempool only after full validation against head
//!   state (signature included); their signature is not checked again when the block
//!   built from them executes.
//! - Every transaction included in a block has a stored outcome: success, or the typed
//!   reason it failed.

pub mod config;
pub mod consensus;
pub mod mempool;
pub mod network;
pub mod node;
pub mod runtime;
pub mod store;
