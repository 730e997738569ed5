use chain_types::{CertificateError, CryptoHash};

/// Faults that stop the driver (and the node): the store, the WAL, or a decision that cannot
/// be carried out. Everything a peer can cause is handled (logged and dropped) instead.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("application: {0}")]
    App(Box<dyn std::error::Error + Send + Sync>),
    #[error("consensus WAL: {0}")]
    Wal(#[from] crate::wal::WalError),
    #[error("consensus WAL: {0}")]
    WalIo(#[from] std::io::Error),
    #[error("own commit certificate does not verify: {0}")]
    Certificate(#[from] CertificateError),
    #[error("decided block {0} is not known locally")]
    UnknownDecision(CryptoHash),
    #[error("asked to sign without a signer")]
    NoSigner,
}

impl DriverError {
    pub fn app(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        DriverError::App(Box::new(e))
    }
}
