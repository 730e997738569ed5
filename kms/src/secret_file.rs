//! Files that hold secrets: Vault tokens, AppRole secret ids, local key files, TLS private
//! keys. They are written readable by their owner only (0600), and a secret file that group
//! or others may access is refused when read, as ssh refuses a private key with loose
//! permissions.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// The mode every secret file is written with.
pub const SECRET_MODE: u32 = 0o600;

/// Permission bits a secret file must not have: any access by group or others.
const LOOSE_BITS: u32 = 0o077;

#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    /// Group or others may access the file; nothing is read from it.
    #[error(
        "permissions {found:04o} for {} are too open; chmod 600 {} (expected no access for group or others)",
        path.display(),
        path.display()
    )]
    TooOpen { path: PathBuf, found: u32 },
    #[error("cannot read the secret file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the secret file {} is empty", path.display())]
    Empty { path: PathBuf },
    #[error("cannot write the secret file {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// Reads a secret file after checking (on the opened file) that only its owner may access it.
pub fn read(path: &Path) -> Result<Vec<u8>, SecretFileError> {
    let read_err = |source| SecretFileError::Read { path: path.to_owned(), source };
    let mut f = File::open(path).map_err(read_err)?;
    let mode = f.metadata().map_err(read_err)?.permissions().mode() & 0o7777;
    if mode & LOOSE_BITS != 0 {
        return Err(SecretFileError::TooOpen { path: path.to_owned(), found: mode });
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(read_err)?;
    Ok(bytes)
}

/// [`read`] as text, trimmed; an empty secret is refused. The secret never goes into an error.
pub fn read_trimmed(path: &Path) -> Result<String, SecretFileError> {
    let bytes = read(path)?;
    let text = String::from_utf8(bytes).map_err(|_| SecretFileError::Read {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"),
    })?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(SecretFileError::Empty { path: path.to_owned() });
    }
    Ok(secret.to_owned())
}

/// Writes `bytes` to `path` with mode 0600 (also when the file existed with a looser mode),
/// synced to disk.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), SecretFileError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    write_with(path, bytes, &opts)
}

/// As [`write`], but fails if `path` exists: never overwrites a secret.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), SecretFileError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    write_with(path, bytes, &opts)
}

fn write_with(path: &Path, bytes: &[u8], opts: &OpenOptions) -> Result<(), SecretFileError> {
    let err = |source| SecretFileError::Write { path: path.to_owned(), source };
    let mut opts = opts.clone();
    let mut f = opts.mode(SECRET_MODE).open(path).map_err(err)?;
    // `mode` applies only to a new file; an existing one may have been looser.
    f.set_permissions(Permissions::from_mode(SECRET_MODE)).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn written_0600_and_loose_files_refused_with_the_chmod_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        write(&path, b" s3cret\n").unwrap();
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(read_trimmed(&path).unwrap(), "s3cret");

        for loose in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&path, Permissions::from_mode(loose)).unwrap();
            let e = read(&path).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, SecretFileError::TooOpen { found, .. } if found == loose), "{text}");
            let shown = path.display();
            assert!(text.contains(&format!("permissions {loose:04o} for {shown} are too open")), "{text}");
            assert!(text.contains(&format!("chmod 600 {shown}")), "{text}");
            assert!(!text.contains("s3cret"));
        }
        std::fs::set_permissions(&path, Permissions::from_mode(0o400)).unwrap();
        assert_eq!(read_trimmed(&path).unwrap(), "s3cret", "owner read-only is fine");

        // Rewriting a loose file tightens it; write_new never overwrites.
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(mode_of(&path), 0o600);
        assert!(matches!(write_new(&path, b"x"), Err(SecretFileError::Write { .. })));
        assert_eq!(read_trimmed(&path).unwrap(), "new");

        write(&path, b" \n").unwrap();
        assert!(matches!(read_trimmed(&path), Err(SecretFileError::Empty { .. })));
        assert!(matches!(read(&dir.path().join("missing")), Err(SecretFileError::Read { .. })));
    }
}
