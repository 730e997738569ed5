//! A seeded, deterministic simulation of the production consensus driver
//! (`consensus-driver`): every node runs the driver the validator binary runs, over simulated
//! time, links, keys, an in-memory WAL (the real record format) and an in-memory chain.
//!
//! Blocks carry transactions: a client submits one every 25 simulated ms to a node, whose
//! gossip reaches each other node with some probability (and not across the partition or on a
//! dropped link), so proposals, which name transactions by digest, often lack some at a
//! receiver, which fetches them.
//!
//! Every run is a function of its seed: the scenario (validator count, validator-set changes
//! at epoch boundaries, Byzantine roles, link delays, drop rate, a partition that heals, a
//! crash and restart from the WAL with a torn tail, clock skew) and every event order come
//! from one ChaCha stream, so the same seed gives the same trace.
//!
//! Each run checks
//! - **agreement**: no two honest nodes commit different blocks at one height;
//! - **validity**: honest nodes commit only blocks an honest node accepts (no transaction
//!   twice, none with a bad signature);
//! - **no double signing**: no honest key signs two different messages at one position;
//! - **bounded memory**: no honest driver holds more than [`MEMORY_BOUND`] messages;
//! - **liveness**: once the network heals (no drops, partition over, crashed nodes back),
//!   every honest node commits two more heights within a bounded simulated time.
//!
//! Byzantine validators (at most f of every set): see [`Role`].

mod app;
mod byzantine;
mod io;
mod node;
mod run;
mod scenario;

pub use run::{config, run, Report, Violation, MEMORY_BOUND};
pub use scenario::{Epochs, Role, Scenario};
