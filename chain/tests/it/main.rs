//! Runtime and store behaviour on a real RocksDB store seeded from a generated genesis.

mod harness;
mod runtime_accounts;
mod runtime_calls;
mod runtime_validation;
mod store_durability;
