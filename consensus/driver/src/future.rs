//! Messages for the next heights, verified and kept per validator until their height starts:
//! a validator one height ahead (it committed before us) has its proposal and votes waiting
//! when we get there. Bounded per validator, so no one can fill it for the others.

use std::collections::{BTreeMap, VecDeque};

use chain_types::{BlockHeight, PublicKey};

use crate::ConsensusMessage;

/// Heights above the current one whose messages are kept.
pub const FUTURE_HEIGHTS: u64 = 2;
/// Votes kept per validator; a newer one pushes out the oldest.
pub const FUTURE_VOTES_PER_VALIDATOR: usize = 16;
/// Proposals (with their blocks) kept per validator.
pub const FUTURE_PROPOSALS_PER_VALIDATOR: usize = 2;

#[derive(Debug)]
pub(crate) struct FutureBuffer<P> {
    votes: BTreeMap<PublicKey, VecDeque<(P, ConsensusMessage)>>,
    proposals: BTreeMap<PublicKey, VecDeque<(P, ConsensusMessage)>>,
}

impl<P> Default for FutureBuffer<P> {
    fn default() -> Self {
        FutureBuffer { votes: BTreeMap::new(), proposals: BTreeMap::new() }
    }
}

impl<P> FutureBuffer<P> {
    /// Keeps a verified message of `signer`, once.
    pub fn push(&mut self, signer: PublicKey, from: P, message: ConsensusMessage) {
        let (map, cap) = match message {
            ConsensusMessage::Proposal { .. } => (&mut self.proposals, FUTURE_PROPOSALS_PER_VALIDATOR),
            _ => (&mut self.votes, FUTURE_VOTES_PER_VALIDATOR),
        };
        let queue = map.entry(signer).or_default();
        if queue.iter().any(|(_, m)| *m == message) {
            // A replay (or a relay of one we hold): it must not push out the signer's others.
            return;
        }
        if queue.len() >= cap {
            queue.pop_front();
        }
        queue.push_back((from, message));
    }

    /// The messages of `height`, removed; those of lower heights are dropped.
    pub fn take(&mut self, height: BlockHeight) -> Vec<(P, ConsensusMessage)> {
        let mut out = Vec::new();
        for map in [&mut self.proposals, &mut self.votes] {
            for queue in map.values_mut() {
                let kept = std::mem::take(queue);
                for (from, m) in kept {
                    match m.height() {
                        h if h == height => out.push((from, m)),
                        h if h > height => queue.push_back((from, m)),
                        _ => {}
                    }
                }
            }
            map.retain(|_, q| !q.is_empty());
        }
        out
    }

    pub fn len(&self) -> usize {
        self.votes.values().chain(self.proposals.values()).map(VecDeque::len).sum()
    }
}
