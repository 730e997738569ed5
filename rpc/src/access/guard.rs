//! The middleware in front of every route: the endpoint by method and path, then the gate.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::endpoints::grpc_method_label;
use super::{Endpoint, Gate, Rejection, Role};

/// Admits the request through the gate and records its [`super::Principal`] in the request's
/// extensions. gRPC roles are checked here, by path; JSON-RPC roles by method once the body
/// is parsed. Paths not served are refused before any credential is looked at. The peer's
/// address comes from the connection ([`ConnectInfo`]), never from a header.
pub async fn guard(State(gate): State<Arc<Gate>>, mut req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let path = req.uri().path().to_owned();
    let endpoint = Endpoint::of(req.method(), &path);
    let (protocol, method) = match endpoint {
        Endpoint::JsonRpc => ("jsonrpc", "unparsed"),
        Endpoint::Grpc { .. } => ("grpc", grpc_method_label(&path)),
        Endpoint::Probe if path == "/ready" => ("http", "ready"),
        Endpoint::Probe => ("http", "health"),
        Endpoint::Console => ("http", "console"),
        Endpoint::Unknown { .. } => ("http", "not_served"),
    };
    let count = |status: String| gate.metrics().request(protocol, method, status, started.elapsed());
    let (needed, counted_after) = match endpoint {
        Endpoint::Unknown { status } => {
            let message = format!("{} {} is not served here", req.method(), path);
            tracing::debug!(target: "rpc", %status, path, "request refused: not served");
            count(status.as_u16().to_string());
            return Rejection::not_served(status, message).into_http();
        }
        Endpoint::Grpc { role: None } | Endpoint::Probe => {
            let response = next.run(req).await;
            count(outcome(&response));
            return response;
        }
        Endpoint::Grpc { role: Some(_) } | Endpoint::Console | Endpoint::JsonRpc if cross_site(&req).is_some() => {
            let why = cross_site(&req).unwrap_or_default();
            tracing::debug!(target: "rpc", why, "request refused: cross-site");
            count("403".into());
            let r = Rejection::forbidden(format!("cross-site browser requests are refused ({why})"));
            return if matches!(endpoint, Endpoint::Grpc { .. }) { r.into_grpc() } else { r.into_http() };
        }
        Endpoint::Grpc { role: Some(role) } => (role, true),
        Endpoint::Console => (Role::Read, true),
        Endpoint::JsonRpc => (Role::Read, false),
    };
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let conn = req.extensions().get::<super::ConnectionOrgs>().cloned();
    let grpc = matches!(endpoint, Endpoint::Grpc { .. });
    match gate.admit(req.headers(), client, conn.as_ref()).await.and_then(|p| p.require(needed).map(|()| p)) {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            let response = next.run(req).await;
            // JSON-RPC requests are counted by method once parsed (`server::handle`).
            if counted_after {
                count(outcome(&response));
            }
            response
        }
        Err(r) => {
            tracing::debug!(target: "rpc", status = %r.status, reason = %r.message, "request refused");
            match r.status {
                http::StatusCode::UNAUTHORIZED => gate.metrics().auth_failures.inc(),
                http::StatusCode::TOO_MANY_REQUESTS => gate.metrics().rate_limited.inc(),
                _ => 0,
            };
            count(r.status.as_u16().to_string());
            if grpc {
                r.into_grpc()
            } else {
                r.into_http()
            }
        }
    }
}

/// Why a request is a browser's from another site, if it is: a page elsewhere posting to this
/// node would ride on the browser's cached Basic login (the console's). Browsers say where a
/// request comes from (`Sec-Fetch-Site`, `Origin`); other clients send neither and are not
/// affected. Only refuses, never admits.
fn cross_site(req: &Request) -> Option<String> {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return Some(format!("Sec-Fetch-Site: {site}"));
        }
    }
    let origin = headers.get(http::header::ORIGIN).and_then(|v| v.to_str().ok())?;
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("");
    let origin_host = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
    (origin_host != Some(host)).then(|| format!("Origin {origin} is not {host}"))
}

/// `ok` for a 200 without a gRPC error status in its headers, else the status.
fn outcome(response: &Response) -> String {
    match response.headers().get("grpc-status").and_then(|v| v.to_str().ok()) {
        Some("0") | None if response.status().is_success() => "ok".to_owned(),
        Some(code) => format!("grpc-{code}"),
        None => response.status().as_u16().to_string(),
    }
}
