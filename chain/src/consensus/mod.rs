//! Consensus in the node: the `consensus` crate's Tendermint state machine, driven here with
//! the store, the mempool, the signer, timers and the WAL.

mod blocks;
mod driver;
pub mod sync;
pub mod wal;

pub use blocks::{build_block, execute_block, Executed, Signatures};
pub use driver::{run, DriverError, Peers};
pub use sync::{catch_up, SyncError};
