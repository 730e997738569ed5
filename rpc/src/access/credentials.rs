//! The credentials file: application credentials (username, role, argon2 hash of the
//! password), written by `chain credentials` and read by the node.
//!
//! Passwords are generated here, shown once by the caller and never stored: only their
//! argon2id hash (PHC string, random salt) is kept. The file is replaced atomically
//! (temporary file, fsync, rename, fsync of the directory) and is readable by its owner only.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};

/// What a credential may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads: views, blocks, transactions, status, validators, subscriptions.
    Read,
    /// Reads and submitting transactions.
    Submit,
    /// Everything, including the node's admin methods.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Submit => "submit",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Role::Read),
            "submit" => Ok(Role::Submit),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role `{other}`: use read, submit or admin")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub username: String,
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    pub created_at_ms: u64,
    /// This credential's request-rate limit; the node's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_sec: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialFile {
    pub credentials: Vec<Credential>,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a credentials file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("username `{0}` is invalid: use 1 to 64 of a-z, 0-9, `-`, `_` and `.`")]
    BadUsername(String),
    #[error("a credential named `{0}` exists; revoke it first")]
    Exists(String),
    #[error("no credential named `{0}`")]
    Unknown(String),
    #[error("requests_per_sec must be at least 1")]
    ZeroRate,
    #[error("hashing the password: {0}")]
    Hash(String),
}

/// Characters of generated passwords (no look-alikes is not a goal: they are copied, not typed).
const PASSWORD_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// 32 characters of 62: about 190 bits.
const PASSWORD_LEN: usize = 32;

fn valid_username(u: &str) -> bool {
    (1..=64).contains(&u.len())
        && u.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

/// A fresh random password.
pub fn generate_password() -> String {
    use rand::Rng as _;
    let mut rng = rand::rngs::OsRng;
    (0..PASSWORD_LEN).map(|_| char::from(PASSWORD_ALPHABET[rng.gen_range(0..PASSWORD_ALPHABET.len())])).collect()
}

/// The argon2id hash (default parameters, random salt) of `password`.
pub fn hash_password(password: &str) -> Result<String, CredentialError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CredentialError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`. Slow by design (tens of ms).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

impl CredentialFile {
    /// Reads the file; a missing file is an empty set.
    pub fn load(path: &Path) -> Result<Self, CredentialError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| CredentialError::Parse { path: path.to_owned(), message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CredentialFile::default()),
            Err(source) => Err(CredentialError::Io { path: path.to_owned(), source }),
        }
    }

    /// Replaces the file atomically, mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), CredentialError> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let io = |source| CredentialError::Io { path: path.to_owned(), source };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        let mut f =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io)?;
        f.write_all(&text).and_then(|()| f.sync_all()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)
    }

    /// Adds a credential with a new password, which is returned (and nowhere kept).
    pub fn add(
        &mut self,
        username: &str,
        role: Role,
        requests_per_sec: Option<u32>,
        now_ms: u64,
    ) -> Result<String, CredentialError> {
        if !valid_username(username) {
            return Err(CredentialError::BadUsername(username.to_owned()));
        }
        if self.credentials.iter().any(|c| c.username == username) {
            return Err(CredentialError::Exists(username.to_owned()));
        }
        if requests_per_sec == Some(0) {
            return Err(CredentialError::ZeroRate);
        }
        let password = generate_password();
        self.credentials.push(Credential {
            username: username.to_owned(),
            role,
            password_hash: hash_password(&password)?,
            created_at_ms: now_ms,
            requests_per_sec,
        });
        Ok(password)
    }

    pub fn revoke(&mut self, username: &str) -> Result<Credential, CredentialError> {
        let i = self
            .credentials
            .iter()
            .position(|c| c.username == username)
            .ok_or_else(|| CredentialError::Unknown(username.to_owned()))?;
        Ok(self.credentials.remove(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_verify_revoke_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        let mut file = CredentialFile::load(&path).unwrap();
        assert!(file.credentials.is_empty(), "a missing file is empty");
        let password = file.add("wallet", Role::Submit, Some(5), 1).unwrap();
        assert_eq!(password.len(), PASSWORD_LEN);
        file.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&password), "only the hash is stored");
        assert!(text.contains("$argon2id$"), "{text}");
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);

        let mut again = CredentialFile::load(&path).unwrap();
        assert_eq!(again, file);
        let c = &again.credentials[0];
        assert!(verify_password(&password, &c.password_hash));
        assert!(!verify_password("wrong", &c.password_hash));
        assert!(matches!(again.add("wallet", Role::Read, None, 2), Err(CredentialError::Exists(_))));
        assert!(matches!(again.add("Bad:Name", Role::Read, None, 2), Err(CredentialError::BadUsername(_))));
        assert!(matches!(again.add("x", Role::Read, Some(0), 2), Err(CredentialError::ZeroRate)));
        assert_eq!(again.revoke("wallet").unwrap().username, "wallet");
        assert!(matches!(again.revoke("wallet"), Err(CredentialError::Unknown(_))));
    }

    #[test]
    fn roles_are_ordered_and_parse() {
        assert!(Role::Read < Role::Submit && Role::Submit < Role::Admin);
        for r in [Role::Read, Role::Submit, Role::Admin] {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
