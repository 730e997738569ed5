//! The event loop: a priority queue of timed events over simulated milliseconds, delivering
//! what the nodes' drivers send through links with delay, loss and a partition, and checking
//! every committed block.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::rc::Rc;

use chain_types::{CryptoHash, SecretKey, SignedTransaction};
use consensus::{Height, ValidatorIndex};
use consensus_driver::{BlockLimits, BlocksRequest, BlocksResponse, ConsensusMessage, DriverConfig, DriverError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::app::{account, client_transaction, is_private, serve_blocks, Schedule, SimApp};
use crate::byzantine;
use crate::io::{Out, SimClock};
use crate::node::SimNode;
use crate::{Role, Scenario};

/// More consensus messages than this held by one honest driver means a buffer is unbounded.
pub const MEMORY_BOUND: usize = 5_000;
/// A client transaction is submitted this often (simulated milliseconds).
const SUBMIT_EVERY_MS: u64 = 25;
/// The chance that gossip brings a transaction to a node other than the one it entered at
/// (on a link that does not drop it): the others must fetch it when it is proposed.
const GOSSIP_REACH: f64 = 0.75;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    Agreement { height: Height, first: String, second: String },
    Validity { height: Height, node: usize },
    Liveness { target: Height, reached: Vec<Height> },
    DoubleSign { key: usize },
    Memory { node: usize, held: usize },
    Driver { node: usize, error: String },
}

/// The outcome of one run.
#[derive(Debug, Clone)]
pub struct Report {
    pub seed: u64,
    pub violation: Option<Violation>,
    /// Notable events (commits, crashes, partitions, evidence), for reading a failure.
    pub trace: Vec<String>,
    /// A digest of every event processed, in order: equal digests mean equal runs.
    pub digest: u64,
    pub heights: Height,
    pub evidence: usize,
    pub events: u64,
    pub end_ms: u64,
    /// The most consensus messages one honest driver held at once.
    pub peak_held: usize,
    /// Client transactions submitted, and those in decided blocks.
    pub submitted: u64,
    pub transactions: usize,
    /// Decided transactions a withholder made up and kept from some or all peers.
    pub withheld: usize,
    /// Requests for a proposal's missing transactions sent by honest nodes.
    pub fetches: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Deliver { to: usize, from: usize, msg: usize },
    Request { server: usize, client: usize, from: Height, max: u32 },
    Response { to: usize, from: usize, response: usize },
    Wake { node: usize },
    Act { node: usize },
    Submit,
    Gossip { to: usize, tx: usize },
    Crash { node: usize },
    Restart { node: usize },
}

struct Sim {
    sc: Rc<Scenario>,
    rng: ChaCha8Rng,
    nodes: Vec<SimNode>,
    queue: BinaryHeap<Reverse<(u64, u64, Event)>>,
    msgs: Vec<Option<ConsensusMessage>>,
    responses: Vec<Option<BlocksResponse>>,
    seq: u64,
    now: Rc<Cell<u64>>,
    decisions: BTreeMap<Height, (CryptoHash, usize)>,
    flood_round: BTreeMap<usize, u32>,
    /// Client transactions, by submission number; their gossip draws from a generator of its
    /// own so the consensus faults of a seed stay what they were before transactions.
    txs: Vec<SignedTransaction>,
    tx_rng: ChaCha8Rng,
    /// The height each decided transaction was first decided at.
    decided_txs: HashMap<CryptoHash, Height>,
    report: Report,
}

fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// A short name for a value in traces.
pub fn short(v: &CryptoHash) -> String {
    v.to_string().chars().take(6).collect()
}

/// The simulator's driver settings: the scenario's timeouts, blocks as soon as a height
/// starts, a clock drift bound above the scenario's skews, a block request given up after 3 s.
pub fn config(sc: &Scenario) -> DriverConfig {
    let limits = BlockLimits {
        max_transactions: 100,
        max_tx_bytes: 1024,
        max_block_bytes: 1 << 20,
        max_block_cost: 100_000,
        max_clock_drift_ms: 2_000,
    };
    let mut c = DriverConfig::new(sc.params, 20, 1_000, limits);
    c.relay_ms = 250;
    c.sync_timeout_ms = 3_000;
    c.sync_backoff_ms = 500;
    c
}

impl Sim {
    fn now(&self) -> u64 {
        self.now.get()
    }

    fn push(&mut self, at: u64, e: Event) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, e)));
    }

    fn note(&mut self, line: String) {
        self.report.trace.push(format!("{:>6}ms {line}", self.now()));
    }

    fn honest(&self, node: usize) -> bool {
        self.nodes[node].role == Role::Honest
    }

    fn healed(&self) -> bool {
        self.now() >= self.sc.chaos_ms
    }

    fn cut(&self, a: usize, b: usize) -> bool {
        match &self.sc.partition {
            Some((side, start, end)) if self.now() >= *start && self.now() < *end => {
                side[self.nodes[a].key_index] != side[self.nodes[b].key_index]
            }
            _ => false,
        }
    }

    /// Whether a message from `a` to `b` is lost now; else its delay.
    fn link(&mut self, a: usize, b: usize) -> Option<u64> {
        if !self.healed() && (self.cut(a, b) || self.rng.gen_bool(self.sc.drop_rate)) {
            return None;
        }
        let (ka, kb) = (self.nodes[a].key_index, self.nodes[b].key_index);
        Some(self.sc.link_delay[ka][kb] + self.rng.gen_range(0..=self.sc.jitter_ms))
    }

    fn send(&mut self, from: usize, to: usize, msg: ConsensusMessage) {
        let Some(delay) = self.link(from, to) else { return };
        self.msgs.push(Some(msg));
        let key = self.msgs.len() - 1;
        self.push(self.now() + delay, Event::Deliver { to, from, msg: key });
    }

    fn others(&self, node: usize) -> Vec<usize> {
        (0..self.nodes.len()).filter(|p| *p != node).collect()
    }

    /// The index of a node's key in the set of `height`.
    fn index_at(&self, node: usize, height: Height) -> Option<ValidatorIndex> {
        let key = self.nodes[node].key_index;
        self.sc.set_at(height).iter().position(|k| *k == key).map(|i| i as ValidatorIndex)
    }

    /// Whether a withholder keeps this answer from `to`: every answer at odd heights, those
    /// to odd-numbered nodes at even heights.
    fn withheld(&self, node: usize, to: usize, m: &ConsensusMessage) -> bool {
        self.nodes[node].role == Role::Withholder
            && matches!(m, ConsensusMessage::BlockTransactions { height, .. } if height % 2 == 1 || to % 2 == 1)
    }

    /// Carries out what a node's driver asked of the network, with its role's twists.
    fn route(&mut self, node: usize, out: Out) {
        if let Out::Broadcast(m) | Out::Send(_, m) = &out {
            if self.honest(node) && matches!(m, ConsensusMessage::FetchTransactions { .. }) {
                self.report.fetches += 1;
            }
        }
        match out {
            Out::Broadcast(m) => {
                let peers = self.others(node);
                let half = peers.len() / 2;
                let twisted = self.twist(node, &m);
                for (i, p) in peers.into_iter().enumerate() {
                    let msg = match &twisted {
                        Some(other) if i >= half => other.clone(),
                        _ => m.clone(),
                    };
                    self.send(node, p, msg);
                }
            }
            Out::Send(to, m) if self.withheld(node, to, &m) => {}
            Out::Send(to, m) => self.send(node, to, m),
            Out::Request { peer, from, max } => {
                self.note(format!("n{node} asks n{peer} for blocks from {from}"));
                if let Some(delay) = self.link(node, peer) {
                    self.push(self.now() + delay, Event::Request { server: peer, client: node, from, max });
                }
            }
        }
    }

    /// The conflicting copy a double voter or an equivocating proposer sends to half its
    /// peers instead of its own message.
    fn twist(&mut self, node: usize, m: &ConsensusMessage) -> Option<ConsensusMessage> {
        let n = &self.nodes[node];
        let mine = self.index_at(node, m.height());
        match (n.role, m) {
            (Role::DoubleVoter | Role::Amnesia, ConsensusMessage::Vote { vote, .. })
                if Some(vote.validator) == mine =>
            {
                Some(byzantine::conflicting_vote(&n.key.clone(), vote, &mut self.rng))
            }
            (Role::EquivocatingProposer, ConsensusMessage::Proposal { proposal, block, .. })
                if Some(proposal.proposer) == mine =>
            {
                Some(byzantine::conflicting_proposal(&n.key, proposal, block))
            }
            _ => None,
        }
    }

    /// After a node did something: deliver what it sent, wake it for its next deadline,
    /// check what it committed.
    fn after(&mut self, node: usize, result: Result<(), DriverError>) {
        if let Err(e) = result {
            self.note(format!("n{node} driver error: {e}"));
            if self.honest(node) && self.report.violation.is_none() {
                self.report.violation = Some(Violation::Driver { node, error: e.to_string() });
            }
        }
        let outs: Vec<Out> = self.nodes[node].outbox.borrow_mut().drain(..).collect();
        for o in outs {
            self.route(node, o);
        }
        if let Some(d) = self.nodes[node].driver.as_ref().and_then(|d| d.next_deadline()) {
            if self.nodes[node].wake_at.is_none_or(|w| d < w) {
                self.nodes[node].wake_at = Some(d);
                self.push(d.max(self.now()), Event::Wake { node });
            }
        }
        self.check_commits(node);
        if self.honest(node) {
            let held = self.nodes[node].driver.as_ref().map_or(0, |d| d.held_messages());
            self.report.peak_held = self.report.peak_held.max(held);
            if held > MEMORY_BOUND && self.report.violation.is_none() {
                self.report.violation = Some(Violation::Memory { node, held });
            }
            let key = self.nodes[node].key_index;
            if self.nodes[node].conflicts.get() > 0 && self.report.violation.is_none() {
                let describe = self.nodes[node].describe();
                self.note(format!("n{node} signed a second, different message at one position: {describe}"));
                self.report.violation = Some(Violation::DoubleSign { key });
            }
        }
    }

    fn check_commits(&mut self, node: usize) {
        let head = self.nodes[node].head();
        while self.nodes[node].checked < head {
            let h = self.nodes[node].checked + 1;
            self.nodes[node].checked = h;
            let (parent, block, round) = {
                let chain = self.nodes[node].chain.borrow();
                (
                    chain.blocks[h as usize - 1].0.clone(),
                    chain.blocks[h as usize].0.clone(),
                    chain.blocks[h as usize].1.round,
                )
            };
            let value = block.hash();
            let txs = block.transactions.len();
            self.note(format!("n{node} commit h={h} r={round} v={} txs={txs}", short(&value)));
            if !self.honest(node) || self.report.violation.is_some() {
                continue;
            }
            let digests: Vec<CryptoHash> = block.transactions.iter().map(SignedTransaction::digest).collect();
            let earlier: HashSet<CryptoHash> =
                digests.iter().filter(|d| self.decided_txs.get(*d).is_some_and(|at| *at < h)).copied().collect();
            if !SimApp::valid_child(&parent, &block, &earlier) {
                self.report.violation = Some(Violation::Validity { height: h, node });
            }
            if !self.decisions.contains_key(&h) {
                self.report.transactions += txs;
                self.report.withheld += block.transactions.iter().filter(|t| is_private(t)).count();
                for d in digests {
                    self.decided_txs.entry(d).or_insert(h);
                }
            }
            match self.decisions.get(&h) {
                Some((v, _)) if *v != value => {
                    self.report.violation =
                        Some(Violation::Agreement { height: h, first: short(v), second: short(&value) });
                }
                Some(_) => {}
                None => {
                    self.decisions.insert(h, (value, node));
                }
            }
        }
    }

    fn min_honest_head(&self) -> Height {
        self.nodes.iter().filter(|n| n.role == Role::Honest).map(SimNode::head).min().unwrap_or(0)
    }

    /// A Byzantine validator's own moves, every tick.
    fn act(&mut self, node: usize) {
        let n = &self.nodes[node];
        let Some(driver) = n.driver.as_ref() else { return };
        let height = n.head() + 1;
        let round = driver.round();
        let Some(me) = self.index_at(node, height) else { return };
        let key: SecretKey = n.key.clone();
        let msgs = match n.role {
            Role::FutureSpammer => byzantine::future_votes(&key, me, height, &mut self.rng),
            Role::WrongProposer => {
                let parent = n.chain.borrow().blocks[height as usize - 1].0.header.clone();
                let set = self.sc.set_at(height);
                let proposer_of = |r: u32| ((height + u64::from(r)) % set.len() as u64) as ValidatorIndex;
                let ts = crate::app::GENESIS_MS + self.now();
                byzantine::wrong_proposals(&key, me, &parent, proposer_of, account(n.key_index), round, ts)
            }
            Role::Withholder => byzantine::fetch_flood(height, &mut self.rng),
            Role::RoundFlooder => {
                let from = self.flood_round.get(&node).copied().unwrap_or(0).max(round + 1);
                self.flood_round.insert(node, from + 200);
                byzantine::round_flood(&key, me, height, from, 200)
            }
            Role::Amnesia => {
                // One honest target per tick, in turn: only it hears the next heights.
                let honest: Vec<usize> = self.others(node).into_iter().filter(|p| self.honest(*p)).collect();
                if let Some(target) = honest.get((self.now() / self.sc.tick_ms) as usize % honest.len().max(1)).copied()
                {
                    for m in byzantine::next_height_votes(&key, me, height, &mut self.rng) {
                        self.send(node, target, m);
                    }
                }
                Vec::new()
            }
            _ => Vec::new(),
        };
        for m in msgs {
            for p in self.others(node) {
                self.send(node, p, m.clone());
            }
        }
    }

    /// A client submits a transaction to one node, whose gossip brings it to each other node
    /// over their link, or not.
    fn submit(&mut self) {
        let tx = self.txs.len();
        self.txs.push(client_transaction(tx as u64));
        self.report.submitted += 1;
        let entry = self.tx_rng.gen_range(0..self.nodes.len());
        self.push(self.now(), Event::Gossip { to: entry, tx });
        for to in self.others(entry) {
            let lost = !self.healed() && (self.cut(entry, to) || self.tx_rng.gen_bool(self.sc.drop_rate));
            if lost || !self.tx_rng.gen_bool(GOSSIP_REACH) {
                continue;
            }
            let (ka, kb) = (self.nodes[entry].key_index, self.nodes[to].key_index);
            let delay = self.sc.link_delay[ka][kb] + self.tx_rng.gen_range(0..=self.sc.jitter_ms);
            self.push(self.now() + delay, Event::Gossip { to, tx });
        }
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Deliver { to, from, msg } => {
                if let Some(message) = self.msgs[msg].take() {
                    let r = self.nodes[to].handle(consensus_driver::Event::Message { from, message });
                    self.after(to, r);
                }
            }
            Event::Request { server, client, from, max } => {
                if !self.nodes[server].up() {
                    return;
                }
                let response = serve_blocks(&self.nodes[server].chain.borrow(), BlocksRequest { from, max });
                if let Some(delay) = self.link(server, client) {
                    self.responses.push(Some(response));
                    let key = self.responses.len() - 1;
                    self.push(self.now() + delay, Event::Response { to: client, from: server, response: key });
                }
            }
            Event::Response { to, from, response } => {
                if let Some(r) = self.responses[response].take() {
                    let r = self.nodes[to].handle(consensus_driver::Event::Blocks { from, result: Ok(r) });
                    self.after(to, r);
                }
            }
            Event::Wake { node } => {
                if self.nodes[node].wake_at.is_some_and(|w| w <= self.now()) {
                    self.nodes[node].wake_at = None;
                }
                let r = self.nodes[node].on_wake();
                self.after(node, r);
            }
            Event::Act { node } => {
                self.act(node);
                self.push(self.now() + self.sc.tick_ms, Event::Act { node });
            }
            Event::Submit => {
                self.submit();
                self.push(self.now() + SUBMIT_EVERY_MS, Event::Submit);
            }
            Event::Gossip { to, tx } => {
                let r = self.nodes[to].receive_transaction(self.txs[tx].clone());
                self.after(to, r);
            }
            Event::Crash { node } => {
                let describe = self.nodes[node].describe();
                self.note(format!("n{node} crashes: {describe}"));
                let torn: Vec<u8> = if self.rng.gen_bool(0.5) {
                    (0..self.rng.gen_range(1..12)).map(|_| self.rng.gen()).collect()
                } else {
                    Vec::new()
                };
                self.nodes[node].crash(&torn);
            }
            Event::Restart { node } => {
                let r = self.nodes[node].boot();
                let describe = self.nodes[node].describe();
                self.note(format!("n{node} restarts from its WAL: {describe}"));
                self.after(node, r);
            }
        }
    }
}

/// Runs one scenario to its end: a violation, or liveness shown after healing.
pub fn run(sc: &Scenario) -> Report {
    let sc = Rc::new(sc.clone());
    let keys: Vec<SecretKey> =
        (0..sc.keys()).map(|k| SecretKey::from_seed(chain_types::sha3_256(&[k as u8; 8]).0)).collect();
    let schedule = Rc::new(Schedule { keys: keys.iter().map(SecretKey::public_key).collect(), scenario: sc.clone() });
    let now = Rc::new(Cell::new(0));
    let config = config(&sc);
    let mut nodes = Vec::new();
    for (k, role) in sc.roles.iter().enumerate() {
        let log = Rc::new(RefCell::new(BTreeMap::new()));
        let copies = if *role == Role::Twins { 2 } else { 1 };
        for _ in 0..copies {
            let clock = SimClock { now: now.clone(), skew_ms: sc.clock_skew_ms[k] };
            let mut node = SimNode::new(k, *role, keys[k].clone(), log.clone(), clock, schedule.clone(), config);
            node.signer_outage = sc
                .signer_outage
                .as_ref()
                .filter(|(down, _, _)| down.get(k) == Some(&true))
                .map(|(_, from, to)| (*from, *to));
            nodes.push(node);
        }
    }
    let report = Report {
        seed: sc.seed,
        violation: None,
        trace: Vec::new(),
        digest: 0xcbf2_9ce4_8422_2325,
        heights: 0,
        evidence: 0,
        events: 0,
        end_ms: 0,
        peak_held: 0,
        submitted: 0,
        transactions: 0,
        withheld: 0,
        fetches: 0,
    };
    let mut sim = Sim {
        rng: ChaCha8Rng::seed_from_u64(sc.seed ^ 0x5EED),
        sc: sc.clone(),
        nodes,
        queue: BinaryHeap::new(),
        msgs: Vec::new(),
        responses: Vec::new(),
        seq: 0,
        now,
        decisions: BTreeMap::new(),
        flood_round: BTreeMap::new(),
        txs: Vec::new(),
        tx_rng: ChaCha8Rng::seed_from_u64(sc.seed ^ 0x7478_7320), // "txs "
        decided_txs: HashMap::new(),
        report,
    };
    let roles: Vec<&str> = sc.roles.iter().map(|r| r.name()).collect();
    sim.note(format!(
        "n={} roles={roles:?} drop={:.2} partition={:?} crash={:?} signer_outage={:?} epochs={:?}",
        sc.n, sc.drop_rate, sc.partition, sc.crash, sc.signer_outage, sc.epochs
    ));
    for i in 0..sim.nodes.len() {
        let r = sim.nodes[i].boot();
        sim.after(i, r);
        if sim.nodes[i].role != Role::Honest {
            sim.push(sc.tick_ms + i as u64, Event::Act { node: i });
        }
    }
    sim.push(SUBMIT_EVERY_MS, Event::Submit);
    if let Some((who, at, back)) = sc.crash {
        let node = sim.nodes.iter().position(|n| n.key_index == who).unwrap_or(0);
        sim.push(at, Event::Crash { node });
        sim.push(back, Event::Restart { node });
    }

    let deadline = sc.chaos_ms + sc.liveness_bound_ms;
    let mut target = None;
    while let Some(Reverse((at, _, event))) = sim.queue.pop() {
        sim.now.set(at);
        sim.report.events += 1;
        sim.report.digest = fnv(sim.report.digest, format!("{at}{event:?}").as_bytes());
        if target.is_none() && sim.healed() {
            let t = sim.decisions.keys().next_back().copied().unwrap_or(0) + 2;
            sim.note(format!("network healed; every honest node must reach height {t}"));
            target = Some(t);
        }
        if target.is_some_and(|t| sim.min_honest_head() >= t) {
            break;
        }
        if at > deadline {
            let reached = sim.nodes.iter().filter(|n| n.role == Role::Honest).map(SimNode::head).collect();
            for i in 0..sim.nodes.len() {
                let line = format!("n{i} ({}) stuck: {}", sim.nodes[i].role.name(), sim.nodes[i].describe());
                sim.note(line);
            }
            sim.report.violation = Some(Violation::Liveness { target: target.unwrap_or(0), reached });
            break;
        }
        sim.dispatch(event);
        if sim.report.violation.is_some() {
            break;
        }
    }
    sim.report.heights = sim.decisions.len() as Height;
    sim.report.evidence =
        sim.nodes.iter().filter(|n| n.role == Role::Honest).map(|n| n.chain.borrow().evidence.len()).sum();
    sim.report.end_ms = sim.now();
    sim.report
}
