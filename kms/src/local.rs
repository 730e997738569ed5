use std::path::Path;

use chain_types::{PublicKey, SecretKey};
use serde::Deserialize;

use crate::{secret_file, SignFuture, SignRequest, Signer, SignerError};

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

    /// Reads the key file, refusing it if group or others may access it (see
    /// [`crate::secret_file`]).
    pub fn from_file(path: &Path) -> Result<Self, SignerError> {
        let err = |message: String| SignerError::KeyFile { path: path.display().to_string(), message };
        let bytes = secret_file::read(path)?;
        let file: CredentialsFile = serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))?;
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
    fn signs_verifiably_and_rejects_mismatched_or_loose_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretKey::from_seed([3; 32]);
        let path = dir.path().join("k.json");
        let json =
            serde_json::json!({"account_id": "v0", "public_key": key.public_key(), "secret_key": key.to_string()});
        secret_file::write(&path, json.to_string().as_bytes()).unwrap();
        let signer = LocalSigner::from_file(&path).unwrap();
        let req = SignRequest { height: 1, round: 0, step: Step::Precommit, bytes: b"vote".to_vec() };
        let sig = futures_lite_block_on(signer.sign(&req)).unwrap();
        assert!(signer.public_key().verify(b"vote", &sig));

        let other = SecretKey::from_seed([4; 32]);
        let bad =
            serde_json::json!({"account_id": "v0", "public_key": other.public_key(), "secret_key": key.to_string()});
        secret_file::write(&path, bad.to_string().as_bytes()).unwrap();
        assert!(matches!(LocalSigner::from_file(&path), Err(SignerError::KeyFile { .. })));

        // A key file others may read is refused, with the fix in the message.
        secret_file::write(&path, json.to_string().as_bytes()).unwrap();
        let loose = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644);
        std::fs::set_permissions(&path, loose).unwrap();
        let e = LocalSigner::from_file(&path).unwrap_err().to_string();
        assert!(e.contains("permissions 0644") && e.contains("chmod 600"), "{e}");
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
