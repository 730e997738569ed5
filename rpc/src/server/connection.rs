//! One client connection: HTTP/1.1 or HTTP/2 (hyper-util's auto builder, which tells them
//! apart by the HTTP/2 preface) with the connection timeouts of `[rpc.access]`:
//! - HTTP/1: hyper's header-read timeout, for every request (also the wait for the next
//!   request on a kept-alive connection);
//! - HTTP/2: keep-alive pings, a peer that does not answer in time is dropped;
//! - both: a watchdog closes (gracefully) a connection with no request in progress: after
//!   `header_read_timeout` before its first request, else after `idle_timeout`. A closing
//!   connection is dropped once nothing has been in progress for [`CLOSE_LINGER`], or after
//!   [`CLOSE_GRACE`] at most.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tower::ServiceExt as _;

use super::activity::{Activity, Tracked};
use crate::access::{AccessConfig, ConnectionOrgs, Slot};

/// How long a closing connection may take to finish what it has in progress.
pub const CLOSE_GRACE: Duration = Duration::from_secs(10);
/// A closing connection with nothing in progress is dropped after this long, whether or not
/// the peer took part in the graceful close (an HTTP/2 peer that never finished its
/// handshake, or never answers the GOAWAY's ping, would hold it open).
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// The protocol settings every connection is served with.
pub fn builder(config: &AccessConfig) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1().timer(TokioTimer::new()).header_read_timeout(config.header_read_timeout());
    b.http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(config.http2_keepalive_interval())
        .keep_alive_timeout(config.http2_keepalive_timeout());
    b
}

/// The router as a hyper service for one connection: each request carries the peer's
/// address ([`ConnectInfo`]) and is counted in the connection's [`Activity`].
#[derive(Debug, Clone)]
struct PerConnection {
    app: Router,
    peer: SocketAddr,
    activity: Activity,
    /// The organizations whose credentials this connection used (their connection caps).
    orgs: ConnectionOrgs,
}

impl hyper::service::Service<Request<Incoming>> for PerConnection {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let busy = self.activity.begin();
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(self.peer));
        req.extensions_mut().insert(self.orgs.clone());
        let app = self.app.clone();
        Box::pin(async move {
            let response = app.oneshot(req).await?;
            Ok(response.map(|body| Tracked::body(body, busy)))
        })
    }
}

/// Serves one connection until it ends, goes idle, or `shutdown` turns true; `slot` (its
/// place under the connection caps) is held until then.
pub async fn serve(
    builder: Arc<auto::Builder<TokioExecutor>>,
    config: Arc<AccessConfig>,
    app: Router,
    (stream, peer): (TcpStream, SocketAddr),
    mut shutdown: watch::Receiver<bool>,
    _slot: Slot,
) {
    let activity = Activity::default();
    let service = PerConnection { app, peer, activity: activity.clone(), orgs: ConnectionOrgs::default() };
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let why = tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(target: "rpc", %peer, error = %e, "connection ended with an error");
            }
            return;
        }
        () = activity.until_idle(config.header_read_timeout(), config.idle_timeout()) => "idle",
        _ = shutdown.wait_for(|stop| *stop) => "shutting down",
    };
    tracing::debug!(target: "rpc", %peer, why, "closing connection");
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn.as_mut() => {}
        () = activity.until_idle(CLOSE_LINGER, CLOSE_LINGER) => {}
        () = tokio::time::sleep(CLOSE_GRACE) => {
            tracing::debug!(target: "rpc", %peer, "connection dropped: still busy after the grace period");
        }
    }
}
