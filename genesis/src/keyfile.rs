//! Key files: NEAR credentials (`{"account_id","public_key","secret_key"}`, what near-cli
//! reads) for accounts and consensus keys, and the libp2p network key.

use std::io::Write as _;
use std::path::Path;

use chain_types::{AccountId, PublicKey, SecretKey};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::GenesisError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    pub account_id: AccountId,
    pub public_key: PublicKey,
    /// near-cli writes it as `private_key`.
    #[serde(alias = "private_key")]
    pub secret_key: SecretKey,
}

impl KeyFile {
    pub fn new(account_id: AccountId, secret_key: SecretKey) -> Self {
        KeyFile { account_id, public_key: secret_key.public_key(), secret_key }
    }

    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let key: KeyFile = load_json(path)?;
        check(key.secret_key.public_key() == key.public_key, path, "public_key")?;
        Ok(key)
    }

    pub fn save(&self, path: &Path) -> Result<(), GenesisError> {
        save_secret_json(path, self)
    }
}

/// A node's libp2p identity. The peer id is derived from the key and stored for reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkKeyFile {
    pub peer_id: String,
    pub secret_key: SecretKey,
}

impl NetworkKeyFile {
    pub fn new(secret_key: SecretKey) -> Self {
        NetworkKeyFile { peer_id: peer_id_of(&secret_key), secret_key }
    }

    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let key: NetworkKeyFile = load_json(path)?;
        check(peer_id_of(&key.secret_key) == key.peer_id, path, "peer_id")?;
        Ok(key)
    }

    pub fn save(&self, path: &Path) -> Result<(), GenesisError> {
        save_secret_json(path, self)
    }
}

/// The libp2p peer id of an ed25519 network key.
pub fn peer_id_of(key: &SecretKey) -> String {
    let mut seed = key.seed();
    match libp2p_identity::Keypair::ed25519_from_bytes(&mut seed) {
        Ok(kp) => kp.public().to_peer_id().to_string(),
        Err(_) => String::new(),
    }
}

/// A key file whose stored `field` is not derived from its `secret_key` is refused.
fn check(consistent: bool, path: &Path, field: &str) -> Result<(), GenesisError> {
    if consistent {
        return Ok(());
    }
    Err(GenesisError::Parse {
        field: format!("{}: {field}", path.display()),
        message: "does not match secret_key".into(),
    })
}

fn load_json<T: DeserializeOwned>(path: &Path) -> Result<T, GenesisError> {
    let text = std::fs::read_to_string(path).map_err(|source| GenesisError::Read { path: path.to_owned(), source })?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| GenesisError::Parse {
        field: format!("{}: {}", path.display(), e.path()),
        message: e.into_inner().to_string(),
    })
}

/// Writes `value` as JSON readable only by the owner (0600), via a temporary file and rename.
pub(crate) fn save_secret_json<T: Serialize>(path: &Path, value: &T) -> Result<(), GenesisError> {
    let err = |source| GenesisError::Write { path: path.to_owned(), source };
    let text = serde_json::to_string_pretty(value).map_err(|e| err(std::io::Error::other(e)))?;
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(err)?;
        // `mode` applies only when the file is created; a leftover temporary file keeps its own.
        #[cfg(unix)]
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(err)?;
        f.write_all(text.as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn key_files_are_written_0600_even_over_a_loose_leftover() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consensus_key.json");
        let key = KeyFile::new("v0.acme".parse().unwrap(), SecretKey::from_seed([1; 32]));
        std::fs::write(path.with_extension("tmp"), "leftover").unwrap();
        std::fs::set_permissions(path.with_extension("tmp"), std::fs::Permissions::from_mode(0o644)).unwrap();
        key.save(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(KeyFile::load(&path).unwrap().public_key, key.public_key);
    }

    #[test]
    fn near_cli_key_files_with_private_key_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("carol.acme.json");
        let key = KeyFile::new("carol.acme".parse().unwrap(), SecretKey::from_seed([2; 32]));
        let near_cli = serde_json::json!({"account_id": key.account_id, "public_key": key.public_key, "private_key": key.secret_key});
        std::fs::write(&path, near_cli.to_string()).unwrap();
        assert_eq!(KeyFile::load(&path).unwrap().public_key, key.public_key);
    }
}
