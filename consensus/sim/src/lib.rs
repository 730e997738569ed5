//! A seeded, deterministic simulation of the Tendermint core (`consensus`).
//!
//! Every run is a function of its seed: the scenario (validator count, Byzantine roles, link
//! delays, drop rate, a partition that heals, a crash and restart from the WAL) and every
//! event order come from one ChaCha stream, so the same seed gives the same trace.
//!
//! Each run checks
//! - **agreement**: no two honest nodes decide different values at one height;
//! - **validity**: honest nodes decide only values the driver judged valid;
//! - **liveness**: once the network heals (no drops, partition over, crashed nodes back),
//!   every honest node decides two more heights within a bounded simulated time.
//!
//! Byzantine validators (at most f of them): a double voter, an equivocating proposer, a
//! proposer of invalid values, and twins (two nodes running one validator key).

mod node;
mod run;
mod scenario;

pub use run::{run, Report, Violation};
pub use scenario::{Role, Scenario};
