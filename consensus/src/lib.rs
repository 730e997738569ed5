//! Consensus among validators of equal voting power: Tendermint as a pure state machine.
//!
//! [`Tendermint::apply`] takes one [`Input`] (a verified proposal or vote, a timer expiry, a
//! value to propose, a replayed WAL entry) and returns [`Output`]s (messages to sign and
//! broadcast, timers to set, a decision with its commit certificate, equivocation evidence).
//! A driver does the IO: signing, the WAL, the network, timers, block validity.
//!
//! # Invariants
//! - Quorum is floor(2n/3) + 1 of n equal votes; f + 1 = n - quorum + 1.
//! - The proposer of (height, round) is validator `(height + round) mod n`.
//! - At most one message is produced per (height, round, step), also after a restart whose
//!   own WAL messages were replayed: the lock implied by a replayed precommit is restored.
//! - A decision needs the round's proposal, judged valid by the driver, and a quorum of
//!   precommits for its id; the precommits are returned as the commit certificate.
//! - Conflicting votes or proposals from one validator are kept as [`Evidence`] and reported
//!   once per (validator, round, step).
//! - Bounded whatever peers send: rounds more than [`ROUND_WINDOW`] above the current one
//!   are not kept (each validator's highest such round is noted, and f + 1 of them move us
//!   there); at most [`MAX_PROPOSALS_PER_ROUND`] proposals per round and
//!   [`MAX_VALUES_PER_VOTER`] values per validator, round and kind.
//! - Pure: no IO, clock, randomness, `unwrap` or `panic`.
//!
//! # Deviations from the paper
//! - The proposer also schedules the propose timeout (L21), in case its value never comes.
//! - An own proposal is kept at once; an own vote counts only when the driver hands it back
//!   signed (as [`Input::Vote`]), so a vote the signer could not sign never completes a quorum
//!   (a node would otherwise precommit on a prevote nobody received, and its signer's
//!   watermark then refuses that prevote for good).
//! - Round skip (L55) jumps to the highest round that has f + 1 senders (for rounds above the
//!   window: the highest round f + 1 validators reached).
//! - L36 and L49 fire for any kept proposal of the round (up to two: an equivocating
//!   proposer's second proposal may be the one a quorum backs); L22 and L28 for the first
//!   that applies.

mod keeper;
mod params;
mod state_machine;
mod types;
mod validator_set;

#[cfg(test)]
mod tests;

pub use chain_types::quorum;
pub use keeper::{Added, VoteKeeper, MAX_VALUES_PER_VOTER};
pub use params::TimeoutParams;
pub use state_machine::{Tendermint, MAX_PROPOSALS_PER_ROUND, ROUND_WINDOW};
pub use types::*;
pub use validator_set::{Validator, ValidatorSet};
