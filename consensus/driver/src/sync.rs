//! Whom to catch up from. A peer becomes a candidate only with proof that it is ahead: a
//! commit certificate for a height above our head, or (collectively) messages of f + 1
//! validators at later heights that it relayed. One block request is in flight at a time; a
//! peer whose request fails or whose blocks do not verify is backed off for a while.

use std::collections::BTreeMap;

use chain_types::BlockHeight;

#[derive(Debug)]
pub(crate) struct SyncState<P> {
    /// Peers with the height they proved they have.
    pub candidates: BTreeMap<P, BlockHeight>,
    /// The request in flight: peer, its number, the first height asked for.
    pub in_flight: Option<(P, u64, BlockHeight)>,
    /// Peers not to ask until the given monotonic time.
    pub backoff: BTreeMap<P, u64>,
    pub requests: u64,
}

impl<P> Default for SyncState<P> {
    fn default() -> Self {
        SyncState { candidates: BTreeMap::new(), in_flight: None, backoff: BTreeMap::new(), requests: 0 }
    }
}

impl<P: Ord + Copy> SyncState<P> {
    pub fn prove(&mut self, peer: P, height: BlockHeight) {
        let h = self.candidates.entry(peer).or_insert(height);
        *h = (*h).max(height);
    }

    /// The candidate with the highest proven height, not backed off at `now`.
    pub fn pick(&self, head: BlockHeight, now: u64) -> Option<(P, BlockHeight)> {
        self.candidates
            .iter()
            .filter(|(p, h)| **h > head && self.backoff.get(p).is_none_or(|until| *until <= now))
            .max_by_key(|(_, h)| **h)
            .map(|(p, h)| (*p, *h))
    }

    /// The earliest time a backed-off candidate may be asked again.
    pub fn next_retry(&self, head: BlockHeight) -> Option<u64> {
        self.candidates.iter().filter(|(_, h)| **h > head).filter_map(|(p, _)| self.backoff.get(p).copied()).min()
    }

    /// Forgets candidates that are no longer ahead of `head`.
    pub fn caught_up_to(&mut self, head: BlockHeight) {
        self.candidates.retain(|_, h| *h > head);
    }

    /// Whether some peer proved it is ahead of `head`.
    pub fn behind(&self, head: BlockHeight) -> bool {
        self.candidates.values().any(|h| *h > head)
    }
}
