//! The node's TOML config file (`<home>/config.toml`). Relative paths are under the home.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use kms::SignerConfig;
use rpc::access::AccessConfig;
use serde::{Deserialize, Serialize};

pub const CONFIG_FILE: &str = "config.toml";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Genesis file, relative to the home directory.
    pub genesis_file: PathBuf,
    /// RocksDB directory, relative to the home directory.
    pub data_dir: PathBuf,
    /// How the validator signs (`local`, `vault` or `remote`); absent on a node that does
    /// not validate.
    pub signer: Option<SignerConfig>,
    pub rpc: RpcSection,
    /// Absent on a node without peers (a single-validator chain).
    #[serde(default)]
    pub network: Option<NetworkSection>,
    #[serde(default)]
    pub log: LogSection,
    /// Prometheus metrics at `/metrics` on their own address; absent: not served.
    #[serde(default)]
    pub metrics: Option<MetricsSection>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// Multiaddr to listen on for peers (`/ip4/0.0.0.0/tcp/24560`).
    pub listen: String,
    /// This node's network key (`{"peer_id","secret_key"}`), relative to the home.
    pub key_file: PathBuf,
    /// Peer ids allowed to connect besides the genesis validators.
    #[serde(default)]
    pub allowed_peers: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcSection {
    pub listen: SocketAddr,
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// How long transaction methods wait for an outcome.
    #[serde(default = "default_tx_timeout")]
    pub tx_timeout_ms: u64,
    /// Credentials, rate limits, connection caps and timeouts, password-check bounds and
    /// subscription caps (JSON-RPC and gRPC alike): `[rpc.access]`.
    #[serde(default)]
    pub access: AccessConfig,
}

impl RpcSection {
    /// The access settings with the credentials file resolved under `home`.
    pub fn access(&self, home: &Path) -> AccessConfig {
        AccessConfig { credentials_file: resolve(home, &self.access.credentials_file), ..self.access.clone() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// A tracing filter (`info`, `chain=debug,rpc=info`); `RUST_LOG` overrides it.
    pub filter: String,
    /// `text` for people, `json` (one object per line) for log collectors; `chain run
    /// --log-format` overrides it.
    #[serde(default)]
    pub format: LogFormat,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection { filter: "info".into(), format: LogFormat::Text }
    }
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `2026-12-02T06:00:00.000000Z  INFO chain::consensus: committed height=12 ...`
    #[default]
    Text,
    /// `{"timestamp":"...","level":"INFO","target":"chain::consensus","message":"committed","height":12,...}`:
    /// the event's fields at the top level, no spans.
    Json,
}

fn default_max_body() -> usize {
    4 * 1024 * 1024
}

fn default_tx_timeout() -> u64 {
    10_000
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

impl NodeConfig {
    pub fn new(rpc_listen: SocketAddr, signer: Option<SignerConfig>) -> Self {
        NodeConfig {
            genesis_file: "genesis.json".into(),
            data_dir: "data".into(),
            signer,
            rpc: RpcSection {
                listen: rpc_listen,
                max_body_bytes: default_max_body(),
                tx_timeout_ms: default_tx_timeout(),
                access: AccessConfig::default(),
            },
            network: None,
            log: LogSection::default(),
            metrics: None,
        }
    }

    pub fn load(home: &Path) -> Result<Self, ConfigError> {
        let path = home.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse { path, message: e.to_string() })
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// `path` if absolute, else under `home`.
pub fn resolve(home: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        home.join(path)
    }
}
