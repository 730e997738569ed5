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
//!   state (signature included). Each signature is verified once per node: at admission,
//!   or (for a proposal's transactions the mempool has not seen) as one batch when the
//!   proposal executes. A block with a verified commit certificate (block sync) is executed
//!   without re-checking signatures, but its state root must still match.
//! - A node behind its peers catches up through block sync and commits only blocks whose
//!   certificate verifies against the validator set of their height.
//! - The validator set of height `h` is the treasury's current set in the state after block
//!   `h - 1`; it changes only after the last block of an epoch.
//! - Every transaction included in a block has a stored outcome: success, or the typed
//!   reason it failed.

mod admission;
pub mod config;
pub mod consensus;
pub mod membership;
pub mod mempool;
pub mod metrics;
pub mod network;
pub mod node;
mod node_queries;
pub mod runtime;
pub mod signer_health;
pub mod store;
pub mod validators;
pub mod verification;
