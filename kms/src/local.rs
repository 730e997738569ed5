use std::path::Path;

use chain_types::{PublicKey, SecretKey};
use serde::Deserialize;

use crate::{SignFuture, SignRequest, Signer, SignerError};

/// Signs with an ed25519 key read from a NEAR credentials file
/// (`{"account_id","public_key","secret_key"}`).
#[derive(Debug)]
pub struct LocalSigner {
    key: SecretKey,
}

#[derive(Deserialize)]
struct CredentialsFile {
    public_key: PublicKey,
    secret_key: SecretKey,
}

impl LocalSigner {
    pub fn new(key: SecretKey) -> Self {
        LocalSigner { key }
    }

    pub fn from_file(path: &Path) -> Result<Self, SignerError> {
        let err = |message: String| SignerError::KeyFile { path: path.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let file: CredentialsFile = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
        if file.secret_key.public_key() != file.public_key {
            return Err(err("public_key does not match secret_key".into()));
        }
        Ok(LocalSigner { key: file.secret_key })
    }
}

impl Signer for LocalSigner {
    fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    fn sign<'a>(&'a self, request: &'a SignRequest) -> SignFuture<'a> {
        let sig = self.key.sign(&request.bytes);
        Box::pin(async move { Ok(sig) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Step;

    #[test]
    fn signs_verifiably_and_rejects_mismatched_file() {
        let dir = std::env::temp_dir().join(format!("kms-local-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = SecretKey::from_seed([3; 32]);
        let path = dir.join("k.json");
        let json =
            serde_json::json!({"account_id": "v0", "public_key": key.public_key(), "secret_key": key.to_string()});
        std::fs::write(&path, json.to_string()).unwrap();
        let signer = LocalSigner::from_file(&path).unwrap();
        let req = SignRequest { height: 1, round: 0, step: Step::Precommit, bytes: b"vote".to_vec() };
        let sig = futures_lite_block_on(signer.sign(&req)).unwrap();
        assert!(signer.public_key().verify(b"vote", &sig));

        let other = SecretKey::from_seed([4; 32]);
        let bad =
            serde_json::json!({"account_id": "v0", "public_key": other.public_key(), "secret_key": key.to_string()});
        std::fs::write(&path, bad.to_string()).unwrap();
        assert!(matches!(LocalSigner::from_file(&path), Err(SignerError::KeyFile { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The local signer's future is ready at once; poll it once.
    fn futures_lite_block_on<T>(mut f: std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + '_>>) -> T {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("local signer must be ready at once"),
        }
    }
}
