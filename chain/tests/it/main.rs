//! Runtime and store behaviour on a real RocksDB store seeded from a generated genesis.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

mod block_sync;
mod consensus_wal;
mod fuzz_rpc;
mod harness;
mod mempool_quota;
mod mempool_signatures;
mod network;
mod registrar;
mod runtime_accounts;
mod runtime_calls;
mod runtime_validation;
mod staking;
mod store_durability;
mod treasury;
mod treasury_members;
mod treasury_pending;
mod treasury_props;
mod workspace;
