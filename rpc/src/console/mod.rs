//! The workspace console at `/console`: a page, its script and style compiled into the binary
//! (nothing fetched from elsewhere), a small JSON API for what JSON-RPC does not say in one
//! call, and a stream of final blocks (server-sent events).
//!
//! # Invariants
//! - Every route is a `GET` behind the access gate with the read role ([`crate::access::Endpoint::Console`]):
//!   with credentials on, the browser's HTTP Basic login is the one the APIs take.
//! - The console changes nothing itself: every change is a transaction the page signs with a
//!   key that never leaves it, sent through JSON-RPC like any wallet's.
//! - Every answer is bounded: validator statistics over the last [`overview::WINDOW`]
//!   blocks, an account's recent transactions over the last [`overview::SCAN_BLOCKS`], a
//!   stream that catches up at most [`events::CATCH_UP`] blocks.

mod events;
mod overview;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::access::Gate;
use crate::NodeApi;

const INDEX: &str = include_str!("../../console/index.html");
const APP: &str = include_str!("../../console/app.js");
const NEAR: &str = include_str!("../../console/near.js");
const STYLE: &str = include_str!("../../console/app.css");

pub(crate) struct Console<N> {
    pub node: Arc<N>,
    pub gate: Arc<Gate>,
}

/// The console's routes.
pub(crate) fn routes<N: NodeApi>(node: Arc<N>, gate: Arc<Gate>) -> Router {
    let state = Arc::new(Console { node, gate });
    Router::new()
        .route("/console", get(|| async { asset("text/html; charset=utf-8", INDEX) }))
        .route("/console/", get(|| async { asset("text/html; charset=utf-8", INDEX) }))
        .route("/console/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP) }))
        .route("/console/near.js", get(|| async { asset("text/javascript; charset=utf-8", NEAR) }))
        .route("/console/app.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
        .route("/console/api/overview", get(overview_route::<N>))
        .route("/console/api/access", get(access_route::<N>))
        .route("/console/api/account/{id}/transactions", get(account_route::<N>))
        .route("/console/events", get(events::stream::<N>))
        .with_state(state)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// An error answer: `{"error", "message"}`.
fn failed(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": status.canonical_reason(), "message": message.to_string() }))).into_response()
}

async fn overview_route<N: NodeApi>(State(c): State<Arc<Console<N>>>) -> Response {
    let membership = c.gate.membership();
    match overview::overview(c.node.as_ref(), membership) {
        Ok(v) => Json(v).into_response(),
        Err(e) => failed(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn access_route<N: NodeApi>(State(c): State<Arc<Console<N>>>) -> Response {
    match overview::workspace_limits(c.node.as_ref()) {
        Ok(limits) => Json(json!({
            "membership": c.gate.membership(),
            "limits": limits,
            "rejections": c.gate.org_rejections(),
        }))
        .into_response(),
        Err(e) => failed(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn account_route<N: NodeApi>(State(c): State<Arc<Console<N>>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<chain_types::AccountId>() else {
        return failed(StatusCode::BAD_REQUEST, format!("`{id}` is not an account id"));
    };
    match overview::recent_transactions(c.node.as_ref(), &id) {
        Ok(v) => Json(v).into_response(),
        Err(e) => failed(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}
