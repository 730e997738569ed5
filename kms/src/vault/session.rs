//! A logged-in Vault client and the task that keeps its token alive (vaultrs renews
//! nothing by itself).

use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::RwLock;
use vaultrs::client::{Client as _, VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;

use super::config::{check_address, VaultAuth, VaultConfig};
use crate::secret_file::{self, SecretFileError};
use crate::SignerError;

/// How long the current token lives and whether it can be renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Lease {
    /// Zero for a token that never expires (a root token).
    pub ttl: Duration,
    pub renewable: bool,
}

pub(super) struct Session {
    config: VaultConfig,
    client: RwLock<Arc<VaultClient>>,
}

/// The whole cause chain of a vaultrs error, without secrets (vaultrs errors carry none).
pub(super) fn describe(e: &ClientError) -> String {
    let mut text = match e {
        ClientError::APIError { code, errors } => format!("Vault answered {code}: {}", errors.join("; ")),
        other => other.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Maps a vaultrs error: unreachable, timed out, sealed or overloaded is `Unavailable`.
pub(super) fn classify(e: &ClientError) -> SignerError {
    match e {
        ClientError::APIError { code, .. } if *code >= 500 || *code == 429 => SignerError::Unavailable(describe(e)),
        ClientError::RestClientError { .. } | ClientError::ResponseEmptyError => SignerError::Unavailable(describe(e)),
        _ => SignerError::Backend(describe(e)),
    }
}

/// Reads a secret from a file, trimmed, refusing a file that group or others may access
/// ([`SignerError::SecretFile`]); the secret itself never goes into an error.
fn read_secret(path: &Path, what: &str) -> Result<String, SignerError> {
    secret_file::read_trimmed(path).map_err(|e| match e {
        SecretFileError::Read { path, source } => {
            SignerError::Config(format!("cannot read the {what} file {}: {source}", path.display()))
        }
        SecretFileError::Empty { path } => SignerError::Config(format!("the {what} file {} is empty", path.display())),
        other => other.into(),
    })
}

/// A Vault client for `address` with `token`, a per-request `timeout` and, for https with a
/// private CA, `ca_cert`. Settings are all explicit: vaultrs's `VAULT_*` environment
/// defaults are not used. Plain `http://` is refused unless the host is loopback.
pub(super) fn vault_client(
    address: &str,
    token: &str,
    ca_cert: Option<&Path>,
    timeout: Duration,
) -> Result<VaultClient, SignerError> {
    // reqwest is built without a TLS crypto provider of its own; use ring (already in the
    // tree through libp2p) rather than building aws-lc.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = check_address(address)?;
    let mut settings = VaultClientSettingsBuilder::default();
    settings
        .address(url.as_str())
        .token(token)
        .timeout(Some(timeout))
        .ca_certs(ca_cert.iter().map(|p| p.display().to_string()).collect())
        .identity(None)
        .verify(true);
    let settings = settings.build().map_err(|e| SignerError::Config(format!("Vault client settings: {e}")))?;
    VaultClient::new(settings).map_err(|e| SignerError::Config(format!("Vault client: {}", describe(&e))))
}

fn client(config: &VaultConfig, token: &str) -> Result<VaultClient, SignerError> {
    vault_client(&config.address, token, config.ca_cert.as_deref(), Duration::from_millis(config.timeout_ms))
}

/// A start-up error that says what was tried, never with the token.
fn login_error(config: &VaultConfig, e: &ClientError) -> SignerError {
    let hint = match e {
        ClientError::APIError { code: 403, .. } => " (the token or AppRole credentials were refused)",
        ClientError::APIError { code: 400, .. } => " (AppRole role_id or secret_id invalid)",
        ClientError::RestClientError { .. } => " (is Vault running at that address, and is its TLS CA configured?)",
        _ => "",
    };
    SignerError::Config(format!("cannot log in to Vault at {}: {}{hint}", config.address, describe(e)))
}

impl Session {
    /// Logs in as `config.auth` says and checks the token works.
    pub async fn login(config: &VaultConfig) -> Result<(Arc<Session>, Lease), SignerError> {
        let (client, lease) = Self::new_client(config).await?;
        Ok((Arc::new(Session { config: config.clone(), client: RwLock::new(Arc::new(client)) }), lease))
    }

    async fn new_client(config: &VaultConfig) -> Result<(VaultClient, Lease), SignerError> {
        match &config.auth {
            VaultAuth::Token { token_file } => {
                let client = client(config, &read_secret(token_file, "Vault token")?)?;
                let info = vaultrs::token::lookup_self(&client).await.map_err(|e| login_error(config, &e))?;
                let lease = Lease { ttl: Duration::from_secs(info.ttl), renewable: info.renewable.unwrap_or(false) };
                Ok((client, lease))
            }
            VaultAuth::AppRole { role_id, secret_id_file, mount } => {
                let secret_id = read_secret(secret_id_file, "AppRole secret_id")?;
                let mut client = client(config, "")?;
                let auth = vaultrs::auth::approle::login(&client, mount, role_id, &secret_id)
                    .await
                    .map_err(|e| login_error(config, &e))?;
                client.set_token(&auth.client_token);
                Ok((client, Lease { ttl: Duration::from_secs(auth.lease_duration), renewable: auth.renewable }))
            }
        }
    }

    pub fn client(&self) -> Arc<VaultClient> {
        self.client.read().clone()
    }

    fn is_approle(&self) -> bool {
        matches!(self.config.auth, VaultAuth::AppRole { .. })
    }

    async fn relogin(&self) -> Result<Lease, SignerError> {
        let (client, lease) = Self::new_client(&self.config).await?;
        *self.client.write() = Arc::new(client);
        tracing::info!(target: "kms::vault", ttl_s = lease.ttl.as_secs(), "logged in to Vault again (AppRole)");
        Ok(lease)
    }

    /// Renews the token; with AppRole, logs in again when renewal fails or no longer
    /// extends the token by at least `slept` (its max TTL is near).
    async fn refresh(&self, previous: Lease, slept: Duration) -> Result<Lease, SignerError> {
        if previous.renewable {
            match vaultrs::token::renew_self(&*self.client(), None).await {
                Ok(info) => {
                    let lease = Lease { ttl: Duration::from_secs(info.lease_duration), renewable: info.renewable };
                    if lease.ttl >= slept || !self.is_approle() {
                        tracing::debug!(target: "kms::vault", ttl_s = lease.ttl.as_secs(), "renewed the Vault token");
                        if lease.ttl < slept {
                            tracing::warn!(target: "kms::vault", ttl_s = lease.ttl.as_secs(), "the Vault token nears its max TTL and will expire; give the signer a new token or use AppRole");
                        }
                        return Ok(lease);
                    }
                }
                Err(e) if !self.is_approle() => return Err(classify(&e)),
                Err(e) => {
                    tracing::warn!(target: "kms::vault", error = %describe(&e), "token renewal failed; logging in again")
                }
            }
        }
        if self.is_approle() {
            self.relogin().await
        } else {
            Err(SignerError::Backend("the Vault token is not renewable and will expire".into()))
        }
    }
}

/// Keeps the session's token alive until the session is dropped: renews at half the TTL,
/// retries every few seconds after a failure. A token without expiry needs nothing.
pub(super) async fn keep_alive(session: Weak<Session>, mut lease: Lease) {
    const RETRY: Duration = Duration::from_secs(2);
    let approle = session.upgrade().is_some_and(|s| s.is_approle());
    if !lease.renewable && !lease.ttl.is_zero() && !approle {
        tracing::warn!(target: "kms::vault", ttl_s = lease.ttl.as_secs(), "the Vault token is not renewable and expires; give the signer a new token before then, or use AppRole");
        return;
    }
    loop {
        if lease.ttl.is_zero() {
            return;
        }
        let wait = (lease.ttl / 2).max(Duration::from_millis(500));
        tokio::time::sleep(wait).await;
        let Some(s) = session.upgrade() else { return };
        lease = match s.refresh(lease, wait).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(target: "kms::vault", error = %e, "could not refresh the Vault token; retrying");
                Lease { ttl: RETRY * 2, ..lease }
            }
        };
    }
}
