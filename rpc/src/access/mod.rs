//! Access control in front of both APIs: application credentials with roles, request-rate
//! limits per credential and per node, bounded password checks, and caps on connections
//! (total and per client address).
//!
//! # Invariants
//! - What a request may do is decided by its HTTP method and path ([`Endpoint`]), never by a
//!   header the client chooses; a path that is neither `POST /` (JSON-RPC) nor a listed gRPC
//!   method is refused before any credential is looked at.
//! - With credentials required, no request but a gRPC health check reaches a handler
//!   without a username and password that verify against the credentials file as it is now
//!   (a revoked credential stops working within a second).
//! - A password is checked with argon2 only when the client's address has failed attempts
//!   left (`failed_auths_per_ip_per_min`) and one of `max_password_checks` slots is free;
//!   otherwise 429 at once. Unknown usernames cost one check too (a dummy hash). Failed
//!   logins never spend the per-credential or node-wide request budgets.
//! - Rejections say why: HTTP 401 / 403 / 429 with a JSON body `{"error", "message"}` for
//!   JSON-RPC, and UNAUTHENTICATED / PERMISSION_DENIED / RESOURCE_EXHAUSTED with the same
//!   message for gRPC. 429s carry `Retry-After`.
//! - Passwords are never stored or logged; only argon2 hashes are on disk.

mod config;
mod connections;
pub mod credentials;
mod endpoints;
mod failures;
mod gate;
mod guard;
pub mod membership;
mod passwords;

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

pub use config::AccessConfig;
pub use connections::{refuse, ConnectionLimits, Refused, Slot};
pub use credentials::{CredentialError, CredentialFile, Role};
pub use endpoints::{json_rpc_role, Endpoint};
pub use gate::{Gate, OrgRejections};
pub use guard::guard;
pub use membership::{ChainCredential, ConnectionOrgs, MembershipCredentials};

/// Who a request runs as; in the request's extensions once admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `None` when credentials are not required.
    pub username: Option<String>,
    pub role: Role,
    /// The organization of a workspace credential (`None` for the local file's).
    pub organization: Option<String>,
}

impl Principal {
    pub fn require(&self, needed: Role) -> Result<(), Rejection> {
        if self.role >= needed {
            return Ok(());
        }
        let who = self.username.as_deref().unwrap_or("anonymous");
        Err(Rejection::forbidden(format!(
            "credential `{who}` has role {}; this needs role {}",
            self.role.as_str(),
            needed.as_str()
        )))
    }
}

/// Why a request was turned away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl Rejection {
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Rejection { status: StatusCode::UNAUTHORIZED, message: message.into(), retry_after: None }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Rejection { status: StatusCode::FORBIDDEN, message: message.into(), retry_after: None }
    }

    /// The node cannot decide now (its state unreadable): 503.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Rejection { status: StatusCode::SERVICE_UNAVAILABLE, message: message.into(), retry_after: None }
    }

    pub fn rate_limited(message: impl Into<String>, retry_after: Duration) -> Self {
        Rejection { status: StatusCode::TOO_MANY_REQUESTS, message: message.into(), retry_after: Some(retry_after) }
    }

    /// A path that is not served (404), or `/` with a method other than POST (405).
    pub fn not_served(status: StatusCode, message: impl Into<String>) -> Self {
        Rejection { status, message: message.into(), retry_after: None }
    }

    fn error_name(&self) -> &'static str {
        match self.status {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            _ => "rate_limited",
        }
    }

    /// The JSON body of an HTTP rejection.
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({ "error": self.error_name(), "message": self.message });
        if let Some(wait) = self.retry_after {
            body["retry_after_ms"] = json!(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1));
        }
        body
    }

    pub fn into_http(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Basic realm=\"chain\""));
        }
        if let Some(wait) = self.retry_after {
            headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from(wait.as_secs().max(1)));
        }
        response
    }

    pub fn into_grpc(self) -> Response {
        let code = match self.status {
            StatusCode::UNAUTHORIZED => tonic::Code::Unauthenticated,
            StatusCode::FORBIDDEN => tonic::Code::PermissionDenied,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => tonic::Code::Unimplemented,
            StatusCode::SERVICE_UNAVAILABLE => tonic::Code::Unavailable,
            _ => tonic::Code::ResourceExhausted,
        };
        tonic::Status::new(code, self.message).into_http::<Body>()
    }
}

/// The key a client is counted under by the per-address limits: its IPv4 address (an
/// IPv4-mapped IPv6 address counts as IPv4), or its IPv6 /64, the block one host usually has.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_counted_by_ipv4_address_or_ipv6_64() {
        let key = |s: &str| client_key(s.parse().unwrap()).to_string();
        assert_eq!(key("127.0.0.2"), "127.0.0.2");
        assert_eq!(key("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
    }
}
