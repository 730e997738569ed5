//! Events for the consensus thread, from the tokio side: peer messages (a bounded queue per
//! peer, served round-robin, so one peer flooding cannot crowd out the others or grow
//! memory), block responses, work arriving, shutdown. The thread waits on it until an event
//! or its next timer.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use consensus_driver::{ConsensusMessage, Event};
use libp2p::PeerId;
use parking_lot::{Condvar, Mutex};

/// Consensus messages queued per peer, and their bytes (at least two of the largest proposal
/// must fit: see [`Mailbox::new`]).
pub const PEER_MESSAGES: usize = 1024;

#[derive(Debug, Default)]
struct PeerQueue {
    messages: VecDeque<(ConsensusMessage, usize)>,
    bytes: usize,
}

#[derive(Debug, Default)]
struct State {
    peers: BTreeMap<PeerId, PeerQueue>,
    /// The peer served last (round-robin).
    cursor: Option<PeerId>,
    /// Block responses: few, and answers to our own requests.
    control: VecDeque<Event<PeerId>>,
    /// Transactions arrived since the last wait (coalesced into one event).
    work: bool,
    shutdown: bool,
    dropped: u64,
}

/// The consensus thread was told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stopped;

#[derive(Debug)]
pub struct Mailbox {
    state: Mutex<State>,
    ready: Condvar,
    peer_bytes: usize,
}

impl Mailbox {
    /// A mailbox whose per-peer queue holds up to [`PEER_MESSAGES`] messages and
    /// `peer_bytes` bytes.
    pub fn new(peer_bytes: usize) -> Self {
        Mailbox { state: Mutex::new(State::default()), ready: Condvar::new(), peer_bytes }
    }

    /// Queues a peer's consensus message; false (and dropped) if that peer's queue is full.
    pub fn push_message(&self, peer: PeerId, message: ConsensusMessage, bytes: usize) -> bool {
        let mut state = self.state.lock();
        let queue = state.peers.entry(peer).or_default();
        if queue.messages.len() >= PEER_MESSAGES || queue.bytes.saturating_add(bytes) > self.peer_bytes {
            state.dropped += 1;
            let dropped = state.dropped;
            drop(state);
            if dropped.is_power_of_two() {
                tracing::warn!(target: "chain::network", %peer, dropped, "a peer's consensus queue is full: dropping its messages");
            }
            return false;
        }
        queue.bytes += bytes;
        queue.messages.push_back((message, bytes));
        drop(state);
        self.ready.notify_one();
        true
    }

    pub fn push(&self, event: Event<PeerId>) {
        self.state.lock().control.push_back(event);
        self.ready.notify_one();
    }

    pub fn work_arrived(&self) {
        self.state.lock().work = true;
        self.ready.notify_one();
    }

    pub fn shutdown(&self) {
        self.state.lock().shutdown = true;
        self.ready.notify_one();
    }

    /// Messages dropped because a peer's queue was full.
    pub fn dropped(&self) -> u64 {
        self.state.lock().dropped
    }

    /// The next event, waiting until `deadline` at most (forever without one): `None` when
    /// the deadline passed.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> Result<Option<Event<PeerId>>, Stopped> {
        let mut state = self.state.lock();
        loop {
            if state.shutdown {
                return Err(Stopped);
            }
            if let Some(e) = state.control.pop_front() {
                return Ok(Some(e));
            }
            if std::mem::take(&mut state.work) {
                return Ok(Some(Event::WorkArrived));
            }
            if let Some(e) = next_message(&mut state) {
                return Ok(Some(e));
            }
            match deadline {
                Some(at) => {
                    if self.ready.wait_until(&mut state, at).timed_out() {
                        return Ok(None);
                    }
                }
                None => self.ready.wait(&mut state),
            }
        }
    }
}

/// The next peer message, round-robin over the peers after the one served last.
fn next_message(state: &mut State) -> Option<Event<PeerId>> {
    let after = state.cursor;
    let peer = state
        .peers
        .iter()
        .filter(|(_, q)| !q.messages.is_empty())
        .map(|(p, _)| *p)
        .find(|p| after.is_none_or(|a| *p > a))
        .or_else(|| state.peers.iter().find(|(_, q)| !q.messages.is_empty()).map(|(p, _)| *p))?;
    let queue = state.peers.get_mut(&peer)?;
    let (message, bytes) = queue.messages.pop_front()?;
    queue.bytes -= bytes;
    if queue.messages.is_empty() {
        state.peers.remove(&peer);
    }
    state.cursor = Some(peer);
    Some(Event::Message { from: peer, message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_types::{CommitCertificate, CryptoHash};

    fn message(height: u64) -> ConsensusMessage {
        ConsensusMessage::Certificate(CommitCertificate {
            height,
            round: 0,
            block_hash: CryptoHash::default(),
            signatures: vec![],
        })
    }

    fn next(m: &Mailbox) -> (PeerId, u64) {
        match m.wait(Some(Instant::now())) {
            Ok(Some(Event::Message { from, message })) => (from, message.height()),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn a_flooding_peer_is_bounded_and_served_in_turn_with_the_others() {
        let m = Mailbox::new(1_000);
        let (flood, honest) = (PeerId::random(), PeerId::random());
        let accepted = (0..5_000).filter(|h| m.push_message(flood, message(*h), 10)).count();
        assert_eq!(accepted, 100, "the byte bound (1000 / 10) holds first");
        assert_eq!(m.dropped(), 4_900);
        assert!(m.push_message(honest, message(7), 10), "another peer still gets in");
        let served: Vec<PeerId> = (0..4).map(|_| next(&m).0).collect();
        assert!(served.contains(&honest), "the honest peer is served within a round: {served:?}");
        let many = Mailbox::new(usize::MAX);
        let accepted = (0..5_000).filter(|h| many.push_message(flood, message(*h), 1)).count();
        assert_eq!(accepted, PEER_MESSAGES, "and the count bound");
    }
}
