//! One height's state: the Tendermint core with the signatures, blocks and own messages the
//! driver keeps beside it. Everything here is bounded by what the core keeps: proposals by
//! [`MAX_PROPOSALS_PER_ROUND`] per round, vote signatures by [`MAX_VALUES_PER_VOTER`] per
//! validator, round and kind, rounds by the core's window.

use std::collections::HashMap;
use std::sync::Arc;

use chain_types::{
    CommitCertificate, CommitSignature, CompactBlock, ProposalSignBytes, Signature, VoteKind, VoteSignBytes,
};
use consensus::{
    Height, Output, Proposal, Round, Step, Tendermint, TimeoutParams, ValidatorIndex, ValidatorSet, ValueId, Vote,
    MAX_PROPOSALS_PER_ROUND, MAX_VALUES_PER_VOTER,
};

use crate::assembly::Assembly;
use crate::{ConsensusMessage, Executed};

/// What a proposer signs for `p` (one definition for signing and verifying).
pub fn proposal_bytes(chain_id: &str, p: &Proposal) -> Vec<u8> {
    ProposalSignBytes {
        chain_id: chain_id.to_owned(),
        height: p.height,
        round: p.round,
        block_hash: p.value,
        pol_round: p.pol_round,
    }
    .to_bytes()
}

/// What a validator signs for `v` (one definition for signing and verifying).
pub fn vote_bytes(chain_id: &str, v: &Vote) -> Vec<u8> {
    VoteSignBytes { chain_id: chain_id.to_owned(), kind: v.kind, height: v.height, round: v.round, block_hash: v.value }
        .to_bytes()
}

type Voter = (VoteKind, Round, ValidatorIndex);

pub(crate) struct HeightRun<E> {
    pub height: Height,
    /// The validators of this height.
    pub set: Arc<ValidatorSet>,
    pub core: Tendermint,
    /// Blocks executed at this height, by id (of kept proposals and our own).
    pub blocks: HashMap<ValueId, E>,
    /// Signed proposals kept, by round (own and peers').
    pub proposals: HashMap<Round, Vec<(Proposal, Signature)>>,
    /// Kept proposals whose blocks wait for transactions, by id.
    pub assembling: HashMap<ValueId, Assembly>,
    /// Signatures of the votes kept (own and peers'), for certificates, relays and evidence.
    votes: HashMap<Voter, Vec<(Option<ValueId>, Signature)>>,
    /// The signature of the message being fed to the core (evidence may need it although
    /// the message itself is not kept).
    pub incoming: Option<Signature>,
    /// Own signed messages of this height, for relaying.
    pub own: Vec<ConsensusMessage>,
    /// Own proposals and votes the signer could not sign yet; retried on every relay tick.
    pub unsigned: Vec<Output>,
    /// Decided, waiting for a complete certificate.
    pub decided: Option<(Round, ValueId)>,
    /// (round, step) at the last relay tick: a relay happens when nothing moved since.
    pub last_relay: (Round, Step),
}

impl<E: Executed> HeightRun<E> {
    pub fn new(height: Height, set: Arc<ValidatorSet>, me: Option<ValidatorIndex>, timeouts: TimeoutParams) -> Self {
        HeightRun {
            height,
            core: Tendermint::new(timeouts, set.len(), me, height),
            set,
            blocks: HashMap::new(),
            proposals: HashMap::new(),
            assembling: HashMap::new(),
            votes: HashMap::new(),
            incoming: None,
            own: Vec::new(),
            unsigned: Vec::new(),
            decided: None,
            last_relay: (u32::MAX, Step::Commit),
        }
    }

    /// Keeps a vote's signature, as the core keeps the vote: within the round window and up
    /// to [`MAX_VALUES_PER_VOTER`] values per validator, round and kind.
    pub fn keep_vote(&mut self, v: &Vote, signature: Signature) {
        if !self.core.in_window(v.round) {
            return;
        }
        self.keep_vote_unchecked(v, signature);
    }

    /// As [`HeightRun::keep_vote`] without the round window: for own votes replayed from the
    /// WAL before the core has moved to their round (bounded: one per round and step signed).
    pub fn keep_own_vote(&mut self, v: &Vote, signature: Signature) {
        self.keep_vote_unchecked(v, signature);
    }

    fn keep_vote_unchecked(&mut self, v: &Vote, signature: Signature) {
        let kept = self.votes.entry((v.kind, v.round, v.validator)).or_default();
        if kept.len() < MAX_VALUES_PER_VOTER && !kept.iter().any(|(value, _)| *value == v.value) {
            kept.push((v.value, signature));
        }
    }

    pub fn vote_signature(&self, v: &Vote) -> Option<Signature> {
        let kept = self.votes.get(&(v.kind, v.round, v.validator))?;
        kept.iter().find(|(value, _)| *value == v.value).map(|(_, s)| *s)
    }

    /// Whether a proposal (same round, value and proof-of-lock round) is kept.
    pub fn has_proposal(&self, p: &Proposal) -> bool {
        self.proposals.get(&p.round).is_some_and(|ps| ps.iter().any(|(q, _)| q == p))
    }

    /// Whether the round has room for another proposal.
    pub fn proposal_room(&self, round: Round) -> bool {
        self.proposals.get(&round).map_or(0, Vec::len) < MAX_PROPOSALS_PER_ROUND
    }

    pub fn keep_proposal(&mut self, p: Proposal, signature: Signature) {
        if !self.has_proposal(&p) && self.proposal_room(p.round) {
            self.proposals.entry(p.round).or_default().push((p, signature));
        }
    }

    pub fn proposal_signature(&self, p: &Proposal) -> Option<Signature> {
        self.proposals.get(&p.round)?.iter().find(|(q, _)| q == p).map(|(_, s)| *s)
    }

    /// Validators of this height from whom a signed vote (any kind, any round) was kept.
    pub fn voters(&self) -> usize {
        self.votes.keys().map(|(_, _, v)| *v).collect::<std::collections::BTreeSet<_>>().len()
    }

    /// Messages held: signatures kept, proposals kept, own messages.
    pub fn held(&self) -> usize {
        self.votes.values().map(Vec::len).sum::<usize>()
            + self.proposals.values().map(Vec::len).sum::<usize>()
            + self.assembling.len()
            + self.own.len()
    }

    /// The kept proposals of a round whose blocks we hold, as messages.
    fn proposal_messages(&self, round: Round) -> impl Iterator<Item = ConsensusMessage> + '_ {
        self.proposals.get(&round).into_iter().flatten().filter_map(|(p, sig)| {
            let block = CompactBlock::of(self.blocks.get(&p.value)?.block());
            Some(ConsensusMessage::Proposal { proposal: p.clone(), block: Box::new(block), signature: *sig })
        })
    }

    /// What peers may have missed: own messages of this height, the current round's
    /// proposals, and the proposals and votes of the locked and valid rounds (the proof of
    /// lock).
    pub fn relay_messages(&self) -> Vec<ConsensusMessage> {
        let mut msgs = self.own.clone();
        let pol: Vec<Round> = [self.core.locked(), self.core.valid()].into_iter().flatten().map(|(_, r)| r).collect();
        for r in std::iter::once(self.core.round()).chain(pol.iter().copied()) {
            msgs.extend(self.proposal_messages(r));
        }
        for r in pol {
            for v in self.core.round_votes(r) {
                if let Some(signature) = self.vote_signature(&v) {
                    msgs.push(ConsensusMessage::Vote { vote: v, signature });
                }
            }
        }
        msgs
    }

    /// The commit certificate for a decision: every signed precommit kept for the block and
    /// round, by validator. `None` while short of a quorum.
    pub fn certificate(&self, chain_id: &str, round: Round, value: ValueId) -> Option<CommitCertificate> {
        let mut signatures: Vec<CommitSignature> = self
            .votes
            .iter()
            .filter(|((kind, r, _), _)| *kind == VoteKind::Precommit && *r == round)
            .filter_map(|((_, _, validator), kept)| {
                let (_, signature) = kept.iter().find(|(v, _)| *v == Some(value))?;
                Some(CommitSignature { validator: *validator, signature: *signature })
            })
            .collect();
        signatures.sort_unstable_by_key(|s| s.validator);
        let certificate = CommitCertificate { height: self.height, round, block_hash: value, signatures };
        match certificate.verify(chain_id, self.height, value, &self.set.keys()) {
            Ok(()) => Some(certificate),
            Err(e) => {
                tracing::debug!(target: "chain::consensus", height = self.height, error = %e, "decided, waiting for a complete certificate");
                None
            }
        }
    }
}
