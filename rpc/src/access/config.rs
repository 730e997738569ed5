//! Access settings: the node config's `[rpc.access]` table, as written and read. Everything a
//! client may take from the node is bounded here: connections (total, per address, and how
//! long they may sit idle), password checks, request rates and subscriptions.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Absent from the config: no credentials and no rate or connection-count limits (the
/// development default); timeouts, password-check bounds and subscription caps always apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    /// Every request but gRPC health checks needs a credential (`chain credentials add`).
    #[serde(default)]
    pub require_credentials: bool,
    /// The organization this node belongs to: credentials its admins create on chain
    /// (`chain workspace create-credential`) are accepted here, other organizations' are
    /// refused with 403. Absent: a validator's own organization; none on other nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<String>,
    /// The credentials file; the node resolves a relative path under its home.
    #[serde(default = "default_credentials_file")]
    pub credentials_file: PathBuf,
    /// Requests per second for the whole node, all callers together; unlimited when absent.
    /// With credentials required it counts authenticated requests only, so failed logins
    /// cannot spend the budget of honest clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_requests_per_sec: Option<NonZeroU32>,
    /// Requests per second per credential (a credential may set its own); unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_requests_per_sec: Option<NonZeroU32>,
    /// Connections open at once; more are answered 429 and closed. Unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
    /// Connections open at once from one client address (IPv6: one /64). Absent: an eighth
    /// of `max_connections` (at least 1), unlimited when that is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections_per_ip: Option<NonZeroUsize>,
    /// How long a client has to send a request's headers (HTTP/1, each request) and a new
    /// connection's first request (HTTP/1 and 2); then the connection is closed.
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: NonZeroU64,
    /// A connection with no request in progress (a subscription is one) for this long is closed.
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: NonZeroU64,
    /// HTTP/2: a ping every so often; a peer that does not answer within the timeout is dropped.
    #[serde(default = "default_keepalive_interval_ms")]
    pub http2_keepalive_interval_ms: NonZeroU64,
    #[serde(default = "default_keepalive_timeout_ms")]
    pub http2_keepalive_timeout_ms: NonZeroU64,
    /// Failed authentications allowed per client address (IPv6: one /64) per minute, in a
    /// burst of as many; past it the address is answered 429 before any password is checked.
    #[serde(default = "default_failed_auths_per_ip_per_min")]
    pub failed_auths_per_ip_per_min: NonZeroU32,
    /// Password checks (argon2, about 19 MiB and tens of ms each) running at once; more are
    /// answered 429 at once. Verified passwords are remembered, so honest clients check once.
    #[serde(default = "default_max_password_checks")]
    pub max_password_checks: NonZeroUsize,
    /// gRPC subscriptions open at once on the node, and per credential (per client address
    /// when credentials are not required).
    #[serde(default = "default_max_subscriptions")]
    pub max_subscriptions: NonZeroUsize,
    #[serde(default = "default_max_subscriptions_per_credential")]
    pub max_subscriptions_per_credential: NonZeroUsize,
    /// How far behind the head a subscription may start; older blocks are paged with GetBlock.
    #[serde(default = "default_max_replay_blocks")]
    pub max_replay_blocks: u64,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            require_credentials: false,
            membership: None,
            credentials_file: default_credentials_file(),
            node_requests_per_sec: None,
            credential_requests_per_sec: None,
            max_connections: None,
            max_connections_per_ip: None,
            header_read_timeout_ms: default_header_read_timeout_ms(),
            idle_timeout_ms: default_idle_timeout_ms(),
            http2_keepalive_interval_ms: default_keepalive_interval_ms(),
            http2_keepalive_timeout_ms: default_keepalive_timeout_ms(),
            failed_auths_per_ip_per_min: default_failed_auths_per_ip_per_min(),
            max_password_checks: default_max_password_checks(),
            max_subscriptions: default_max_subscriptions(),
            max_subscriptions_per_credential: default_max_subscriptions_per_credential(),
            max_replay_blocks: default_max_replay_blocks(),
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
            max_connections_per_ip: NonZeroUsize::new(64),
            ..AccessConfig::default()
        }
    }

    /// The per-address connection cap in force (see `max_connections_per_ip`).
    pub fn connections_per_ip(&self) -> Option<usize> {
        self.max_connections_per_ip.map(NonZeroUsize::get).or_else(|| self.max_connections.map(|m| (m / 8).max(1)))
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms.get())
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms.get())
    }

    pub fn http2_keepalive_interval(&self) -> Duration {
        Duration::from_millis(self.http2_keepalive_interval_ms.get())
    }

    pub fn http2_keepalive_timeout(&self) -> Duration {
        Duration::from_millis(self.http2_keepalive_timeout_ms.get())
    }
}

fn default_credentials_file() -> PathBuf {
    "credentials.json".into()
}

/// `v` as a non-zero value; the defaults below are all positive.
const fn nz64(v: u64) -> NonZeroU64 {
    match NonZeroU64::new(v) {
        Some(n) => n,
        None => NonZeroU64::MIN,
    }
}

const fn nzu(v: usize) -> NonZeroUsize {
    match NonZeroUsize::new(v) {
        Some(n) => n,
        None => NonZeroUsize::MIN,
    }
}

fn default_header_read_timeout_ms() -> NonZeroU64 {
    nz64(10_000)
}

fn default_idle_timeout_ms() -> NonZeroU64 {
    nz64(60_000)
}

fn default_keepalive_interval_ms() -> NonZeroU64 {
    nz64(30_000)
}

fn default_keepalive_timeout_ms() -> NonZeroU64 {
    nz64(10_000)
}

fn default_failed_auths_per_ip_per_min() -> NonZeroU32 {
    NonZeroU32::MIN.saturating_add(29)
}

fn default_max_password_checks() -> NonZeroUsize {
    nzu(4)
}

fn default_max_subscriptions() -> NonZeroUsize {
    nzu(1_024)
}

fn default_max_subscriptions_per_credential() -> NonZeroUsize {
    nzu(16)
}

fn default_max_replay_blocks() -> u64 {
    10_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_fields_take_their_defaults_and_zero_is_refused() {
        let c: AccessConfig = serde_json::from_str(r#"{"max_connections": 80}"#).unwrap();
        assert_eq!(c.connections_per_ip(), Some(10), "an eighth of max_connections");
        assert_eq!(c.header_read_timeout(), Duration::from_secs(10));
        assert_eq!(c.failed_auths_per_ip_per_min.get(), 30);
        assert_eq!(AccessConfig::default().connections_per_ip(), None, "unlimited with no total cap");
        assert_eq!(AccessConfig::professional().connections_per_ip(), Some(64));
        let zero = serde_json::from_str::<AccessConfig>(r#"{"idle_timeout_ms": 0}"#).unwrap_err();
        assert!(zero.to_string().contains("nonzero"), "{zero}");
    }
}
