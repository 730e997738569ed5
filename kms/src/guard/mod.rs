//! The double-sign guard: sits in front of any [`Signer`] and refuses what could make the
//! key equivocate.
//!
//! # Invariants
//! - A request below the watermark's (height, round, step) is refused.
//! - At the watermark's position, the same bytes get the stored signature (or the backend is
//!   asked again for them); other bytes are refused.
//! - The watermark is advanced and on disk (file and directory synced) before the backend is
//!   asked; check and advance happen under one lock, and the lock is held until the answer.
//! - Only this chain's consensus sign bytes at the claimed position are signed
//!   ([`crate::sign_bytes`]), and nothing above `max_height` when one is set.

mod watermark;

use std::path::PathBuf;
use std::sync::Arc;

use chain_types::{sha256, PublicKey, Signature};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

pub use watermark::{import, read, Imported, StateFile, Watermark};

use crate::{sign_bytes, HealthFuture, SignFuture, SignRequest, Signer, SignerError};

/// Where the guard keeps its watermark, and how high it may sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    pub state_file: PathBuf,
    /// Refuse to sign above this height (e.g. before moving the key to another host).
    #[serde(default)]
    pub max_height: Option<u64>,
}

/// A [`Signer`] that refuses double signing, in front of another signer.
pub struct Guard {
    backend: Arc<dyn Signer>,
    public_key: PublicKey,
    chain_id: String,
    max_height: Option<u64>,
    state: Mutex<StateFile>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("public_key", &self.public_key).field("chain_id", &self.chain_id).finish()
    }
}

impl Guard {
    /// Opens the state file (taking it exclusively) for `backend`'s key on `chain_id`.
    pub fn open(backend: Arc<dyn Signer>, chain_id: &str, config: &GuardConfig) -> Result<Guard, SignerError> {
        let state = StateFile::open(&config.state_file)?;
        let public_key = backend.public_key();
        if let Some(w) = state.current() {
            if w.public_key != public_key {
                return Err(SignerError::State {
                    path: config.state_file.display().to_string(),
                    message: format!(
                        "holds the watermark of {}, but the signer's key is {public_key}; \
                         a new key needs its own state file",
                        w.public_key
                    ),
                });
            }
        }
        Ok(Guard {
            backend,
            public_key,
            chain_id: chain_id.into(),
            max_height: config.max_height,
            state: Mutex::new(state),
        })
    }

    /// The current watermark (for status and export).
    pub async fn watermark(&self) -> Option<Watermark> {
        self.state.lock().await.current().cloned()
    }

    async fn guarded_sign(&self, request: &SignRequest) -> Result<Signature, SignerError> {
        sign_bytes::check(&self.chain_id, request).map_err(SignerError::Refused)?;
        if let Some(max) = self.max_height.filter(|max| request.height > *max) {
            return Err(SignerError::Refused(format!(
                "height {} is above the configured max_height {max}",
                request.height
            )));
        }
        let digest = sha256(&request.bytes);
        let mut state = self.state.lock().await;
        if let Some(w) = state.current() {
            if request.position() < w.position() {
                return Err(SignerError::Refused(format!(
                    "height {} round {} {:?} is below the watermark (height {} round {} {:?})",
                    request.height, request.round, request.step, w.height, w.round, w.step
                )));
            }
            if request.position() == w.position() && w.bytes_sha256 != digest {
                return Err(SignerError::Refused(format!(
                    "already signed other bytes at height {} round {} {:?}",
                    w.height, w.round, w.step
                )));
            }
            if let (true, Some(sig)) = (request.position() == w.position(), w.signature) {
                return Ok(sig);
            }
        }
        let mut next = Watermark {
            public_key: self.public_key,
            height: request.height,
            round: request.round,
            step: request.step,
            bytes_sha256: digest,
            signature: None,
        };
        if state.current() != Some(&next) {
            state.store(next.clone())?;
        }
        let signature = self.backend.sign(request).await?;
        if !self.public_key.verify(&request.bytes, &signature) {
            return Err(SignerError::BadSignature);
        }
        next.signature = Some(signature);
        state.store(next)?;
        Ok(signature)
    }
}

impl Signer for Guard {
    fn public_key(&self) -> PublicKey {
        self.public_key
    }

    fn sign<'a>(&'a self, request: &'a SignRequest) -> SignFuture<'a> {
        Box::pin(self.guarded_sign(request))
    }

    fn health(&self) -> HealthFuture<'_> {
        self.backend.health()
    }
}

#[cfg(test)]
mod tests;
