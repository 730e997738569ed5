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
    /// The node would talk to its kms daemon in plaintext across a network.
    #[error(
        "refusing the kms daemon at {address}: expected https:// with a [tls] section, a unix: socket, \
         or http:// to 127.0.0.1, ::1 or localhost; found plaintext http:// to the non-loopback host {host} \
         (see `kms tls init`)"
    )]
    PlaintextRemote { address: String, host: String },
    /// The daemon would serve signatures in plaintext on a non-loopback address.
    #[error(
        "refusing to listen on {listen} without TLS: expected a loopback address (127.0.0.0/8, ::1), \
         a unix: socket, or a [tls] section (see `kms tls init`); found the non-loopback address {listen}"
    )]
    PlaintextListen { listen: String },
    /// The address and the TLS settings do not go together.
    #[error("{what} `{address}`: expected {expected}, found {found}")]
    TlsMismatch { what: &'static str, address: String, expected: &'static str, found: &'static str },
    #[error("{what} `{address}`: expected {expected}, found {found}")]
    BadAddress { what: &'static str, address: String, expected: &'static str, found: String },
    #[error("cannot listen on {listen}: {source}")]
    Bind { listen: String, source: std::io::Error },
    /// Another process answers on the socket: two daemons must not serve one validator.
    #[error("expected no process on the socket {}, found one answering (another kms daemon?)", path.display())]
    SocketInUse { path: PathBuf },
    /// A certificate or key file that does not hold what it should.
    #[error("{}: expected {expected}, found {found}", path.display())]
    Pem { path: PathBuf, expected: &'static str, found: String },
    #[error(transparent)]
    SecretFile(#[from] SecretFileError),
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
