use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::under;
use crate::error::TransportError;
use crate::loopback::is_loopback_host;
use crate::SignerError;

/// Where the Transit key is and how to log in. Secrets are never inline: the token and the
/// AppRole secret id are read from files, refused if group or others may read them. Plain
/// `http://` is accepted only to a loopback host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// `https://host:port` of Vault or OpenBao (`http://` only to 127.0.0.0/8, ::1 or
    /// localhost).
    pub address: String,
    /// Mount path of the Transit engine.
    #[serde(default = "default_mount")]
    pub mount: String,
    pub key_name: String,
    /// The key version every signature is made with. Rotating the key in Vault changes
    /// nothing until this is changed (and the validator set learns the new public key).
    pub key_version: u64,
    /// PEM bundle of the CA that signed Vault's TLS certificate (https only).
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// Per-request timeout; must stay well under the consensus vote timeout.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    pub auth: VaultAuth,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase", deny_unknown_fields)]
pub enum VaultAuth {
    /// A token read from a file; renewed at half its TTL when renewable.
    Token { token_file: PathBuf },
    /// AppRole login; the token it yields is renewed, and a new login made when renewal
    /// stops extending it.
    AppRole {
        role_id: String,
        secret_id_file: PathBuf,
        #[serde(default = "default_approle_mount")]
        mount: String,
    },
}

fn default_mount() -> String {
    "transit".into()
}

fn default_approle_mount() -> String {
    "approle".into()
}

pub const DEFAULT_TIMEOUT_MS: u64 = 200;

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

impl VaultConfig {
    /// A config with the token in `token_file` and the defaults for the rest.
    pub fn with_token(address: &str, key_name: &str, key_version: u64, token_file: PathBuf) -> Self {
        VaultConfig {
            address: address.into(),
            mount: default_mount(),
            key_name: key_name.into(),
            key_version,
            ca_cert: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            auth: VaultAuth::Token { token_file },
        }
    }

    /// The same config with relative file paths taken under `base`.
    pub fn resolved(&self, base: &Path) -> VaultConfig {
        let under = |p: &Path| under(base, p);
        let auth = match &self.auth {
            VaultAuth::Token { token_file } => VaultAuth::Token { token_file: under(token_file) },
            VaultAuth::AppRole { role_id, secret_id_file, mount } => VaultAuth::AppRole {
                role_id: role_id.clone(),
                secret_id_file: under(secret_id_file),
                mount: mount.clone(),
            },
        };
        VaultConfig { ca_cert: self.ca_cert.as_deref().map(under), auth, ..self.clone() }
    }
}

/// Parses a Vault address: `https://`, or `http://` to a loopback host only (a token sent
/// over plain http to another host crosses the network in clear).
pub(crate) fn check_address(address: &str) -> Result<url::Url, SignerError> {
    let url = url::Url::parse(address)
        .map_err(|e| SignerError::Config(format!("Vault address `{address}` is not a URL: {e}")))?;
    match (url.scheme(), url.host()) {
        ("https", Some(_)) => Ok(url),
        ("http", Some(host)) if is_loopback_host(&host) => Ok(url),
        ("http", Some(host)) => {
            Err(TransportError::PlaintextVault { address: address.to_owned(), host: host.to_string() }.into())
        }
        _ => Err(SignerError::Config(format!("Vault address `{address}` must be https://host:port"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in ["http://127.0.0.1:8200", "http://localhost:8200", "http://[::1]:8200", "https://10.1.2.3:8200"] {
            assert!(check_address(ok).is_ok(), "{ok}");
        }
        for remote in ["http://10.1.2.3:8200", "http://vault.internal:8200", "http://0.0.0.0:8200"] {
            let e = check_address(remote).unwrap_err();
            assert!(matches!(e, SignerError::Transport(TransportError::PlaintextVault { .. })), "{e}");
            assert!(e.to_string().contains(&format!("refusing Vault at {remote}")), "{e}");
        }
        assert!(matches!(check_address("ftp://127.0.0.1"), Err(SignerError::Config(_))));
        assert!(matches!(check_address("vault"), Err(SignerError::Config(_))));
    }
}
