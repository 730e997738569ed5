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
//!   blocks, computed once per head height; an account's recent transactions over the last
//!   [`overview::SCAN_BLOCKS`], off the async workers, at most [`SCANS`] at once (else 429);
//!   block streams count against the gRPC subscription caps and catch up at most
//!   [`events::CATCH_UP`] blocks.
//! - Pages are served with a content security policy allowing only this origin's scripts
//!   and styles, and may not be framed; cross-site browser requests are refused by the gate.

mod events;
mod overview;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use parking_lot::Mutex;
use serde_json::json;

use crate::access::{Gate, Principal, Role};
use crate::grpc::Subscriptions;
use crate::NodeApi;

const INDEX: &str = include_str!("../../console/index.html");
const APP: &str = include_str!("../../console/app.js");
const NEAR: &str = include_str!("../../console/near.js");
const STYLE: &str = include_str!("../../console/app.css");

/// Account scans (reads of up to [`overview::SCAN_BLOCKS`] blocks) running at once.
pub const SCANS: usize = 2;

pub(crate) struct Console<N> {
    pub node: Arc<N>,
    pub gate: Arc<Gate>,
    pub subscriptions: Arc<Subscriptions>,
    /// The overview as of a head height.
    overview: Mutex<Option<(u64, serde_json::Value)>>,
    scans: Arc<tokio::sync::Semaphore>,
}

/// The console's routes.
pub(crate) fn routes<N: NodeApi>(node: Arc<N>, gate: Arc<Gate>, subscriptions: Arc<Subscriptions>) -> Router {
    let state = Arc::new(Console {
        node,
        gate,
        subscriptions,
        overview: Mutex::new(None),
        scans: Arc::new(tokio::sync::Semaphore::new(SCANS)),
    });
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
            (header::CONTENT_SECURITY_POLICY, "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
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
    let head = *c.node.subscribe_head().borrow();
    let cached = c.overview.lock().as_ref().filter(|(at, _)| *at == head).map(|(_, v)| v.clone());
    if let Some(v) = cached {
        return Json(v).into_response();
    }
    let console = Arc::clone(&c);
    let computed =
        tokio::task::spawn_blocking(move || overview::overview(console.node.as_ref(), console.gate.membership())).await;
    match computed {
        Ok(Ok(v)) => {
            *c.overview.lock() = Some((head, v.clone()));
            Json(v).into_response()
        }
        Ok(Err(e)) => failed(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => failed(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// Limits, and refusals: every organization's for an admin credential of the node's own
/// file (or anyone when credentials are off), only its own organization's for a workspace
/// credential, none otherwise.
async fn access_route<N: NodeApi>(State(c): State<Arc<Console<N>>>, Extension(who): Extension<Principal>) -> Response {
    let mut rejections = c.gate.org_rejections();
    match (&who.organization, who.role) {
        (Some(org), _) => rejections.retain(|o, _| o == org),
        (None, Role::Admin) => {}
        (None, _) => rejections.clear(),
    }
    match overview::workspace_limits(c.node.as_ref()) {
        Ok(limits) => Json(json!({
            "membership": c.gate.membership(),
            "limits": limits,
            "rejections": rejections,
        }))
        .into_response(),
        Err(e) => failed(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn account_route<N: NodeApi>(State(c): State<Arc<Console<N>>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<chain_types::AccountId>() else {
        return failed(StatusCode::BAD_REQUEST, format!("`{id}` is not an account id"));
    };
    let Ok(permit) = Arc::clone(&c.scans).try_acquire_owned() else {
        return failed(StatusCode::TOO_MANY_REQUESTS, format!("{SCANS} account scans are running; retry in a moment"));
    };
    let node = Arc::clone(&c.node);
    let scanned = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        overview::recent_transactions(node.as_ref(), &id)
    })
    .await;
    match scanned {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => failed(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => failed(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}
