//! The consensus driver: the `consensus` crate's Tendermint state machine run for a node,
//! with everything around it (signing, the WAL, gossip and relays, block checks, commit
//! certificates, catch-up, evidence) and no IO of its own. IO sits behind five small traits
//! ([`Clock`], [`Network`], [`ConsensusSigner`], [`WalStorage`], [`Application`]): the node
//! implements them with a monotonic clock, libp2p, the KMS, a file and RocksDB;
//! `consensus-sim` with simulated time, links, keys, memory and an in-memory chain, so the
//! simulator checks the code that runs in production.
//!
//! The driver is driven by three calls: [`Driver::handle`] for an [`Event`] (a peer's
//! message, a block response, work arriving), [`Driver::on_timers`] when
//! [`Driver::next_deadline`] is reached, and the constructor, which replays the WAL.
//!
//! # Invariants
//! - Every own proposal and vote is signed, then appended to the WAL (durable), then sent.
//!   A height's WAL entries stay until the height is committed; a node never leaves a height
//!   except by committing it, so its lock and its own votes are never forgotten.
//! - Nothing a peer sends is used before it is verified: signatures against the validator
//!   set of the message's height, a proposal's signer against the proposer of its (height,
//!   round) (before its block is assembled or executed), a block against its header rules and
//!   limits ([`validity`]) and then by execution.
//! - A proposal carries its block's header and transaction digests, not the transactions
//!   ([`chain_types::CompactBlock`]); it reaches the state machine only once the block is
//!   whole, every transaction checked against a digest the signed header commits to. Requests
//!   for transactions are never proof of anything and are answered from what the node holds,
//!   a bounded number per peer (`assembly`).
//! - Catching up needs proof: a commit certificate above our head, or messages of f + 1
//!   validators of our height signed for later heights. Blocks are fetched beside consensus,
//!   and committed only with a certificate that verifies against their height's set.
//! - Memory is bounded per validator and per peer: the core keeps a window of rounds, two
//!   proposals per round and four values per voter; later heights keep a few messages per
//!   validator ([`future`]); decisions for peers behind are sent once per relay interval.
//! - Equivocation is kept with both signed messages ([`Equivocation`]) and handed to the
//!   application to persist; anyone can check it with the validator's public key.
//!
//! # Deviations
//! - A block's timestamp must be above its parent's and at most [`BlockLimits`]'s drift ahead
//!   of the receiver's clock (a proposer's clock is trusted within that bound, not BFT time).

mod assembly;
mod catchup;
mod config;
mod driver;
mod error;
pub mod future;
mod height;
mod messages;
mod outputs;
mod sync;
mod timers;
mod traits;
mod types;
pub mod validity;
pub mod wal;

pub use chain_types::Equivocation;
pub use config::{BlockLimits, DriverConfig};
pub use driver::Driver;
pub use error::DriverError;
pub use height::{proposal_bytes, vote_bytes};
pub use traits::{Application, Clock, ConsensusSigner, Executed, Network, SignFailure, WalStorage};
pub use types::{BlocksRequest, BlocksResponse, ConsensusMessage, Event, SignRequest, SignStep};
pub use validity::BlockRejection;
