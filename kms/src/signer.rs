use std::future::Future;
use std::pin::Pin;

use chain_types::{BlockHeight, PublicKey, Signature};
use serde::{Deserialize, Serialize};

/// The consensus step a signature is for; ordered as they happen within a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Propose,
    Prevote,
    Precommit,
}

/// What to sign and at which (height, round, step), so a guard can refuse double signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignRequest {
    pub height: BlockHeight,
    pub round: u32,
    pub step: Step,
    pub bytes: Vec<u8>,
}

impl SignRequest {
    /// The position the request signs at; requests are ordered by it.
    pub fn position(&self) -> (BlockHeight, u32, Step) {
        (self.height, self.round, self.step)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("cannot load key from {path}: {message}")]
    KeyFile { path: String, message: String },
    /// The double-sign guard said no: signing would be unsafe. Retrying cannot help.
    #[error("refused: {0}")]
    Refused(String),
    /// The backend could not be reached or did not answer in time; a later try may succeed.
    #[error("signer unavailable: {0}")]
    Unavailable(String),
    #[error("signer backend failed: {0}")]
    Backend(String),
    #[error("returned signature does not verify under the signer's public key")]
    BadSignature,
    /// The guard's state file could not be read or written; nothing is signed without it.
    #[error("signer state {path}: {message}")]
    State { path: String, message: String },
    /// Bad settings, found at start-up.
    #[error("signer configuration: {0}")]
    Config(String),
    /// An unsafe or malformed transport (plaintext across a network, TLS settings), found at
    /// start-up before anything is sent.
    #[error(transparent)]
    Transport(#[from] crate::error::TransportError),
    /// A secret file that group or others may read, or that cannot be read.
    #[error(transparent)]
    SecretFile(#[from] crate::secret_file::SecretFileError),
}

impl SignerError {
    /// Whether the same request may succeed later (the backend was down, not the request bad).
    pub fn is_retryable(&self) -> bool {
        matches!(self, SignerError::Unavailable(_) | SignerError::Backend(_) | SignerError::BadSignature)
    }
}

pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<Signature, SignerError>> + Send + 'a>>;
pub type HealthFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SignerError>> + Send + 'a>>;

/// A validator's signing key, wherever it lives.
pub trait Signer: Send + Sync {
    fn public_key(&self) -> PublicKey;
    fn sign<'a>(&'a self, request: &'a SignRequest) -> SignFuture<'a>;
    /// Whether the backend can sign now (reachable, logged in, key present). A key in
    /// memory always can.
    fn health(&self) -> HealthFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}
