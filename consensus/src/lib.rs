//! Consensus over a set of validators with equal voting power.
//!
//! So far: the validator set (order, quorum, proposer rotation) that block production and
//! commit-certificate verification share. The Tendermint state machine comes with the BFT
//! issue and will use the same set.
//!
//! # Invariants
//! - Quorum is floor(2n/3) + 1 of n equal votes; f + 1 = n - quorum + 1.
//! - The proposer of (height, round) is validator `(height + round) mod n`, in genesis order.
//! - Pure: no IO, clock or randomness.

mod validator_set;

pub use chain_types::quorum;
pub use validator_set::{Validator, ValidatorSet};
