//! A light client: trusts only the genesis file, and from it verifies block headers by their
//! commit certificates, follows validator-set changes through certified epoch-boundary
//! headers, and checks proofs of transactions, outcomes and state against certified headers.
//!
//! # Invariants
//! - A header is accepted only with a certificate of a quorum (floor(2n/3) + 1) of distinct
//!   validators of the set that decides its height, over this chain id. The set of epoch 0
//!   comes from the genesis file; the set of epoch `e + 1` only from the last header of
//!   epoch `e` (certified by epoch `e`'s set), whose `next_bp_hash` commits to it.
//! - Within an epoch the set does not change: a header whose `next_bp_hash` names another set
//!   before its epoch's last block is refused.
//! - A transaction is proven by its digest's path to the header's `tx_root`, its outcome by
//!   the outcome leaf's path to `outcome_root`; a state entry by a Jellyfish Merkle proof
//!   (existence or absence) against the `prev_state_root` of the certified header after it.
//!
//! The wire forms are the `chain` objects of the node's NEAR-shaped answers
//! (`next_light_client_block`, `light_client_proof`, `query` with `include_proof`): see
//! [`wire`].

mod client;
mod error;
pub mod wire;

pub use client::{LightClient, VerifiedOutcome, VerifiedState};
pub use error::LightClientError;
