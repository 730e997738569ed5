//! Consensus messages and transaction gossip over one long-lived stream per peer and
//! direction (`/chain/stream/1`), instead of a request-response stream per message.
//!
//! Outbound, each connected peer has a writer task fed by a bounded queue of encoded frames:
//! a broadcast is encoded once and shared, the writer coalesces what is queued into one
//! write, and a full queue (a peer that does not keep up) drops the frame, counted, rather
//! than stalling anyone; consensus relays what matters. A stream that breaks is reopened.
//!
//! Inbound, each accepted stream has a reader task: frames are read one after another
//! against the protocol's limit (growing the buffer as bytes arrive) and delivered to the
//! [`InboundSink`]. A frame over the limit or undecodable ends that stream; a peer may hold
//! at most [`INBOUND_STREAMS_PER_PEER`] at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{AsyncWriteExt, StreamExt};
use libp2p::{PeerId, StreamProtocol};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::codec::read_frame_len;
use super::{InboundSink, NetMessage};

/// The protocol of the long-lived message streams.
pub const STREAM_PROTOCOL: &str = "/chain/stream/1";
/// Frames queued per peer before new ones are dropped.
const OUTBOUND_FRAMES: usize = 1024;
/// Queued frames coalesced into one write, up to this many bytes.
const WRITE_BATCH_BYTES: usize = 1024 * 1024;
/// Streams one peer may have open towards us at once (one, plus one being replaced).
pub const INBOUND_STREAMS_PER_PEER: usize = 2;
/// Wait before reopening a stream that failed.
const REOPEN_AFTER: Duration = Duration::from_millis(200);

/// A message encoded once, with its length prefix, shared by every peer it goes to.
pub type Frame = Arc<[u8]>;

/// Encodes `message` as one shareable frame.
pub fn frame(message: &NetMessage) -> Frame {
    super::codec::encode(message).into()
}

fn protocol() -> StreamProtocol {
    StreamProtocol::new(STREAM_PROTOCOL)
}

/// The writers of the connected peers. Owned by the network task.
pub(crate) struct Outbound {
    control: libp2p_stream::Control,
    queues: HashMap<PeerId, mpsc::Sender<Frame>>,
    dropped: u64,
}

impl Outbound {
    pub fn new(control: libp2p_stream::Control) -> Self {
        Outbound { control, queues: HashMap::new(), dropped: 0 }
    }

    /// A peer connected: start its writer.
    pub fn connected(&mut self, peer: PeerId) {
        if self.queues.contains_key(&peer) {
            return;
        }
        let (tx, rx) = mpsc::channel(OUTBOUND_FRAMES);
        self.queues.insert(peer, tx);
        tokio::spawn(write(self.control.clone(), peer, rx));
    }

    /// Its last connection closed: its writer ends with the queue.
    pub fn disconnected(&mut self, peer: &PeerId) {
        self.queues.remove(peer);
    }

    pub fn send(&mut self, peer: &PeerId, frame: Frame) {
        let Some(queue) = self.queues.get(peer) else { return };
        if queue.try_send(frame).is_err() {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                tracing::warn!(target: "chain::network", %peer, dropped = self.dropped, "a peer does not keep up: messages to it dropped");
            }
        }
    }

    pub fn broadcast(&mut self, frame: &Frame) {
        let peers: Vec<PeerId> = self.queues.keys().copied().collect();
        for peer in peers {
            self.send(&peer, frame.clone());
        }
    }
}

/// One peer's writer: opens the stream, writes queued frames (coalesced), reopens the
/// stream when it breaks, and ends when the queue is dropped.
async fn write(mut control: libp2p_stream::Control, peer: PeerId, mut queue: mpsc::Receiver<Frame>) {
    let mut buf = Vec::new();
    loop {
        let mut stream = match control.open_stream(peer, protocol()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(target: "chain::network", %peer, error = %e, "cannot open a message stream");
                tokio::time::sleep(REOPEN_AFTER).await;
                if queue.is_closed() {
                    return;
                }
                continue;
            }
        };
        loop {
            let Some(first) = queue.recv().await else {
                let _ = stream.close().await;
                return;
            };
            buf.clear();
            buf.extend_from_slice(&first);
            while buf.len() < WRITE_BATCH_BYTES {
                match queue.try_recv() {
                    Ok(frame) => buf.extend_from_slice(&frame),
                    Err(_) => break,
                }
            }
            if let Err(e) = async {
                stream.write_all(&buf).await?;
                stream.flush().await
            }
            .await
            {
                // What was in `buf` is lost, as a dropped message would be.
                tracing::debug!(target: "chain::network", %peer, error = %e, "message stream broke; reopening");
                break;
            }
        }
    }
}

/// Accepts peers' message streams and reads each on a task of its own.
pub(crate) fn accept(control: &mut libp2p_stream::Control, max_frame: usize, sink: Arc<dyn InboundSink>) {
    let mut incoming = match control.accept(protocol()) {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(target: "chain::network", error = %e, "message streams already accepted elsewhere");
            return;
        }
    };
    let open: Arc<Mutex<HashMap<PeerId, usize>>> = Arc::default();
    tokio::spawn(async move {
        while let Some((peer, stream)) = incoming.next().await {
            {
                let mut open = open.lock();
                let n = open.entry(peer).or_default();
                if *n >= INBOUND_STREAMS_PER_PEER {
                    tracing::debug!(target: "chain::network", %peer, "too many message streams from one peer: refused");
                    continue;
                }
                *n += 1;
            }
            let (open, sink) = (open.clone(), sink.clone());
            tokio::spawn(async move {
                read(peer, stream, max_frame, sink.as_ref()).await;
                let mut open = open.lock();
                if let Some(n) = open.get_mut(&peer) {
                    *n -= 1;
                    if *n == 0 {
                        open.remove(&peer);
                    }
                }
            });
        }
    });
}

/// Reads frames until the stream ends or a frame is refused.
async fn read(peer: PeerId, mut stream: libp2p::Stream, max_frame: usize, sink: &dyn InboundSink) {
    loop {
        match read_frame_len::<_, NetMessage>(&mut stream, max_frame).await {
            Ok((message, bytes)) => sink.deliver(peer, message, bytes),
            Err(e) => {
                if e.kind() != std::io::ErrorKind::UnexpectedEof {
                    tracing::debug!(target: "chain::network", %peer, error = %e, "message stream ended");
                }
                return;
            }
        }
    }
}
