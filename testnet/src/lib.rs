//! A local testnet on loopback: genesis and keys for N validators, one `chain` process per
//! validator, a demo workload of signed transfers, a live view of height and throughput, and
//! the `bench` throughput and latency benchmark.
//!
//! # Layout of a testnet directory
//! - `genesis/`: `genesis.json`, `validators/<id>/*.json`, `accounts/<id>.json`
//! - `nodes/<id>/`: each node's home (`config.toml`, `data/`, `node.log`)
//! - `pids`: the running node processes, for `testnet down`
//!
//! # Invariants
//! - Every process `up` starts is stopped when `up` ends (Ctrl-C, `--duration`, or an
//!   error); `down` stops what an interrupted `up` left behind.
//! - Everything binds to 127.0.0.1.

pub mod bench;
pub mod chaos;
pub mod launch;
pub mod layout;
pub mod openbao;
pub mod signing;
pub mod workload;

pub use launch::{Network, NetworkOptions};
pub use layout::Layout;
pub use workload::{Workload, WorkloadStats};
