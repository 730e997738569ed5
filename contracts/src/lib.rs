//! Native modules: account-bound programs that FunctionCall actions dispatch to.
//!
//! A module sees the chain only through [`Host`]: its own account's storage, who called it,
//! the attached deposit, and transfers out of its own account. The runtime implements
//! [`Host`] over a per-transaction overlay, so a module call is atomic with the transaction
//! that carries it: if the module returns an error, every write it made is discarded.
//!
//! # Invariants
//! - A module can only write its own account's storage and spend its own balance.
//! - `call` is deterministic: same state, same input, same result on every node. Modules
//!   have no clock, randomness or IO besides the host.
//!
//! The treasury, registrar and staking modules are built on this in their own issue; this
//! crate so far holds the interface the runtime dispatches through.

mod error;
mod host;

pub use error::ModuleError;
pub use host::{Host, ModuleRegistry, NativeModule};
