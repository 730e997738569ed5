//! Signing for validators. The node sees only [`Signer`]; backends sit behind it.
//!
//! So far: the local key-file backend (the development default). The Vault/OpenBao Transit
//! backend, the double-sign guard and the remote signer daemon come with the KMS issue and
//! implement the same trait.
//!
//! # Invariants
//! - A signer never returns a signature that does not verify under its `public_key`.
//! - Secret key material is never logged or shown by `Debug`.

mod local;
mod signer;

pub use local::LocalSigner;
pub use signer::{SignFuture, SignRequest, Signer, SignerError, Step};
