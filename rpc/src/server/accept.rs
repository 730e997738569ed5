//! The accept loop: each connection takes a slot under the connection caps (total and per
//! client address) or is answered 429 and closed, then is served on its own task. On
//! shutdown the loop stops accepting, every connection closes gracefully (in-progress
//! requests get [`connection::CLOSE_GRACE`]), and the loop returns once all are gone.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::connection;
use crate::access::{refuse, AccessConfig, ConnectionLimits};

/// Serves `app` on `listener` with the connection settings of `config` until `shutdown`
/// resolves.
pub async fn run(
    listener: TcpListener,
    app: Router,
    config: AccessConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = Arc::new(ConnectionLimits::new(&config));
    let builder = Arc::new(connection::builder(&config));
    let config = Arc::new(config);
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(target: "rpc", error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        match limits.admit(peer.ip()) {
            Ok(slot) => {
                let serve = connection::serve(
                    builder.clone(),
                    config.clone(),
                    app.clone(),
                    (stream, peer),
                    stopped.clone(),
                    slot,
                );
                connections.spawn(serve);
            }
            Err(why) => {
                tracing::debug!(target: "rpc", %peer, reason = %why, "connection refused");
                tokio::spawn(refuse(stream, why));
            }
        }
    }
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}
