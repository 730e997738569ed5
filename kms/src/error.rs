//! Start-up errors of the signer's transports (Vault, the node–daemon channel) and of
//! certificate generation. [`crate::SignerError`] wraps them.

use std::path::PathBuf;

use crate::secret_file::SecretFileError;

/// How a node reaches a signer, or a daemon listens, is unsafe or malformed. Found at start,
/// before anything is sent.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Vault over `http://` to a host that is not loopback: the token would cross the network
    /// in clear.
    #[error(
        "refusing Vault at {address}: expected https:// (or http:// to 127.0.0.1, ::1 or localhost), \
         found http:// to the non-loopback host {host}; the token would cross the network in clear \
         (use https://, with ca_cert for a private CA)"
    )]
    PlaintextVault { address: String, host: String },
}

/// `kms tls init` could not make or write the certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("generating the {what}: {message}")]
    Generate { what: String, message: String },
    #[error(
        "{name}: expected a name of letters, digits, `.`, `-` or `_` other than `ca` and `server`, found `{name}`"
    )]
    BadClientName { name: String },
    #[error("expected at least one server name (DNS name or IP address), found none")]
    NoServerName,
    #[error("{} already exists; not overwriting certificates or keys (choose another --out)", path.display())]
    Exists { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    SecretFile(#[from] SecretFileError),
}
