//! Server-streamed subscriptions. Each follows the committed head and reads blocks from the
//! store in height order, so a slow reader is never handed a gap: it falls behind and
//! catches up (the channel is bounded, so the follower waits for the reader). The follower
//! stops when the client goes away or the node shuts down, and gives back its subscription
//! slot then.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;

use chain_types::{AccountId, Block, BlockHeight};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::Status;

use super::subscriptions::Slot;
use super::{convert, proto};
use crate::{BlockRef, NodeApi};

pub type Subscription<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Messages buffered per subscriber before the follower waits.
const BUFFER: usize = 32;

/// Calls `emit` for every committed block from `from` (default: the block after the head)
/// on, sending what it returns, until the client or the node goes away.
fn follow<N, T, F>(node: Arc<N>, slot: Slot, from: Option<BlockHeight>, emit: F) -> Subscription<T>
where
    N: NodeApi,
    T: Send + 'static,
    F: Fn(&N, &Block) -> Result<Vec<T>, Status> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(BUFFER);
    let mut heads = node.subscribe_head();
    let mut next = from.unwrap_or_else(|| heads.borrow().saturating_add(1));
    tokio::spawn(async move {
        let _slot = slot;
        loop {
            let head = *heads.borrow_and_update();
            while next <= head {
                let items =
                    node.block(BlockRef::Height(next)).map_err(convert::node_error).and_then(|b| emit(&node, &b));
                let items = match items {
                    Ok(items) => items,
                    Err(e) => {
                        // The client learns why its stream ends.
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                for item in items {
                    if tx.send(Ok(item)).await.is_err() {
                        return;
                    }
                }
                next += 1;
            }
            tokio::select! {
                changed = heads.changed() => if changed.is_err() { return },
                () = tx.closed() => return,
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

pub fn blocks<N: NodeApi>(node: Arc<N>, slot: Slot, from: Option<BlockHeight>) -> Subscription<proto::BlockView> {
    follow(node, slot, from, |node, b| {
        let approvals = node.approvals(b.header.height).map_err(convert::node_error)?;
        Ok(vec![convert::block(b, &approvals)])
    })
}

pub fn outcomes<N: NodeApi>(
    node: Arc<N>,
    slot: Slot,
    accounts: HashSet<AccountId>,
    from: Option<BlockHeight>,
) -> Subscription<proto::TransactionOutcome> {
    follow(node, slot, from, move |node, b| {
        let mut out = Vec::new();
        for t in &b.transactions {
            let (signer, receiver) = (&t.transaction.signer_id, &t.transaction.receiver_id);
            if !accounts.contains(signer) && !accounts.contains(receiver) {
                continue;
            }
            let hash = t.hash();
            match node.stored_outcome(&hash).map_err(convert::node_error)? {
                Some(o) => out.push(convert::outcome(&o)),
                None => {
                    return Err(Status::internal(format!(
                        "block {} holds transaction {hash} without a stored outcome",
                        b.header.height
                    )))
                }
            }
        }
        Ok(out)
    })
}
