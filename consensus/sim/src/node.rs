//! A simulated validator: the Tendermint core plus the driver duties (WAL, values, timers,
//! catch-up by commit certificates, rebroadcast when stuck), and Byzantine twists.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chain_types::{sha3_256, CryptoHash};
use consensus::{
    Height, Input, Output, OwnMessage, Proposal, Round, Tendermint, Timeout, ValidatorIndex, ValueId, Vote, VoteKind,
};

use crate::Role;

/// What travels between nodes (already "signed": attributed to its validator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Proposal(Proposal),
    Vote(Vote),
    /// A decided height with its commit certificate, for nodes that fell behind.
    Commit {
        height: Height,
        value: ValueId,
        precommits: Vec<Vote>,
    },
}

impl Msg {
    pub fn height(&self) -> Height {
        match self {
            Msg::Proposal(p) => p.height,
            Msg::Vote(v) => v.height,
            Msg::Commit { height, .. } => *height,
        }
    }
}

/// Who a message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    All,
    /// Peers in the first (`true`) or second half of the peer list.
    Half(bool),
    One(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Send(To, Msg),
    Timer {
        after_ms: u64,
        timeout: Timeout,
    },
    Decided {
        height: Height,
        round: Round,
        value: ValueId,
    },
    /// Start the next height after the commit interval (the block interval of a real node).
    NextHeight {
        after_ms: u64,
    },
    Evidence,
}

/// Pause between deciding a height and starting the next.
pub const COMMIT_MS: u64 = 20;

/// Values honest proposers make are valid; a first byte of 0xFF marks an invalid value.
pub fn is_valid(v: &ValueId) -> bool {
    v.0[0] != 0xFF
}

fn make_value(height: Height, round: Round, node: usize, salt: u8, valid: bool) -> ValueId {
    let mut v = sha3_256(format!("{height}/{round}/{node}/{salt}").as_bytes());
    v.0[0] = if valid { v.0[0] & 0x7F } else { 0xFF };
    v
}

#[derive(Debug)]
pub struct SimNode {
    pub id: usize,
    pub validator: ValidatorIndex,
    pub role: Role,
    n: usize,
    params: consensus::TimeoutParams,
    core: Tendermint,
    /// Own signed messages, written before they are sent; survives crashes.
    wal: Vec<OwnMessage>,
    /// Decided values by height; survives crashes (the block store).
    pub decided: BTreeMap<Height, ValueId>,
    commits: BTreeMap<Height, Msg>,
    future: Vec<Msg>,
    pub up: bool,
    pub incarnation: u32,
    last_tick: (Height, Round),
    served: BTreeSet<(usize, Height)>,
}

const MAX_BUFFERED: usize = 4_096;

impl SimNode {
    pub fn new(id: usize, validator: ValidatorIndex, role: Role, n: usize, params: consensus::TimeoutParams) -> Self {
        SimNode {
            id,
            validator,
            role,
            n,
            params,
            core: Tendermint::new(params, n, Some(validator), 1),
            wal: Vec::new(),
            decided: BTreeMap::new(),
            commits: BTreeMap::new(),
            future: Vec::new(),
            up: true,
            incarnation: 0,
            last_tick: (0, 0),
            served: BTreeSet::new(),
        }
    }

    pub fn height(&self) -> Height {
        self.core.height()
    }

    /// Lock, valid value and step, for traces.
    pub fn describe(&self) -> String {
        let f = |x: Option<(ValueId, Round)>| x.map(|(v, r)| format!("{}@{r}", short(&v)));
        format!(
            "h={} r={} step={:?} locked={:?} valid={:?} proposal={:?}",
            self.core.height(),
            self.core.round(),
            self.core.step(),
            f(self.core.locked()),
            f(self.core.valid()),
            self.core.proposal(self.core.round()).map(|p| (short(&p.value), p.pol_round))
        )
    }

    pub fn round(&self) -> Round {
        self.core.round()
    }

    pub fn start(&mut self) -> Vec<Action> {
        self.feed(Input::StartHeight(self.core.height()))
    }

    pub fn crash(&mut self) {
        self.up = false;
        self.incarnation += 1;
        self.future.clear();
    }

    /// Restarts from durable state: the block store and the WAL of the next height.
    pub fn restart(&mut self) -> Vec<Action> {
        self.up = true;
        let height = self.decided.keys().next_back().map_or(1, |h| h + 1);
        self.core = Tendermint::new(self.params, self.n, Some(self.validator), height);
        for m in self.wal.iter().filter(|m| own_height(m) == height).cloned().collect::<Vec<_>>() {
            self.core.apply(Input::Replay(m));
        }
        self.start()
    }

    pub fn on_timer(&mut self, incarnation: u32, timeout: Timeout) -> Vec<Action> {
        if !self.up || incarnation != self.incarnation {
            return Vec::new();
        }
        self.feed(Input::TimeoutExpired(timeout))
    }

    pub fn on_message(&mut self, from: usize, msg: Msg) -> Vec<Action> {
        if !self.up {
            return Vec::new();
        }
        let h = self.core.height();
        match msg {
            m if m.height() < h || self.decided.contains_key(&m.height()) => {
                // A peer is behind: send it the commit of that height, once per tick.
                match self.commits.get(&m.height()) {
                    Some(c) if self.served.insert((from, m.height())) => vec![Action::Send(To::One(from), c.clone())],
                    _ => Vec::new(),
                }
            }
            Msg::Commit { height, value, precommits } if height == h => self.adopt(height, value, precommits),
            m if m.height() > h => {
                if self.future.len() < MAX_BUFFERED {
                    self.future.push(m);
                }
                Vec::new()
            }
            Msg::Proposal(p) => {
                let valid = is_valid(&p.value);
                self.feed(Input::Proposal { proposal: p, valid })
            }
            Msg::Vote(v) => self.feed(Input::Vote(v)),
            Msg::Commit { .. } => Vec::new(),
        }
    }

    /// When nothing moved since the last tick (messages may have been dropped or cut off),
    /// gossips again: this height's own messages, the current round's proposal, the votes
    /// of the locked and valid rounds (the proof of lock others may need), the last commit.
    pub fn on_tick(&mut self) -> Vec<Action> {
        self.served.clear();
        if !self.up {
            return Vec::new();
        }
        let now = (self.core.height(), self.core.round());
        if now != self.last_tick {
            self.last_tick = now;
            return Vec::new();
        }
        let mut msgs: Vec<Msg> = self.wal.iter().filter(|m| own_height(m) == now.0).map(own_msg).collect();
        if let Some(p) = self.core.proposal(now.1) {
            msgs.push(Msg::Proposal(p.clone()));
        }
        let pol_rounds: BTreeSet<Round> =
            [self.core.locked(), self.core.valid()].into_iter().flatten().map(|(_, r)| r).collect();
        for r in pol_rounds {
            msgs.extend(self.core.round_votes(r).into_iter().map(Msg::Vote));
            if let Some(p) = self.core.proposal(r) {
                msgs.push(Msg::Proposal(p.clone()));
            }
        }
        if let Some(c) = self.commits.values().next_back() {
            msgs.push(c.clone());
        }
        msgs.into_iter().map(|m| Action::Send(To::All, m)).collect()
    }

    /// Accepts a commit certificate for the current height: a quorum of distinct
    /// validators' precommits for a valid value.
    fn adopt(&mut self, height: Height, value: ValueId, precommits: Vec<Vote>) -> Vec<Action> {
        let signers: BTreeSet<ValidatorIndex> = precommits
            .iter()
            .filter(|v| v.kind == VoteKind::Precommit && v.height == height && v.value == Some(value))
            .map(|v| v.validator)
            .filter(|i| usize::from(*i) < self.n)
            .collect();
        if signers.len() < consensus::quorum(self.n) || !is_valid(&value) {
            return Vec::new();
        }
        let round = precommits.first().map_or(0, |v| v.round);
        self.finish_height(height, round, value, precommits)
    }

    fn finish_height(&mut self, height: Height, round: Round, value: ValueId, precommits: Vec<Vote>) -> Vec<Action> {
        self.decided.insert(height, value);
        let commit = Msg::Commit { height, value, precommits };
        self.commits.insert(height, commit.clone());
        vec![
            Action::Decided { height, round, value },
            Action::Send(To::All, commit),
            Action::NextHeight { after_ms: COMMIT_MS },
        ]
    }

    /// Starts the height after the last decided one and feeds what was buffered for it.
    pub fn start_next(&mut self, incarnation: u32) -> Vec<Action> {
        if !self.up || incarnation != self.incarnation {
            return Vec::new();
        }
        let next = self.decided.keys().next_back().map_or(1, |h| h + 1);
        if next <= self.core.height() {
            return Vec::new();
        }
        let mut out = self.feed(Input::StartHeight(next));
        let (now, later): (Vec<Msg>, Vec<Msg>) =
            std::mem::take(&mut self.future).into_iter().partition(|m| m.height() == next);
        self.future = later.into_iter().filter(|m| m.height() > next).collect();
        for m in now {
            out.extend(self.on_message(self.id, m));
        }
        out
    }

    /// Runs the core on an input and carries out its outputs (values, WAL, sends, timers).
    fn feed(&mut self, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        let mut inputs = VecDeque::from([input]);
        while let Some(input) = inputs.pop_front() {
            for o in self.core.apply(input) {
                match o {
                    Output::Propose(p) => {
                        self.wal.push(OwnMessage::Proposal(p.clone()));
                        out.extend(self.send_proposal(p));
                    }
                    Output::Vote(v) => {
                        self.wal.push(OwnMessage::Vote(v.clone()));
                        out.extend(self.send_vote(v));
                    }
                    Output::ScheduleTimeout { timeout, after_ms } => out.push(Action::Timer { after_ms, timeout }),
                    Output::GetValue { height, round } => {
                        let valid = self.role != Role::InvalidProposer;
                        let value = make_value(height, round, self.id, 0, valid);
                        inputs.push_back(Input::ProposeValue { height, round, value });
                    }
                    Output::Decide { height, round, value, precommits } => {
                        out.extend(self.finish_height(height, round, value, precommits));
                        return out;
                    }
                    Output::Evidence(_) => out.push(Action::Evidence),
                }
            }
        }
        out
    }

    fn send_proposal(&self, p: Proposal) -> Vec<Action> {
        if self.role == Role::EquivocatingProposer {
            let other = Proposal { value: make_value(p.height, p.round, self.id, 1, true), ..p.clone() };
            return vec![
                Action::Send(To::Half(true), Msg::Proposal(p)),
                Action::Send(To::Half(false), Msg::Proposal(other)),
            ];
        }
        vec![Action::Send(To::All, Msg::Proposal(p))]
    }

    fn send_vote(&self, v: Vote) -> Vec<Action> {
        if self.role == Role::DoubleVoter {
            let flipped = match v.value {
                Some(_) => None,
                None => Some(make_value(v.height, v.round, self.id, 2, true)),
            };
            let other = Vote { value: flipped, ..v.clone() };
            return vec![Action::Send(To::Half(true), Msg::Vote(v)), Action::Send(To::Half(false), Msg::Vote(other))];
        }
        vec![Action::Send(To::All, Msg::Vote(v))]
    }
}

fn own_height(m: &OwnMessage) -> Height {
    match m {
        OwnMessage::Proposal(p) => p.height,
        OwnMessage::Vote(v) => v.height,
    }
}

fn own_msg(m: &OwnMessage) -> Msg {
    match m {
        OwnMessage::Proposal(p) => Msg::Proposal(p.clone()),
        OwnMessage::Vote(v) => Msg::Vote(v.clone()),
    }
}

/// A short name for a value in traces.
pub fn short(v: &CryptoHash) -> String {
    v.to_string().chars().take(6).collect()
}
