use std::future::Future;
use std::pin::Pin;

use chain_types::{BlockHeight, PublicKey, Signature};

/// The consensus step a signature is for; ordered as they happen within a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("cannot load key from {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error("signer backend failed: {0}")]
    Backend(String),
    #[error("returned signature does not verify under the signer's public key")]
    BadSignature,
}

pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<Signature, SignerError>> + Send + 'a>>;

/// A validator's signing key, wherever it lives.
pub trait Signer: Send + Sync {
    fn public_key(&self) -> PublicKey;
    fn sign<'a>(&'a self, request: &'a SignRequest) -> SignFuture<'a>;
}
