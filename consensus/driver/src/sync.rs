//! Whom to catch up from. A peer becomes a proven candidate with proof that it is ahead: a
//! commit certificate for a height above our head, or (collectively) messages of f + 1
//! validators at later heights that it relayed. A peer can also be a claimed candidate:
//! one whose later-height messages we could not check (the validator set may have changed
//! in between, and we know only our next height's set), or that said it has more after
//! serving verified blocks. Proven ones are asked first; a claimed one is asked only when no
//! proven one waits, and is dropped as soon as it serves nothing that verifies.
//!
//! One block request is in flight at a time; a peer whose request fails or whose blocks do
//! not verify is backed off for a while (a claimed one longer).

use std::collections::BTreeMap;

use chain_types::BlockHeight;

/// How a candidate earned its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Standing {
    Claimed,
    Proven,
}

#[derive(Debug)]
pub(crate) struct SyncState<P> {
    /// Peers with the height they proved or claimed.
    pub candidates: BTreeMap<P, (BlockHeight, Standing)>,
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
        let entry = self.candidates.entry(peer).or_insert((height, Standing::Proven));
        *entry = match entry.1 {
            Standing::Proven => (entry.0.max(height), Standing::Proven),
            Standing::Claimed => (height, Standing::Proven),
        };
    }

    /// A peer may be at `height` (unchecked); a proven standing is kept.
    pub fn claim(&mut self, peer: P, height: BlockHeight) {
        let entry = self.candidates.entry(peer).or_insert((height, Standing::Claimed));
        if entry.1 == Standing::Claimed {
            entry.0 = entry.0.max(height);
        }
    }

    pub fn standing(&self, peer: &P) -> Option<Standing> {
        self.candidates.get(peer).map(|(_, s)| *s)
    }

    /// The peer served nothing that verifies: no longer a candidate.
    pub fn drop_candidate(&mut self, peer: &P) {
        self.candidates.remove(peer);
    }

    /// The best candidate not backed off at `now`: proven before claimed, then the highest.
    pub fn pick(&self, head: BlockHeight, now: u64) -> Option<(P, BlockHeight)> {
        self.candidates
            .iter()
            .filter(|(p, (h, _))| *h > head && self.backoff.get(p).is_none_or(|until| *until <= now))
            .max_by_key(|(_, (h, s))| (*s, *h))
            .map(|(p, (h, _))| (*p, *h))
    }

    /// Whether a proven candidate waits while the request in flight went to a claimed one.
    pub fn proven_waits(&self, head: BlockHeight) -> bool {
        let in_flight_claimed = self.in_flight.is_some_and(|(p, _, _)| self.standing(&p) != Some(Standing::Proven));
        in_flight_claimed && self.candidates.values().any(|(h, s)| *h > head && *s == Standing::Proven)
    }

    /// The earliest time a backed-off candidate may be asked again.
    pub fn next_retry(&self, head: BlockHeight) -> Option<u64> {
        self.candidates.iter().filter(|(_, (h, _))| *h > head).filter_map(|(p, _)| self.backoff.get(p).copied()).min()
    }

    /// Forgets candidates that are no longer ahead of `head`.
    pub fn caught_up_to(&mut self, head: BlockHeight) {
        self.candidates.retain(|_, (h, _)| *h > head);
    }

    /// Whether some peer proved it is ahead of `head`.
    pub fn behind(&self, head: BlockHeight) -> bool {
        self.candidates.values().any(|(h, s)| *h > head && *s == Standing::Proven)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proven_candidates_come_first_and_claims_never_downgrade_them() {
        let mut s = SyncState::<u8>::default();
        s.claim(1, 1_000_000);
        s.prove(2, 12);
        assert_eq!(s.pick(10, 0), Some((2, 12)), "proof beats a higher claim");
        assert!(s.behind(10), "a proven candidate means behind");
        s.drop_candidate(&2);
        assert!(!s.behind(10), "a claim alone is not being behind");
        assert_eq!(s.pick(10, 0), Some((1, 1_000_000)));
        s.prove(1, 11);
        s.claim(1, 50);
        assert_eq!(s.candidates[&1], (11, Standing::Proven));
        s.in_flight = Some((3, 1, 11));
        s.claim(3, 20);
        assert!(s.proven_waits(10));
        s.caught_up_to(11);
        assert!(!s.proven_waits(11));
        assert_eq!(s.pick(11, 0), Some((3, 20)));
    }
}
