//! The middleware in front of every route: the endpoint by method and path, then the gate.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::{Endpoint, Gate, Rejection, Role};

/// Admits the request through the gate and records its [`super::Principal`] in the request's
/// extensions. gRPC roles are checked here, by path; JSON-RPC roles by method once the body
/// is parsed. Paths not served are refused before any credential is looked at. The peer's
/// address comes from the connection ([`ConnectInfo`]), never from a header.
pub async fn guard(State(gate): State<Arc<Gate>>, mut req: Request, next: Next) -> Response {
    let (needed, grpc) = match Endpoint::of(req.method(), req.uri().path()) {
        Endpoint::Unknown { status } => {
            let message = format!("{} {} is not served here", req.method(), req.uri().path());
            tracing::debug!(target: "rpc", %status, path = req.uri().path(), "request refused: not served");
            return Rejection::not_served(status, message).into_http();
        }
        Endpoint::Grpc { role: None } | Endpoint::Probe => return next.run(req).await,
        Endpoint::Grpc { role: Some(role) } => (role, true),
        Endpoint::JsonRpc => (Role::Read, false),
    };
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    match gate.admit(req.headers(), client).await.and_then(|p| p.require(needed).map(|()| p)) {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(r) => {
            tracing::debug!(target: "rpc", status = %r.status, message = %r.message, "request refused");
            if grpc {
                r.into_grpc()
            } else {
                r.into_http()
            }
        }
    }
}
