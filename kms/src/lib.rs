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
//! - Nothing secret or signable crosses a network in plaintext: Vault over `http://` and the
//!   node–daemon channel without TLS are allowed only to loopback hosts (127.0.0.0/8, ::1,
//!   `localhost`) or a Unix socket, and refused at start otherwise ([`loopback`]).
//! - The `kms` daemon reachable over a network serves only clients with a certificate signed
//!   by its configured CA (mutual TLS, checked in the handshake and on every call); the node
//!   trusts a daemon's public key only over such a channel, a Unix socket or loopback.
//! - Secret files (Vault token, AppRole secret id, local key file, TLS private keys) are
//!   refused when group or others may access them, and every writer in the repository
//!   writes them 0600 ([`secret_file`]).

mod config;
pub mod error;
pub mod guard;
mod local;
pub mod loopback;
pub mod remote;
pub mod secret_file;
pub mod sign_bytes;
mod signer;
pub mod vault;

pub use config::{SignerConfig, DEFAULT_STATE_FILE};
pub use error::{CertError, TransportError};
pub use local::LocalSigner;
pub use secret_file::SecretFileError;
pub use signer::{HealthFuture, SignFuture, SignRequest, Signer, SignerError, Step};
