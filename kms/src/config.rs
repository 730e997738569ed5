//! The `[signer]` section of a node's config (and of the `kms` daemon's): which backend,
//! and the guard's state file. Opening it yields a ready signer or a clear start-up error.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::guard::{Guard, GuardConfig};
use crate::remote::{DaemonTarget, RemoteSigner, TlsFiles, DEFAULT_REMOTE_TIMEOUT_MS};
use crate::vault::{check_address, VaultConfig, VaultSigner};
use crate::{LocalSigner, Signer, SignerError};

pub const DEFAULT_STATE_FILE: &str = "signer_state.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SignerConfig {
    /// A key file (`{"account_id","public_key","secret_key"}`), behind the guard. The
    /// development default.
    Local {
        key_file: PathBuf,
        #[serde(default = "default_state_file")]
        state_file: PathBuf,
        #[serde(default)]
        max_height: Option<u64>,
    },
    /// A Vault / OpenBao Transit key, behind the guard.
    Vault {
        vault: VaultConfig,
        #[serde(default = "default_state_file")]
        state_file: PathBuf,
        #[serde(default)]
        max_height: Option<u64>,
    },
    /// A `kms` daemon, which holds the backend and the guard.
    Remote {
        /// `unix:PATH` (relative to the node home), `https://host:port` with `tls`, or
        /// `http://host:port` to a loopback host only.
        address: String,
        #[serde(default = "default_remote_timeout")]
        timeout_ms: u64,
        /// Mutual TLS (with `https://`): the node's certificate and key, and the CA the
        /// daemon's certificate must be signed by.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tls: Option<TlsFiles>,
    },
}

fn default_state_file() -> PathBuf {
    DEFAULT_STATE_FILE.into()
}

fn default_remote_timeout() -> u64 {
    DEFAULT_REMOTE_TIMEOUT_MS
}

/// `p` if absolute, else under `base`.
pub(crate) fn under(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

impl SignerConfig {
    /// A guarded key file with the default state file.
    pub fn local(key_file: PathBuf) -> Self {
        SignerConfig::Local { key_file, state_file: default_state_file(), max_height: None }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SignerConfig::Local { .. } => "local",
            SignerConfig::Vault { .. } => "vault",
            SignerConfig::Remote { .. } => "remote",
        }
    }

    /// How long one sign call may take before it counts as failed (none for a local key).
    pub fn request_timeout(&self) -> Option<Duration> {
        match self {
            SignerConfig::Local { .. } => None,
            SignerConfig::Vault { vault, .. } => Some(Duration::from_millis(vault.timeout_ms)),
            SignerConfig::Remote { timeout_ms, .. } => Some(Duration::from_millis(*timeout_ms)),
        }
    }

    /// What can be checked without the network or the key: plaintext only to loopback (Vault
    /// and the kms daemon), TLS settings that go with the address.
    pub fn check(&self) -> Result<(), SignerError> {
        match self {
            SignerConfig::Local { .. } => Ok(()),
            SignerConfig::Vault { vault, .. } => check_address(&vault.address).map(|_| ()),
            SignerConfig::Remote { address, tls, .. } => {
                DaemonTarget::parse(address, tls.as_ref(), Path::new(".")).map(|_| ()).map_err(Into::into)
            }
        }
    }

    /// Opens the signer for `chain_id`, relative paths taken under `base`: checks it
    /// ([`SignerConfig::check`]), loads or logs in, checks the key, and takes the guard's
    /// state file.
    pub async fn open(&self, base: &Path, chain_id: &str) -> Result<Arc<dyn Signer>, SignerError> {
        let guarded = |backend: Arc<dyn Signer>, state_file: &Path, max_height: Option<u64>| {
            let config = GuardConfig { state_file: under(base, state_file), max_height };
            Guard::open(backend, chain_id, &config).map(|g| Arc::new(g) as Arc<dyn Signer>)
        };
        self.check()?;
        match self {
            SignerConfig::Local { key_file, state_file, max_height } => {
                let key = LocalSigner::from_file(&under(base, key_file))?;
                guarded(Arc::new(key), state_file, *max_height)
            }
            SignerConfig::Vault { vault, state_file, max_height } => {
                let signer = VaultSigner::connect(&vault.resolved(base)).await?;
                guarded(Arc::new(signer), state_file, *max_height)
            }
            SignerConfig::Remote { address, timeout_ms, tls } => {
                let target = DaemonTarget::parse(address, tls.as_ref(), base)?;
                let signer = RemoteSigner::connect(&target, Duration::from_millis(*timeout_ms), chain_id).await?;
                Ok(Arc::new(signer))
            }
        }
    }
}
