//! Consensus in the node: the `consensus-driver` crate's driver, run on a thread of its own
//! over the node's store, mempool, KMS signer, WAL file and libp2p network.

mod adapters;
mod app;
mod blocks;
mod inbox;
mod mailbox;
mod shell;
pub mod sync;

pub use adapters::FileWal;
pub use blocks::{build_block, commit, execute_block, Executed, Signatures};
pub use inbox::Inbox;
pub use mailbox::Mailbox;
pub use shell::{run, ConsensusError, Peers};

/// The consensus WAL (its format lives in `consensus-driver`) over a file in `dir`.
pub mod wal {
    pub use consensus_driver::wal::{Wal, WalEntry, WalError};

    use super::FileWal;

    /// Opens the WAL file in `dir` and returns it with the entries it holds.
    pub fn open(dir: &std::path::Path) -> Result<(Wal<FileWal>, Vec<WalEntry>), WalError> {
        Wal::open(FileWal::open(dir)?)
    }
}
