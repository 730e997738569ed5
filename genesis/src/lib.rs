//! The genesis file: schema, validation, canonical hash, presets and key files.
//!
//! # Invariants
//! - [`Genesis::load`] returns a genesis only if every check of [`validate`] passes; each
//!   problem is reported with the JSON path of the field it concerns.
//! - [`Genesis::hash`] is sha3-256 over a canonical JSON encoding (object keys sorted, no
//!   whitespace, defaults filled in): the same content in any key order or layout gives the
//!   same hash, any change of value gives another.
//! - Supply accounting is exact: treasury balance + account balances + total stake equals
//!   total supply. Stake is divided equally among validators; the remainder of the division
//!   (fewer units than validators) goes one unit each to the first validators.
//! - TLAs exist at genesis only because the genesis file names them; after genesis, the
//!   registrar is the only way to create one.

mod canonical;
pub mod deploy;
mod error;
mod evidence;
mod keyfile;
mod preset;
mod schema;
mod validate;

pub use error::{GenesisError, Problem};
pub use evidence::{verify_evidence, EvidenceCheckError, Offender, VerifiedEvidence};
pub use keyfile::peer_id_of;
pub use keyfile::{KeyFile, NetworkKeyFile};
pub use preset::{generate, Generated, GeneratedValidator, NewGenesisOptions, Preset};
pub use schema::{
    split_stake, AccountSpec, ConsensusParams, Genesis, Limits, Organization, RegistrarSpec, TreasuryMember,
    TreasurySpec, ValidatorSpec, WorkspaceSpec, DEFAULT_MAX_BLOCK_BYTES, DEFAULT_MAX_CLOCK_DRIFT_MS,
    DEFAULT_MEMPOOL_BYTES, DEFAULT_MEMPOOL_PER_ACCOUNT,
};
pub use validate::validate;

/// Now, in milliseconds since the Unix epoch: the unit of `genesis_time_ms` and of block
/// timestamps. A clock before 1970 reads as 0.
pub fn unix_time_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}
