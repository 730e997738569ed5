//! Access settings: the node config's `[rpc.access]` table, as written and read.

use std::num::NonZeroU32;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Absent from the config: no credentials and no limits (the development default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    /// Every request but gRPC health checks needs a credential (`chain credentials add`).
    #[serde(default)]
    pub require_credentials: bool,
    /// The credentials file; the node resolves a relative path under its home.
    #[serde(default = "default_credentials_file")]
    pub credentials_file: PathBuf,
    /// Requests per second for the whole node, all callers together; unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_requests_per_sec: Option<NonZeroU32>,
    /// Requests per second per credential (a credential may set its own); unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_requests_per_sec: Option<NonZeroU32>,
    /// Connections open at once; more are answered 429 and closed. Unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            require_credentials: false,
            credentials_file: default_credentials_file(),
            node_requests_per_sec: None,
            credential_requests_per_sec: None,
            max_connections: None,
        }
    }
}

impl AccessConfig {
    /// The professional preset's: credentials required, every limit on.
    pub fn professional() -> Self {
        AccessConfig {
            require_credentials: true,
            node_requests_per_sec: NonZeroU32::new(5_000),
            credential_requests_per_sec: NonZeroU32::new(500),
            max_connections: Some(1_024),
            ..AccessConfig::default()
        }
    }
}

fn default_credentials_file() -> PathBuf {
    "credentials.json".into()
}
