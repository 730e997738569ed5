//! `/console/events`: final blocks as server-sent events (`event: block`), one per height in
//! order, from the head at connection time on. Each carries the proposer, the transaction
//! count, the interval since its parent and, for a block seen here as it became the head, how
//! long after its timestamp this node had it final.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt as _};
use serde_json::json;

use super::Console;
use crate::access::Principal;
use crate::grpc::subscriptions::{holder_from, Slot};
use crate::{BlockRef, NodeApi};

/// Most blocks sent at once to catch up after the stream fell behind (older ones are skipped:
/// the console shows recent blocks, the explorer any).
pub const CATCH_UP: u64 = 50;

/// Opens a stream under the subscription caps (429 with the cap's message past them).
pub(super) async fn stream<N: NodeApi>(State(c): State<Arc<Console<N>>>, req: Request) -> Response {
    let ext = req.extensions();
    let holder = holder_from(ext.get::<Principal>(), ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0));
    let slot = match c.subscriptions.open(holder) {
        Ok(slot) => slot,
        Err(status) => return super::failed(StatusCode::TOO_MANY_REQUESTS, status.message()),
    };
    let node = Arc::clone(&c.node);
    let mut head = node.subscribe_head();
    let start = (*head.borrow_and_update()).saturating_sub(10);
    let blocks = block_stream(node, head, start, slot);
    Sse::new(blocks).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

/// Each height from `start` in order, batched as the head moves; `slot` is held until the
/// stream is dropped.
fn block_stream<N: NodeApi>(
    node: Arc<N>,
    head: tokio::sync::watch::Receiver<u64>,
    start: u64,
    slot: Slot,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold((node, head, start, true, slot), |(node, mut head, mut next, mut first, slot)| async move {
        loop {
            let top = *head.borrow_and_update();
            if next <= top {
                // Catch up at most CATCH_UP blocks; the newest is the one just final here.
                if top - next >= CATCH_UP {
                    next = top + 1 - CATCH_UP;
                }
                let mut events = Vec::new();
                while next <= top {
                    if let Some(e) = block_event(node.as_ref(), next, next == top && !first) {
                        events.push(e);
                    }
                    next += 1;
                }
                first = false;
                let batch = futures::stream::iter(events.into_iter().map(Ok));
                return Some((batch, (node, head, next, first, slot)));
            }
            if head.changed().await.is_err() {
                return None;
            }
        }
    })
    .flatten()
}

fn block_event<N: NodeApi>(node: &N, height: u64, just_final: bool) -> Option<Event> {
    let block = node.block(BlockRef::Height(height)).ok()?;
    let interval = match height {
        0 | 1 => None,
        h => node
            .block(BlockRef::Height(h - 1))
            .ok()
            .map(|p| block.header.timestamp_ms.saturating_sub(p.header.timestamp_ms)),
    };
    let now =
        u64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_millis()).ok()?;
    let data = json!({
        "height": height,
        "hash": block.hash(),
        "author": block.header.proposer,
        "txs": block.transactions.len(),
        "timestamp_ms": block.header.timestamp_ms,
        "interval_ms": interval,
        "finality_ms": just_final.then(|| now.saturating_sub(block.header.timestamp_ms)),
    });
    Some(Event::default().event("block").id(height.to_string()).data(data.to_string()))
}
