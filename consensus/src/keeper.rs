//! Votes of one height, per round and kind.
//!
//! A validator's second, different vote at one (round, kind) is equivocation: reported as
//! evidence once, and also counted for the value it names, as the paper counts messages
//! received ("2f+1 PREVOTE(h, r, id(v))" from distinct senders). Without that, an honest
//! node that heard an equivocator's other vote first could never see a proof of lock that
//! other honest nodes saw. Safety is unaffected: two quorums still share an honest
//! validator, who votes once. Each validator counts at most once per value, and at most
//! [`MAX_VALUES_PER_VOTER`] values are kept per validator.

use std::collections::{BTreeMap, BTreeSet};

use crate::{Evidence, Round, ValidatorIndex, ValueId, Vote, VoteKind};

/// Distinct values kept per validator per (round, kind); more are evidence only.
pub const MAX_VALUES_PER_VOTER: usize = 4;

#[derive(Debug, Default, Clone)]
struct RoundVotes {
    /// Per validator, its distinct votes in arrival order (the first is its "real" vote).
    prevotes: BTreeMap<ValidatorIndex, Vec<Vote>>,
    precommits: BTreeMap<ValidatorIndex, Vec<Vote>>,
    /// Validators that sent anything (proposal or vote) in this round.
    senders: BTreeSet<ValidatorIndex>,
}

impl RoundVotes {
    fn of(&self, kind: VoteKind) -> &BTreeMap<ValidatorIndex, Vec<Vote>> {
        match kind {
            VoteKind::Prevote => &self.prevotes,
            VoteKind::Precommit => &self.precommits,
        }
    }
}

/// What adding a vote did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    New,
    Duplicate,
    Equivocation(Evidence),
}

#[derive(Debug, Default, Clone)]
pub struct VoteKeeper {
    rounds: BTreeMap<Round, RoundVotes>,
}

impl VoteKeeper {
    pub fn add(&mut self, vote: Vote) -> Added {
        let round = self.rounds.entry(vote.round).or_default();
        round.senders.insert(vote.validator);
        let map = match vote.kind {
            VoteKind::Prevote => &mut round.prevotes,
            VoteKind::Precommit => &mut round.precommits,
        };
        let votes = map.entry(vote.validator).or_default();
        if votes.iter().any(|v| v.value == vote.value) {
            return Added::Duplicate;
        }
        let Some(first) = votes.first().cloned() else {
            votes.push(vote);
            return Added::New;
        };
        if votes.len() < MAX_VALUES_PER_VOTER {
            votes.push(vote.clone());
        }
        Added::Equivocation(Evidence::ConflictingVotes { first, second: vote })
    }

    /// Votes held, all rounds and kinds.
    pub fn len(&self) -> usize {
        self.rounds
            .values()
            .map(|r| r.prevotes.values().chain(r.precommits.values()).map(Vec::len).sum::<usize>())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn note_sender(&mut self, round: Round, validator: ValidatorIndex) {
        self.rounds.entry(round).or_default().senders.insert(validator);
    }

    /// Validators that voted `kind` in `round` for exactly `value` (`None` = nil).
    pub fn count(&self, round: Round, kind: VoteKind, value: Option<ValueId>) -> usize {
        self.rounds
            .get(&round)
            .map_or(0, |r| r.of(kind).values().filter(|vs| vs.iter().any(|v| v.value == value)).count())
    }

    /// Validators that voted `kind` in `round` for anything, nil included.
    pub fn count_any(&self, round: Round, kind: VoteKind) -> usize {
        self.rounds.get(&round).map_or(0, |r| r.of(kind).len())
    }

    pub fn votes_for(&self, round: Round, kind: VoteKind, value: Option<ValueId>) -> Vec<Vote> {
        self.rounds
            .get(&round)
            .map(|r| r.of(kind).values().flatten().filter(|v| v.value == value).cloned().collect())
            .unwrap_or_default()
    }

    /// Every vote held for a round (both kinds), for relaying a proof of lock.
    pub fn round_votes(&self, round: Round) -> Vec<Vote> {
        self.rounds
            .get(&round)
            .map(|r| r.prevotes.values().chain(r.precommits.values()).flatten().cloned().collect())
            .unwrap_or_default()
    }

    /// The highest round above `above` from which at least `threshold` validators sent
    /// something.
    pub fn skip_round(&self, above: Round, threshold: usize) -> Option<Round> {
        self.rounds.range(above.saturating_add(1)..).rev().find(|(_, r)| r.senders.len() >= threshold).map(|(k, _)| *k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_types::CryptoHash;

    fn vote(validator: u16, round: u32, value: Option<u8>) -> Vote {
        Vote { kind: VoteKind::Prevote, height: 1, round, value: value.map(|b| CryptoHash([b; 32])), validator }
    }

    #[test]
    fn counts_dedups_and_catches_equivocation() {
        let mut k = VoteKeeper::default();
        assert_eq!(k.add(vote(0, 0, Some(1))), Added::New);
        assert_eq!(k.add(vote(0, 0, Some(1))), Added::Duplicate);
        assert!(matches!(k.add(vote(0, 0, Some(2))), Added::Equivocation(Evidence::ConflictingVotes { .. })));
        assert_eq!(k.add(vote(0, 0, Some(2))), Added::Duplicate, "evidence is reported once");
        k.add(vote(1, 0, None));
        let v1 = Some(CryptoHash([1; 32]));
        let v2 = Some(CryptoHash([2; 32]));
        assert_eq!(k.count(0, VoteKind::Prevote, v1), 1);
        assert_eq!(k.count(0, VoteKind::Prevote, v2), 1, "the equivocator counts for each value it named");
        assert_eq!(k.count(0, VoteKind::Prevote, None), 1);
        assert_eq!(k.count_any(0, VoteKind::Prevote), 2, "but once among all voters");
        assert_eq!(k.count_any(0, VoteKind::Precommit), 0);
        for b in 3..20 {
            k.add(vote(0, 0, Some(b)));
        }
        assert_eq!(k.round_votes(0).len(), MAX_VALUES_PER_VOTER + 1, "bounded per voter");
        k.add(vote(2, 3, None));
        k.note_sender(3, 3);
        assert_eq!(k.skip_round(0, 2), Some(3));
        assert_eq!(k.skip_round(3, 1), None);
    }
}
