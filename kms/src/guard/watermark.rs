//! The guard's state: the last (height, round, step) this key signed at, kept in one JSON
//! file that is replaced atomically and synced (file, then directory) on every change.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chain_types::{BlockHeight, CryptoHash, PublicKey, Signature};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::{SignerError, Step};

/// The highest position a key has signed at, what it signed there, and (once the backend
/// answered) the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watermark {
    pub public_key: PublicKey,
    pub height: BlockHeight,
    pub round: u32,
    pub step: Step,
    /// sha256 of the bytes signed at this position.
    pub bytes_sha256: CryptoHash,
    /// Absent while the backend has not answered (or never did).
    pub signature: Option<Signature>,
}

impl Watermark {
    pub fn position(&self) -> (BlockHeight, u32, Step) {
        (self.height, self.round, self.step)
    }
}

/// The state file, held exclusively (an advisory lock on `<file>.lock`) while open, so two
/// signers can never share one watermark.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    _lock: Flock<File>,
    current: Option<Watermark>,
}

fn state_error(path: &Path, message: impl std::fmt::Display) -> SignerError {
    SignerError::State { path: path.display().to_string(), message: message.to_string() }
}

impl StateFile {
    /// Opens (or starts) the state at `path`. Fails if another process holds it.
    pub fn open(path: &Path) -> Result<StateFile, SignerError> {
        let dir = parent(path);
        std::fs::create_dir_all(dir).map_err(|e| state_error(path, e))?;
        let lock_path = path.with_extension("lock");
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| state_error(&lock_path, e))?;
        let lock = Flock::lock(lock_file, FlockArg::LockExclusiveNonblock).map_err(|_| {
            state_error(path, "held by another signer process (two signers must never share a watermark)")
        })?;
        let current = read(path)?;
        Ok(StateFile { path: path.to_owned(), _lock: lock, current })
    }

    pub fn current(&self) -> Option<&Watermark> {
        self.current.as_ref()
    }

    /// Makes `w` the watermark; returns only once it is on disk (file and directory synced).
    pub fn store(&mut self, w: Watermark) -> Result<(), SignerError> {
        write_synced(&self.path, &w)?;
        self.current = Some(w);
        Ok(())
    }
}

/// The watermark in the file at `path`, if there is one.
pub fn read(path: &Path) -> Result<Option<Watermark>, SignerError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| state_error(path, format!("corrupt: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(state_error(path, e)),
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `w` to a temporary file, syncs it, renames it over `path` and syncs the directory.
fn write_synced(path: &Path, w: &Watermark) -> Result<(), SignerError> {
    let err = |e: std::io::Error| state_error(path, e);
    let tmp = path.with_extension("tmp");
    let mut json = serde_json::to_vec_pretty(w).map_err(|e| state_error(path, e))?;
    json.push(b'\n');
    let mut f = File::create(&tmp).map_err(err)?;
    f.write_all(&json).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(err)?;
    File::open(parent(path)).and_then(|d| d.sync_all()).map_err(err)
}

/// What [`import`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// The imported watermark is now the state.
    Written,
    /// The state was already at or past the imported position and is kept.
    KeptExisting(Watermark),
}

/// Moves a watermark to a new host: raises the state at `path` to `w`, never lowers it.
/// Fails while a signer holds the state, or if it belongs to another key.
pub fn import(path: &Path, w: Watermark) -> Result<Imported, SignerError> {
    let mut state = StateFile::open(path)?;
    match state.current() {
        Some(existing) if existing.public_key != w.public_key => {
            Err(state_error(path, format!("holds the watermark of {}, not of {}", existing.public_key, w.public_key)))
        }
        Some(existing) if existing.position() >= w.position() => Ok(Imported::KeptExisting(existing.clone())),
        _ => {
            state.store(w)?;
            Ok(Imported::Written)
        }
    }
}
