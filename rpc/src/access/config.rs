//! Access settings: the node config's `[rpc.access]` table, as written and read.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Absent from the config: no credentials and no rate or connection-count limits (the
/// development default); password-check bounds always apply.
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
    /// Failed authentications allowed per client address (IPv6: one /64) per minute, in a
    /// burst of as many; past it the address is answered 429 before any password is checked.
    #[serde(default = "default_failed_auths_per_ip_per_min")]
    pub failed_auths_per_ip_per_min: NonZeroU32,
    /// Password checks (argon2, about 19 MiB and tens of ms each) running at once; more are
    /// answered 429 at once. Verified passwords are remembered, so honest clients check once.
    #[serde(default = "default_max_password_checks")]
    pub max_password_checks: NonZeroUsize,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            require_credentials: false,
            credentials_file: default_credentials_file(),
            node_requests_per_sec: None,
            credential_requests_per_sec: None,
            max_connections: None,
            failed_auths_per_ip_per_min: default_failed_auths_per_ip_per_min(),
            max_password_checks: default_max_password_checks(),
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

/// `v` as a non-zero value; the defaults below are all positive.
const fn nzu(v: usize) -> NonZeroUsize {
    match NonZeroUsize::new(v) {
        Some(n) => n,
        None => NonZeroUsize::MIN,
    }
}

fn default_failed_auths_per_ip_per_min() -> NonZeroU32 {
    NonZeroU32::MIN.saturating_add(29)
}

fn default_max_password_checks() -> NonZeroUsize {
    nzu(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_fields_take_their_defaults_and_zero_is_refused() {
        let c: AccessConfig = serde_json::from_str(r#"{"max_connections": 80}"#).unwrap();
        assert_eq!(c.failed_auths_per_ip_per_min.get(), 30);
        assert_eq!(c.max_password_checks.get(), 4);
        let zero = serde_json::from_str::<AccessConfig>(r#"{"max_password_checks": 0}"#).unwrap_err();
        assert!(zero.to_string().contains("nonzero"), "{zero}");
    }
}
