//! The driver's timers, on the monotonic clock.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use consensus::Timeout;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// A state machine timeout.
    Consensus(Timeout),
    /// Gossip again if the height made no progress; retry unsigned messages.
    Relay,
    /// Check whether the waiting height should start (block interval).
    Wake,
    /// The block request with this number has not been answered.
    SyncDeadline(u64),
    /// A peer's back-off after a failed block request is over: ask again.
    SyncRetry,
    /// Proposals' blocks still lack transactions: ask every peer.
    Fetch,
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(u64, u64, Timer)>>,
    seq: u64,
}

impl Timers {
    pub fn set(&mut self, at_ms: u64, timer: Timer) {
        self.seq += 1;
        self.heap.push(Reverse((at_ms, self.seq, timer)));
    }

    pub fn next_deadline(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// The earliest timer due at `now_ms`, removed.
    pub fn pop_due(&mut self, now_ms: u64) -> Option<Timer> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= now_ms => self.heap.pop().map(|Reverse((_, _, t))| t),
            _ => None,
        }
    }

    /// Drops the consensus timeouts of heights below `height` (they can no longer fire
    /// usefully, and a long catch-up would pile them up).
    pub fn drop_below(&mut self, height: u64) {
        self.heap.retain(|Reverse((_, _, t))| !matches!(t, Timer::Consensus(c) if c.height < height));
    }
}
