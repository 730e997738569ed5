//! Tendermint (Buchman, Kwon, Milosevic, "The latest gossip on BFT consensus", 2018,
//! Algorithm 1) as a pure state machine: `apply(input) -> outputs`. Rule arms carry the
//! paper's line numbers.

use std::collections::{BTreeMap, BTreeSet};

use chain_types::quorum;

use crate::keeper::{Added, VoteKeeper};
use crate::{
    Evidence, Height, Input, Output, OwnMessage, Proposal, Round, Step, Timeout, TimeoutKind, TimeoutParams,
    ValidatorIndex, ValueId, Vote, VoteKind,
};

/// Upper bound on rule firings per input (each firing changes step, round or a first-time
/// flag, so far fewer are ever needed; the bound keeps `apply` total).
const MAX_RULE_FIRINGS: usize = 64;

/// Messages for rounds more than this far above the current one are not kept: only each
/// validator's highest such round is noted, for the round skip (L55). Bounds what one
/// validator can make us hold by signing many rounds.
pub const ROUND_WINDOW: Round = 8;

/// Proposals kept per round: the proposer's first, and one conflicting one (L36 and L49 fire
/// for any proposal with a quorum, so an equivocator's second proposal may be decided). More
/// are evidence only.
pub const MAX_PROPOSALS_PER_ROUND: usize = 2;

#[derive(Debug, Clone)]
pub struct Tendermint {
    params: TimeoutParams,
    n: usize,
    me: Option<ValidatorIndex>,
    height: Height,
    round: Round,
    step: Step,
    started: bool,
    locked: Option<(ValueId, Round)>,
    valid: Option<(ValueId, Round)>,
    /// Proposals of each round from that round's proposer (at most
    /// [`MAX_PROPOSALS_PER_ROUND`], in arrival order), with their validity.
    proposals: BTreeMap<Round, Vec<(Proposal, bool)>>,
    votes: VoteKeeper,
    /// Each validator's highest round above the window (see [`ROUND_WINDOW`]).
    far_rounds: BTreeMap<ValidatorIndex, Round>,
    /// "for the first time" guards of L34, L36 and L47.
    prevote_timeout_set: BTreeSet<Round>,
    l36_fired: BTreeSet<Round>,
    precommit_timeout_set: BTreeSet<Round>,
    /// What we signed at this height: never sign a second message at one (round, step).
    sent: BTreeSet<(Round, Step)>,
    evidence: Vec<Evidence>,
    /// (offender, round, step) of every equivocation reported: each is reported once.
    reported: BTreeSet<(ValidatorIndex, Round, Step)>,
}

impl Tendermint {
    /// A validator (or, with `me = None`, an observer) about to run `height` of a set of `n`.
    /// Replay its own WAL messages for `height`, then send [`Input::StartHeight`].
    pub fn new(params: TimeoutParams, n: usize, me: Option<ValidatorIndex>, height: Height) -> Self {
        Tendermint {
            params,
            n: n.max(1),
            me,
            height,
            round: 0,
            step: Step::Propose,
            started: false,
            locked: None,
            valid: None,
            proposals: BTreeMap::new(),
            votes: VoteKeeper::default(),
            far_rounds: BTreeMap::new(),
            prevote_timeout_set: BTreeSet::new(),
            l36_fired: BTreeSet::new(),
            precommit_timeout_set: BTreeSet::new(),
            sent: BTreeSet::new(),
            evidence: Vec::new(),
            reported: BTreeSet::new(),
        }
    }

    pub fn height(&self) -> Height {
        self.height
    }

    pub fn round(&self) -> Round {
        self.round
    }

    pub fn step(&self) -> Step {
        self.step
    }

    pub fn locked(&self) -> Option<(ValueId, Round)> {
        self.locked
    }

    /// The last value seen with a quorum of prevotes and its round (validValue, validRound).
    pub fn valid(&self) -> Option<(ValueId, Round)> {
        self.valid
    }

    /// The first proposal accepted for a round of this height.
    pub fn proposal(&self, round: Round) -> Option<&Proposal> {
        self.proposals.get(&round).and_then(|ps| ps.first()).map(|(p, _)| p)
    }

    /// Every proposal kept for a round (at most [`MAX_PROPOSALS_PER_ROUND`]).
    pub fn proposals(&self, round: Round) -> impl Iterator<Item = &Proposal> {
        self.proposals.get(&round).into_iter().flatten().map(|(p, _)| p)
    }

    /// Votes held at this height (bounded: see [`ROUND_WINDOW`] and the vote keeper).
    pub fn held_votes(&self) -> usize {
        self.votes.len()
    }

    /// Whether a message of `round` would be kept (not above the window).
    pub fn in_window(&self, round: Round) -> bool {
        round <= self.round.saturating_add(ROUND_WINDOW)
    }

    /// The votes counted in a round of this height (for gossip to peers that missed them).
    pub fn round_votes(&self, round: Round) -> Vec<Vote> {
        self.votes.round_votes(round)
    }

    /// Every equivocation seen at this height.
    pub fn evidence(&self) -> &[Evidence] {
        &self.evidence
    }

    /// Round-robin proposer of (height, round).
    pub fn proposer(&self, height: Height, round: Round) -> ValidatorIndex {
        (height.wrapping_add(u64::from(round)) % self.n as u64) as ValidatorIndex
    }

    fn quorum(&self) -> usize {
        quorum(self.n)
    }

    /// f + 1: messages from this many validators include an honest one.
    fn honest(&self) -> usize {
        self.n - self.quorum() + 1
    }

    pub fn apply(&mut self, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::StartHeight(h) => self.start_height(h, &mut out),
            Input::Replay(msg) => self.replay(msg),
            _ if !self.started || self.step == Step::Commit => {}
            Input::Proposal { proposal, valid } => self.on_proposal(proposal, valid, &mut out),
            Input::Vote(vote) => self.on_vote(vote, &mut out),
            Input::TimeoutExpired(t) => self.on_timeout(t, &mut out),
            Input::ProposeValue { height, round, value } => {
                if height == self.height && round == self.round && self.step == Step::Propose && self.is_proposer(round)
                {
                    self.propose(
                        Proposal { height, round, value, pol_round: None, proposer: self.me_or_max() },
                        &mut out,
                    );
                }
            }
        }
        if self.started {
            self.run_rules(&mut out);
        }
        out
    }

    fn me_or_max(&self) -> ValidatorIndex {
        self.me.unwrap_or(ValidatorIndex::MAX)
    }

    fn is_proposer(&self, round: Round) -> bool {
        self.me == Some(self.proposer(self.height, round))
    }

    fn start_height(&mut self, h: Height, out: &mut Vec<Output>) {
        if h < self.height || (h == self.height && self.started) {
            return;
        }
        if h > self.height {
            let (params, n, me) = (self.params, self.n, self.me);
            *self = Tendermint::new(params, n, me, h);
        }
        self.started = true;
        // After a restart, resume at the last round we signed in.
        let resume = self.sent.iter().map(|(r, _)| *r).max().unwrap_or(0);
        self.start_round(resume, out);
    }

    /// Restores one of our own signed messages (before `StartHeight`).
    fn replay(&mut self, msg: OwnMessage) {
        match msg {
            OwnMessage::Proposal(p) if p.height == self.height => {
                self.sent.insert((p.round, Step::Propose));
                self.votes.note_sender(p.round, p.proposer);
                let kept = self.proposals.entry(p.round).or_default();
                if !kept.iter().any(|(q, _)| *q == p) && kept.len() < MAX_PROPOSALS_PER_ROUND {
                    kept.push((p, true));
                }
            }
            OwnMessage::Vote(v) if v.height == self.height => {
                let step = match v.kind {
                    VoteKind::Prevote => Step::Prevote,
                    VoteKind::Precommit => Step::Precommit,
                };
                self.sent.insert((v.round, step));
                if let (VoteKind::Precommit, Some(value)) = (v.kind, v.value) {
                    // A non-nil precommit was sent only after locking (L36-41).
                    if self.locked.is_none_or(|(_, r)| r < v.round) {
                        self.locked = Some((value, v.round));
                    }
                }
                self.votes.add(v);
            }
            _ => {}
        }
    }

    /// L11-21 StartRound(round).
    fn start_round(&mut self, round: Round, out: &mut Vec<Output>) {
        self.round = round;
        self.step = Step::Propose;
        if self.is_proposer(round) && !self.sent.contains(&(round, Step::Propose)) {
            match self.valid {
                // L15-16: re-propose the valid value with its proof-of-lock round.
                Some((value, vr)) => {
                    let p =
                        Proposal { height: self.height, round, value, pol_round: Some(vr), proposer: self.me_or_max() };
                    self.propose(p, out);
                }
                // L18: getValue()
                None => out.push(Output::GetValue { height: self.height, round }),
            }
        }
        // L21 (also for the proposer, in case its value never comes).
        self.schedule(TimeoutKind::Propose, self.params.propose(round), out);
    }

    fn schedule(&self, kind: TimeoutKind, after_ms: u64, out: &mut Vec<Output>) {
        out.push(Output::ScheduleTimeout {
            timeout: Timeout { height: self.height, round: self.round, kind },
            after_ms,
        });
    }

    /// L19 broadcast PROPOSAL, delivered to ourselves at once.
    fn propose(&mut self, p: Proposal, out: &mut Vec<Output>) {
        if !self.sent.insert((p.round, Step::Propose)) {
            return;
        }
        self.votes.note_sender(p.round, p.proposer);
        let kept = self.proposals.entry(p.round).or_default();
        if kept.len() < MAX_PROPOSALS_PER_ROUND {
            kept.push((p.clone(), true));
        }
        out.push(Output::Propose(p));
    }

    /// Broadcast PREVOTE/PRECOMMIT for the current round. Emits nothing twice at one
    /// (round, step), even across a restart (WAL replay). The vote is not counted here: it
    /// counts once the driver has it signed and hands it back as [`Input::Vote`], so a vote
    /// the signer never signed (a KMS outage) cannot make up anyone's quorum, ours included.
    fn vote(&mut self, kind: VoteKind, value: Option<ValueId>, out: &mut Vec<Output>) {
        let step = match kind {
            VoteKind::Prevote => Step::Prevote,
            VoteKind::Precommit => Step::Precommit,
        };
        let Some(me) = self.me else { return };
        if !self.sent.insert((self.round, step)) {
            return;
        }
        out.push(Output::Vote(Vote { kind, height: self.height, round: self.round, value, validator: me }));
    }

    fn on_proposal(&mut self, p: Proposal, valid: bool, out: &mut Vec<Output>) {
        if p.height != self.height || p.proposer != self.proposer(p.height, p.round) {
            return;
        }
        if !self.in_window(p.round) {
            self.note_far(p.proposer, p.round);
            return;
        }
        self.votes.note_sender(p.round, p.proposer);
        let kept = self.proposals.entry(p.round).or_default();
        if kept.iter().any(|(q, _)| *q == p) {
            return;
        }
        let first = kept.first().map(|(q, _)| q.clone());
        if kept.len() < MAX_PROPOSALS_PER_ROUND {
            kept.push((p.clone(), valid));
        }
        if let Some(first) = first {
            self.record(Evidence::ConflictingProposals { first, second: p }, out);
        }
    }

    fn on_vote(&mut self, v: Vote, out: &mut Vec<Output>) {
        if v.height != self.height || usize::from(v.validator) >= self.n {
            return;
        }
        if !self.in_window(v.round) {
            self.note_far(v.validator, v.round);
            return;
        }
        if let Added::Equivocation(e) = self.votes.add(v) {
            self.record(e, out);
        }
    }

    /// Keeps a validator's highest round above the window (one number per validator).
    fn note_far(&mut self, validator: ValidatorIndex, round: Round) {
        let r = self.far_rounds.entry(validator).or_insert(round);
        *r = (*r).max(round);
    }

    /// The highest round that f + 1 validators reached above the window, if above ours.
    fn far_skip(&self) -> Option<Round> {
        let mut rounds: Vec<Round> = self.far_rounds.values().copied().filter(|r| *r > self.round).collect();
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        rounds.get(self.honest().checked_sub(1)?).copied()
    }

    fn record(&mut self, e: Evidence, out: &mut Vec<Output>) {
        let step = match &e {
            Evidence::ConflictingProposals { .. } => Step::Propose,
            Evidence::ConflictingVotes { first, .. } => match first.kind {
                VoteKind::Prevote => Step::Prevote,
                VoteKind::Precommit => Step::Precommit,
            },
        };
        let (offender, round) = match &e {
            Evidence::ConflictingProposals { first, .. } => (first.proposer, first.round),
            Evidence::ConflictingVotes { first, .. } => (first.validator, first.round),
        };
        if self.reported.insert((offender, round, step)) {
            self.evidence.push(e.clone());
            out.push(Output::Evidence(e));
        }
    }

    fn on_timeout(&mut self, t: Timeout, out: &mut Vec<Output>) {
        if t.height != self.height || t.round != self.round {
            return;
        }
        match t.kind {
            // L57-60 OnTimeoutPropose
            TimeoutKind::Propose if self.step == Step::Propose => {
                self.vote(VoteKind::Prevote, None, out);
                self.step = Step::Prevote;
            }
            // L61-64 OnTimeoutPrevote
            TimeoutKind::Prevote if self.step == Step::Prevote => {
                self.vote(VoteKind::Precommit, None, out);
                self.step = Step::Precommit;
            }
            // L65-67 OnTimeoutPrecommit
            TimeoutKind::Precommit => self.start_round(t.round.saturating_add(1), out),
            _ => {}
        }
    }

    fn run_rules(&mut self, out: &mut Vec<Output>) {
        for _ in 0..MAX_RULE_FIRINGS {
            if self.step == Step::Commit || !self.fire_one(out) {
                return;
            }
        }
    }

    /// Fires the first applicable "upon" rule; false if none applies.
    fn fire_one(&mut self, out: &mut Vec<Output>) -> bool {
        let q = self.quorum();
        // L49-54: a proposal and 2f+1 precommits for it in any round decide the height.
        let decided = self
            .proposals
            .iter()
            .flat_map(|(r, ps)| ps.iter().map(move |(p, valid)| (*r, p, *valid)))
            .find(|(r, p, valid)| *valid && self.votes.count(*r, VoteKind::Precommit, Some(p.value)) >= q)
            .map(|(r, p, _)| (r, p.value));
        if let Some((round, value)) = decided {
            let precommits = self.votes.votes_for(round, VoteKind::Precommit, Some(value));
            out.push(Output::Decide { height: self.height, round, value, precommits });
            self.step = Step::Commit;
            return true;
        }
        // L55-56: f+1 messages of a higher round: move there at once.
        let skip = self.votes.skip_round(self.round, self.honest()).max(self.far_skip());
        if let Some(r) = skip {
            self.start_round(r, out);
            return true;
        }
        let r = self.round;
        let proposals = self.proposals.get(&r).cloned().unwrap_or_default();
        if self.step == Step::Propose {
            for (p, valid) in &proposals {
                match p.pol_round {
                    // L22-27
                    None => {
                        let ok = *valid && self.locked.is_none_or(|(v, _)| v == p.value);
                        self.vote(VoteKind::Prevote, ok.then_some(p.value), out);
                        self.step = Step::Prevote;
                        return true;
                    }
                    // L28-33
                    Some(vr) if vr < r && self.votes.count(vr, VoteKind::Prevote, Some(p.value)) >= q => {
                        let ok = *valid && self.locked.is_none_or(|(v, lr)| lr <= vr || v == p.value);
                        self.vote(VoteKind::Prevote, ok.then_some(p.value), out);
                        self.step = Step::Prevote;
                        return true;
                    }
                    Some(_) => {}
                }
            }
        }
        // L34-35
        if self.step == Step::Prevote
            && self.votes.count_any(r, VoteKind::Prevote) >= q
            && self.prevote_timeout_set.insert(r)
        {
            self.schedule(TimeoutKind::Prevote, self.params.vote(r), out);
            return true;
        }
        // L36-43 (for any kept proposal of the round)
        if self.step >= Step::Prevote && !self.l36_fired.contains(&r) {
            let quorum_for = proposals
                .iter()
                .find(|(p, valid)| *valid && self.votes.count(r, VoteKind::Prevote, Some(p.value)) >= q);
            if let Some((p, _)) = quorum_for {
                self.l36_fired.insert(r);
                if self.step == Step::Prevote {
                    self.locked = Some((p.value, r));
                    self.vote(VoteKind::Precommit, Some(p.value), out);
                    self.step = Step::Precommit;
                }
                self.valid = Some((p.value, r));
                return true;
            }
        }
        // L44-46
        if self.step == Step::Prevote && self.votes.count(r, VoteKind::Prevote, None) >= q {
            self.vote(VoteKind::Precommit, None, out);
            self.step = Step::Precommit;
            return true;
        }
        // L47-48
        if self.votes.count_any(r, VoteKind::Precommit) >= q && self.precommit_timeout_set.insert(r) {
            self.schedule(TimeoutKind::Precommit, self.params.vote(r), out);
            return true;
        }
        false
    }
}
