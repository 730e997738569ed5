//! Start-up errors of the signer's transports (Vault, the node–daemon channel) and of
//! certificate generation. [`crate::SignerError`] wraps them.

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
