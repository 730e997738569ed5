//! Native modules: account-bound programs that FunctionCall actions dispatch to.
//!
//! - [`Treasury`]: the M-of-N multisig holding the undistributed supply (NEAR multisig2's
//!   methods), the only source of new top-level accounts (through the registrar) and of
//!   validator-set changes.
//! - [`Registrar`]: creates top-level accounts, for the treasury only.
//! - [`staking`]: the validator set and its equally divided, constant total stake.
//! - [`Workspace`]: organizations, their members' roles, invitations and credentials.
//!
//! A module sees the chain only through [`Host`]: its own account's storage, who called it,
//! the attached deposit, transfers out of its own account, account and key creation, and
//! nested calls. The runtime implements [`Host`] over a per-transaction overlay, so a module
//! call is atomic with the transaction that carries it: if the module returns an error,
//! every write it made is discarded.
//!
//! # Invariants
//! - A module can only write its own account's storage and spend its own balance.
//! - `call` is deterministic: same state, same input, same result on every node. Modules
//!   have no clock, randomness or IO besides the host.

mod error;
mod host;
pub mod registrar;
pub mod staking;
pub mod treasury;
pub mod workspace;

pub use error::ModuleError;
pub use host::{AtomicFn, Host, ModuleRegistry, NativeModule};
pub use registrar::Registrar;
pub use treasury::Treasury;
pub use workspace::Workspace;

/// A module's storage entries (key, value), as written at genesis.
pub type StorageEntries = Vec<(Vec<u8>, Vec<u8>)>;

/// Parses a call's JSON arguments (an empty body counts as `{}`).
pub(crate) fn json_args<T: serde::de::DeserializeOwned>(args: &[u8]) -> Result<T, ModuleError> {
    let args = if args.is_empty() { b"{}".as_slice() } else { args };
    serde_json::from_slice(args).map_err(|e| ModuleError::InvalidArgs(e.to_string()))
}

/// A call's JSON result.
pub(crate) fn json_value<T: serde::Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, ModuleError> {
    serde_json::to_vec(v).map_err(|e| ModuleError::Rejected(format!("cannot encode the result: {e}")))
}
