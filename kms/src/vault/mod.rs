//! The Vault / OpenBao Transit signer (vaultrs).
//!
//! # Invariants
//! - Every sign request names the configured key version; a rotation in Vault changes nothing.
//! - Every returned signature is checked to come from that version and to verify under its
//!   public key (read once, at start-up) before it is returned.
//! - Keys that Vault would export are refused at start-up.
//! - Tokens and secret ids are read from files, kept only in the client, never logged.

pub mod admin;
mod config;
mod session;

use std::sync::Arc;

use base64::Engine as _;
use chain_types::{PublicKey, Signature};
use vaultrs::api::transit::requests::SignDataRequestBuilder;
use vaultrs::api::transit::responses::ReadKeyData;
use vaultrs::api::transit::KeyType;
use vaultrs::client::VaultClient;

pub(crate) use config::check_address;
pub use config::{VaultAuth, VaultConfig, DEFAULT_TIMEOUT_MS};
use session::{classify, describe, keep_alive, Session};

use crate::{HealthFuture, SignFuture, SignRequest, Signer, SignerError};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Signs with a Transit key, one pinned version.
pub struct VaultSigner {
    session: Arc<Session>,
    config: VaultConfig,
    public_key: PublicKey,
    renewal: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for VaultSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultSigner")
            .field("address", &self.config.address)
            .field("key", &self.config.key_name)
            .field("version", &self.config.key_version)
            .finish()
    }
}

impl Drop for VaultSigner {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

impl VaultSigner {
    /// Logs in, reads the pinned key version's public key and starts token renewal. Every
    /// configuration or access problem surfaces here, as a clear error.
    pub async fn connect(config: &VaultConfig) -> Result<VaultSigner, SignerError> {
        if config.key_version == 0 {
            return Err(SignerError::Config("key_version starts at 1".into()));
        }
        if config.timeout_ms == 0 {
            return Err(SignerError::Config("timeout_ms must be positive".into()));
        }
        let (session, lease) = Session::login(config).await?;
        let public_key = pinned_public_key(&session.client(), config).await?;
        let renewal = tokio::spawn(keep_alive(Arc::downgrade(&session), lease));
        tracing::info!(target: "kms::vault", address = %config.address, key = %config.key_name, version = config.key_version, public_key = %public_key, "Vault signer ready");
        Ok(VaultSigner { session, config: config.clone(), public_key, renewal })
    }

    /// Reads the key again and checks the pinned version still has the same public key:
    /// Vault is reachable and unsealed, the token valid, the key there. Works against
    /// OpenBao (vaultrs's `sys::status` does not).
    pub async fn check_key(&self) -> Result<(), SignerError> {
        let now = pinned_public_key(&self.session.client(), &self.config).await?;
        if now != self.public_key {
            return Err(SignerError::Backend(format!(
                "key {} version {} now has public key {now}, not {}",
                self.config.key_name, self.config.key_version, self.public_key
            )));
        }
        Ok(())
    }

    async fn sign_bytes(&self, bytes: &[u8]) -> Result<Signature, SignerError> {
        let c = &self.config;
        let mut opts = SignDataRequestBuilder::default();
        opts.key_version(c.key_version);
        let client = self.session.client();
        let input = B64.encode(bytes);
        let out = vaultrs::transit::data::sign(&*client, &c.mount, &c.key_name, &input, Some(&mut opts))
            .await
            .map_err(|e| classify(&e))?;
        let signature = parse_signature(&out.signature, c.key_version)?;
        if !self.public_key.verify(bytes, &signature) {
            return Err(SignerError::BadSignature);
        }
        Ok(signature)
    }
}

impl Signer for VaultSigner {
    fn public_key(&self) -> PublicKey {
        self.public_key
    }

    fn sign<'a>(&'a self, request: &'a SignRequest) -> SignFuture<'a> {
        Box::pin(self.sign_bytes(&request.bytes))
    }

    fn health(&self) -> HealthFuture<'_> {
        Box::pin(self.check_key())
    }
}

/// `vault:v<N>:<base64 of 64 bytes>`, from version `version` only.
fn parse_signature(text: &str, version: u64) -> Result<Signature, SignerError> {
    let bad = |why: &str| SignerError::Backend(format!("unexpected Transit signature `{text}`: {why}"));
    let rest = text.strip_prefix("vault:v").ok_or_else(|| bad("no vault:v prefix"))?;
    let (v, b64) = rest.split_once(':').ok_or_else(|| bad("no version"))?;
    if v.parse::<u64>().ok() != Some(version) {
        return Err(bad(&format!("made with version {v}, not the pinned {version}")));
    }
    let bytes = B64.decode(b64).map_err(|e| bad(&e.to_string()))?;
    let arr: [u8; 64] = bytes.try_into().map_err(|_| bad("not 64 bytes"))?;
    Ok(Signature(arr))
}

/// The public key of version `version` of Transit key `name`; refuses keys that are not
/// ed25519 or that Vault would export.
async fn public_key_of(client: &VaultClient, mount: &str, name: &str, version: u64) -> Result<PublicKey, SignerError> {
    let address = client.settings.address.as_str();
    let key = vaultrs::transit::key::read(client, mount, name).await.map_err(|e| match classify(&e) {
        SignerError::Unavailable(m) => SignerError::Unavailable(format!("cannot reach Vault at {address}: {m}")),
        _ => SignerError::Config(format!(
            "cannot read Transit key `{name}` at {address} (mount `{mount}`): {}",
            describe(&e)
        )),
    })?;
    if !matches!(key.key_type, KeyType::Ed25519) {
        return Err(SignerError::Config(format!("Transit key `{name}` is not ed25519")));
    }
    if key.exportable {
        return Err(SignerError::Config(format!(
            "Transit key `{name}` is exportable; a validator key must never leave Vault (create it with exportable=false)"
        )));
    }
    let ReadKeyData::Asymmetric(versions) = key.keys else {
        return Err(SignerError::Config(format!("Transit key `{name}` has no public keys")));
    };
    let entry = versions.get(&version.to_string()).ok_or_else(|| {
        SignerError::Config(format!(
            "Transit key `{name}` has no version {version} (versions: {:?})",
            versions.keys().collect::<Vec<_>>()
        ))
    })?;
    public_key_from_base64(&entry.public_key)
}

/// [`public_key_of`] the configured key and version.
async fn pinned_public_key(client: &VaultClient, c: &VaultConfig) -> Result<PublicKey, SignerError> {
    public_key_of(client, &c.mount, &c.key_name, c.key_version).await
}

fn public_key_from_base64(text: &str) -> Result<PublicKey, SignerError> {
    let bytes = B64.decode(text).map_err(|e| SignerError::Backend(format!("Transit public key: {e}")))?;
    let arr: [u8; 32] =
        bytes.try_into().map_err(|_| SignerError::Backend("Transit public key is not 32 bytes".into()))?;
    Ok(PublicKey(arr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_only_from_the_pinned_version() {
        let sig = B64.encode([7u8; 64]);
        assert_eq!(parse_signature(&format!("vault:v2:{sig}"), 2).unwrap(), Signature([7; 64]));
        let e = parse_signature(&format!("vault:v3:{sig}"), 2).unwrap_err().to_string();
        assert!(e.contains("not the pinned 2"), "{e}");
        assert!(parse_signature("vault:v2:AAAA", 2).is_err());
        assert!(parse_signature(&sig, 2).is_err());
    }
}
