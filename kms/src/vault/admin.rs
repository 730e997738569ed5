//! Setting Vault up for validators (operators, the testnet and the tests use these): the
//! Transit engine, non-exportable ed25519 keys, a least-privilege policy and an AppRole.

use std::path::Path;
use std::time::Duration;

use chain_types::PublicKey;
use vaultrs::api::auth::approle::requests::SetAppRoleRequestBuilder;
use vaultrs::api::transit::requests::CreateKeyRequestBuilder;
use vaultrs::api::transit::KeyType;
use vaultrs::client::VaultClient;

use super::public_key_of;
use super::session::{describe, vault_client};
use crate::SignerError;

fn failed(what: &str, e: &vaultrs::error::ClientError) -> SignerError {
    SignerError::Backend(format!("{what}: {}", describe(e)))
}

/// How long one set-up request may take: initialising raft storage fsyncs a lot and takes
/// over 10 s on a loaded disk; nothing here is on the signing path.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(60);

/// A client with an administrator's token (for set-up only); `ca_cert` for https with a
/// private CA.
pub fn client(address: &str, token: &str, ca_cert: Option<&Path>) -> Result<VaultClient, SignerError> {
    vault_client(address, token, ca_cert, ADMIN_TIMEOUT)
}

/// Mounts the Transit engine at `mount` unless something is mounted there already.
pub async fn enable_transit(client: &VaultClient, mount: &str) -> Result<(), SignerError> {
    let mounts = vaultrs::sys::mount::list(client).await.map_err(|e| failed("listing mounts", &e))?;
    if mounts.contains_key(&format!("{mount}/")) {
        return Ok(());
    }
    vaultrs::sys::mount::enable(client, mount, "transit", None).await.map_err(|e| failed("enabling Transit", &e))
}

/// Creates a non-exportable ed25519 key `name` (no plaintext backup) and returns the public
/// key of its version 1.
pub async fn create_key(client: &VaultClient, mount: &str, name: &str) -> Result<PublicKey, SignerError> {
    let mut opts = CreateKeyRequestBuilder::default();
    opts.key_type(KeyType::Ed25519).exportable(false).allow_plaintext_backup(false);
    vaultrs::transit::key::create(client, mount, name, Some(&mut opts))
        .await
        .map_err(|e| failed(&format!("creating Transit key `{name}`"), &e))?;
    public_key(client, mount, name, 1).await
}

/// The public key of version `version` of Transit key `name`.
pub async fn public_key(client: &VaultClient, mount: &str, name: &str, version: u64) -> Result<PublicKey, SignerError> {
    public_key_of(client, mount, name, version).await
}

/// A policy that may only sign with `key` and read its public keys.
pub async fn signer_policy(client: &VaultClient, policy: &str, mount: &str, key: &str) -> Result<(), SignerError> {
    let hcl = format!(
        "path \"{mount}/sign/{key}\" {{ capabilities = [\"update\"] }}\n\
         path \"{mount}/keys/{key}\" {{ capabilities = [\"read\"] }}\n"
    );
    vaultrs::sys::policy::set(client, policy, &hcl).await.map_err(|e| failed("writing the policy", &e))
}

/// Enables AppRole at `mount` if needed, writes role `role` with `policies` and a token TTL
/// of `token_ttl_s` (max twice that), and returns its role id and a fresh secret id.
pub async fn approle(
    client: &VaultClient,
    mount: &str,
    role: &str,
    policies: &[&str],
    token_ttl_s: u64,
) -> Result<(String, String), SignerError> {
    let auths = vaultrs::sys::auth::list(client).await.map_err(|e| failed("listing auth methods", &e))?;
    if !auths.contains_key(&format!("{mount}/")) {
        vaultrs::sys::auth::enable(client, mount, "approle", None).await.map_err(|e| failed("enabling AppRole", &e))?;
    }
    let mut opts = SetAppRoleRequestBuilder::default();
    opts.token_policies(policies.iter().map(|p| p.to_string()).collect::<Vec<_>>())
        .token_ttl(format!("{token_ttl_s}s"))
        .token_max_ttl(format!("{}s", token_ttl_s * 2));
    vaultrs::auth::approle::role::set(client, mount, role, Some(&mut opts))
        .await
        .map_err(|e| failed("writing the AppRole role", &e))?;
    let role_id = vaultrs::auth::approle::role::read_id(client, mount, role)
        .await
        .map_err(|e| failed("reading the role id", &e))?
        .role_id;
    let secret_id = vaultrs::auth::approle::role::secret::generate(client, mount, role, None)
        .await
        .map_err(|e| failed("generating a secret id", &e))?
        .secret_id;
    Ok((role_id, secret_id))
}

/// A renewable token with only `policy` (and Vault's default policy, which lets it look
/// itself up and renew itself), living `ttl` (`"1h"`).
pub async fn token(client: &VaultClient, policy: &str, ttl: &str) -> Result<String, SignerError> {
    let mut opts = vaultrs::api::token::requests::CreateTokenRequestBuilder::default();
    opts.policies(vec![policy.to_owned()]).ttl(ttl).renewable(true);
    Ok(vaultrs::token::new(client, Some(&mut opts)).await.map_err(|e| failed("creating a token", &e))?.client_token)
}
