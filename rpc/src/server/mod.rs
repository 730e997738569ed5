//! The HTTP server: one POST endpoint taking JSON-RPC 2.0 requests, and the gRPC services
//! (HTTP/2, prior knowledge) on the same port, served by our own accept loop ([`accept`])
//! so that connection caps and timeouts apply before any request is read.

mod accept;
mod activity;
mod connection;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use crate::access::{self, AccessConfig, CredentialError, Gate, Principal};
use crate::metrics::RpcMetrics;
use crate::{methods, NodeApi, RpcError};

#[derive(Debug, Clone)]
pub struct RpcConfig {
    pub listen: SocketAddr,
    /// Larger request bodies are refused before parsing.
    pub max_body_bytes: usize,
    /// How long `send_tx` and friends wait for an outcome before a TIMEOUT_ERROR.
    pub tx_timeout: Duration,
    /// Credentials, rate limits, connection caps and timeouts, subscription caps.
    pub access: AccessConfig,
    /// Where requests are counted.
    pub metrics: Arc<RpcMetrics>,
    /// The workspace's credentials on chain and this node's membership; `None`: only the
    /// local credentials file.
    pub membership: Option<Arc<dyn access::MembershipCredentials>>,
}

struct AppState<N> {
    node: Arc<N>,
    tx_timeout: Duration,
    metrics: Arc<RpcMetrics>,
}

/// JSON-RPC (`POST /`, HTTP/1.1 or 2) and the gRPC services (HTTP/2) on one router, both
/// behind the access gate. Fails if the credentials file cannot be read.
pub async fn router<N: NodeApi>(node: Arc<N>, cfg: &RpcConfig) -> Result<Router, CredentialError> {
    let gate = Arc::new(
        Gate::new(cfg.access.clone())?.with_metrics(cfg.metrics.clone()).with_membership(cfg.membership.clone()),
    );
    let subscriptions = Arc::new(crate::grpc::Subscriptions::new(&cfg.access));
    let grpc = crate::grpc::routes(node.clone(), cfg.tx_timeout, subscriptions.clone()).await;
    let console = crate::console::routes(node.clone(), gate.clone(), subscriptions);
    let state = Arc::new(AppState { node, tx_timeout: cfg.tx_timeout, metrics: cfg.metrics.clone() });
    Ok(Router::new()
        .route("/", post(handle::<N>))
        .route("/health", get(alive))
        .route("/ready", get(ready::<N>))
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
        .with_state(state)
        .merge(grpc)
        .merge(console)
        .layer(axum::middleware::from_fn_with_state(gate, access::guard)))
}

/// Serves until `shutdown` resolves. Binding errors are returned before serving starts.
pub async fn serve<N: NodeApi>(
    node: Arc<N>,
    cfg: RpcConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(node, &cfg).await.map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    tracing::info!(
        target: "rpc",
        addr = %listener.local_addr()?,
        credentials = cfg.access.require_credentials,
        "json-rpc and grpc listening"
    );
    serve_app(listener, app, cfg.access, shutdown).await
}

/// Serves any router the way [`serve`] serves the node's: connection caps, timeouts, the
/// peer's address in each request's [`axum::extract::ConnectInfo`].
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    access: AccessConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    accept::run(listener, app, access, shutdown).await
}

/// `GET /health`: the process serves requests.
async fn alive() -> &'static str {
    "ok\n"
}

/// `GET /ready`: 200 when the node should take traffic (not syncing, enough peers for a
/// quorum, its signer answering), 503 with the reasons otherwise; both with the figures.
async fn ready<N: NodeApi>(State(state): State<Arc<AppState<N>>>) -> Response {
    let health = state.node.health();
    let reasons = health.not_ready();
    let status = if reasons.is_empty() { http::StatusCode::OK } else { http::StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "ready": reasons.is_empty(),
        "reasons": reasons,
        "syncing": health.syncing,
        "peers": health.peers,
        "peers_needed": health.peers_needed,
        "head_age_ms": health.head_age_ms,
        "signer_failing": health.signer_failure.is_some(),
    });
    (status, Json(body)).into_response()
}

async fn handle<N: NodeApi>(
    State(state): State<Arc<AppState<N>>>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Response {
    let started = std::time::Instant::now();
    let count = |method: &str, status: String| {
        state.metrics.request("jsonrpc", methods::method_label(method), status, started.elapsed());
    };
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            count("", "PARSE_ERROR".into());
            return reply(Value::Null, Err(RpcError::parse(format!("invalid JSON: {e}"))));
        }
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        count("", "PARSE_ERROR".into());
        return reply(id, Err(RpcError::parse("request has no `method` string")));
    };
    if let Err(r) = principal.require(access::json_rpc_role(method)) {
        count(method, r.status.as_u16().to_string());
        return r.into_http();
    }
    let params = request.get("params").cloned().unwrap_or(Value::Array(Vec::new()));
    let result = methods::dispatch(state.node.as_ref(), method, params, state.tx_timeout).await;
    let status = match &result {
        Ok(_) => "ok".to_owned(),
        Err(e) => {
            tracing::debug!(target: "rpc", method, error = ?e.cause, "request failed");
            e.cause.to_owned()
        }
    };
    count(method, status);
    reply(id, result)
}

fn reply(id: Value, result: Result<Value, RpcError>) -> Response {
    Json(match result {
        Ok(r) => json!({ "jsonrpc": "2.0", "id": id, "result": r }),
        Err(e) => json!({ "jsonrpc": "2.0", "id": id, "error": e.to_json() }),
    })
    .into_response()
}
