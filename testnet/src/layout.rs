//! Paths inside a testnet directory.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }

    pub fn genesis_dir(&self) -> PathBuf {
        self.root.join("genesis")
    }

    pub fn genesis_file(&self) -> PathBuf {
        self.genesis_dir().join("genesis.json")
    }

    pub fn accounts_dir(&self) -> PathBuf {
        self.genesis_dir().join("accounts")
    }

    pub fn validator_key(&self, account: &str) -> PathBuf {
        self.genesis_dir().join("validators").join(account).join("consensus_key.json")
    }

    pub fn network_key(&self, account: &str) -> PathBuf {
        self.genesis_dir().join("validators").join(account).join("network_key.json")
    }

    pub fn node_home(&self, account: &str) -> PathBuf {
        self.root.join("nodes").join(account)
    }

    pub fn pids(&self) -> PathBuf {
        self.root.join("pids")
    }

    /// The `chain` binary: beside the running executable (same cargo target directory).
    pub fn chain_binary() -> anyhow::Result<PathBuf> {
        let exe = std::env::current_exe()?;
        let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
        for candidate in [dir.join("chain"), dir.parent().map(|p| p.join("chain")).unwrap_or_default()] {
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        anyhow::bail!("the `chain` binary is not next to {}; build it with `cargo build --bins`", exe.display())
    }
}
