//! Signing for validators. The node sees only [`Signer`]; backends sit behind it:
//! - [`LocalSigner`]: an ed25519 key file (development);
//! - [`vault::VaultSigner`]: a Vault / OpenBao Transit key, one pinned version;
//! - [`remote::RemoteSigner`]: a `kms` daemon over gRPC, which holds the backend and guard.
//!
//! Local and Vault keys always sit behind the double-sign [`guard::Guard`]; the daemon puts
//! its own guard in front of its backend. [`SignerConfig`] is the `[signer]` config section.
//!
//! # Invariants
//! - A signer never returns a signature that does not verify under its `public_key`.
//! - A guarded key never signs two different messages at one (height, round, step), nor below
//!   a position it signed at, across restarts and crashes (the watermark is synced to disk
//!   before the backend is asked).
//! - Only the configured chain's consensus sign bytes are signed by a guarded key.
//! - Secret key material, Vault tokens and AppRole secret ids are never logged or shown by
//!   `Debug`.

mod config;
pub mod guard;
mod local;
pub mod remote;
pub mod sign_bytes;
mod signer;
pub mod vault;

pub use config::{SignerConfig, DEFAULT_STATE_FILE};
pub use local::LocalSigner;
pub use signer::{HealthFuture, SignFuture, SignRequest, Signer, SignerError, Step};
