//! The event loop: a priority queue of timed events over simulated milliseconds.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use consensus::{Height, Timeout, ValueId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::node::{is_valid, short, Action, Msg, SimNode, To};
use crate::{Role, Scenario};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    Agreement { height: Height, first: String, second: String },
    Validity { height: Height, node: usize },
    Liveness { target: Height, reached: Vec<Height> },
}

/// The outcome of one run.
#[derive(Debug, Clone)]
pub struct Report {
    pub seed: u64,
    pub violation: Option<Violation>,
    /// Notable events (decisions, crashes, partitions, evidence), for reading a failure.
    pub trace: Vec<String>,
    /// A digest of every event processed, in order: equal digests mean equal runs.
    pub digest: u64,
    pub heights: Height,
    pub evidence: usize,
    pub events: u64,
    pub end_ms: u64,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Deliver { to: usize, from: usize, msg: MsgKey },
    Timer { node: usize, incarnation: u32, timeout: TimeoutKey },
    Tick { node: usize },
    NextHeight { node: usize, incarnation: u32 },
    Crash { node: usize },
    Restart { node: usize },
}

/// Messages and timeouts live in side tables; events hold indices so they can be ordered.
type MsgKey = usize;
type TimeoutKey = usize;

struct Sim {
    sc: Scenario,
    rng: ChaCha8Rng,
    nodes: Vec<SimNode>,
    queue: BinaryHeap<Reverse<(u64, u64, Event)>>,
    msgs: Vec<Option<Msg>>,
    timeouts: Vec<Timeout>,
    seq: u64,
    now: u64,
    decisions: BTreeMap<Height, (ValueId, usize)>,
    report: Report,
}

fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

impl Sim {
    fn push(&mut self, at: u64, e: Event) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, e)));
    }

    fn note(&mut self, line: String) {
        self.report.trace.push(format!("{:>6}ms {line}", self.now));
    }

    fn honest(&self, node: usize) -> bool {
        self.nodes[node].role == Role::Honest
    }

    fn healed(&self) -> bool {
        self.now >= self.sc.chaos_ms
    }

    fn cut(&self, a: usize, b: usize) -> bool {
        match &self.sc.partition {
            Some((side, start, end)) if self.now >= *start && self.now < *end => {
                side[self.nodes[a].validator as usize] != side[self.nodes[b].validator as usize]
            }
            _ => false,
        }
    }

    fn send(&mut self, from: usize, to: usize, msg: &Msg) {
        if !self.healed() && (self.cut(from, to) || self.rng.gen_bool(self.sc.drop_rate)) {
            return;
        }
        let delay =
            self.sc.link_delay[from.min(self.sc.n)][to.min(self.sc.n)] + self.rng.gen_range(0..=self.sc.jitter_ms);
        self.msgs.push(Some(msg.clone()));
        let key = self.msgs.len() - 1;
        self.push(self.now + delay, Event::Deliver { to, from, msg: key });
    }

    fn act(&mut self, node: usize, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send(to, msg) => {
                    let peers: Vec<usize> = (0..self.nodes.len()).filter(|p| *p != node).collect();
                    let half = peers.len() / 2;
                    let targets: Vec<usize> = match to {
                        To::All => peers,
                        To::Half(first) => peers
                            .into_iter()
                            .enumerate()
                            .filter(|(i, _)| (*i < half) == first)
                            .map(|(_, p)| p)
                            .collect(),
                        To::One(p) => vec![p],
                    };
                    for t in targets {
                        self.send(node, t, &msg);
                    }
                }
                Action::Timer { after_ms, timeout } => {
                    self.timeouts.push(timeout);
                    let key = self.timeouts.len() - 1;
                    let incarnation = self.nodes[node].incarnation;
                    self.push(self.now + after_ms, Event::Timer { node, incarnation, timeout: key });
                }
                Action::Decided { height, round, value } => self.decided(node, height, round, value),
                Action::NextHeight { after_ms } => {
                    let incarnation = self.nodes[node].incarnation;
                    self.push(self.now + after_ms, Event::NextHeight { node, incarnation });
                }
                Action::Evidence => {
                    self.report.evidence += 1;
                    self.note(format!("n{node} evidence"));
                }
            }
        }
    }

    fn decided(&mut self, node: usize, height: Height, round: u32, value: ValueId) {
        self.note(format!("n{node} decide h={height} r={round} v={}", short(&value)));
        if !self.honest(node) || self.report.violation.is_some() {
            return;
        }
        if !is_valid(&value) {
            self.report.violation = Some(Violation::Validity { height, node });
        }
        match self.decisions.get(&height) {
            Some((v, _)) if *v != value => {
                self.report.violation = Some(Violation::Agreement { height, first: short(v), second: short(&value) });
            }
            Some(_) => {}
            None => {
                self.decisions.insert(height, (value, node));
            }
        }
    }

    fn min_honest_height(&self) -> Height {
        self.nodes.iter().filter(|n| n.role == Role::Honest).map(|n| n.decided.len() as Height).min().unwrap_or(0)
    }
}

/// Runs one scenario to its end: a violation, or liveness shown after healing.
pub fn run(sc: &Scenario) -> Report {
    let rng = ChaCha8Rng::seed_from_u64(sc.seed ^ 0x5EED);
    let mut nodes = Vec::new();
    for (i, role) in sc.roles.iter().enumerate() {
        nodes.push(SimNode::new(nodes.len(), i as u16, *role, sc.n, sc.params));
        if *role == Role::Twins {
            nodes.push(SimNode::new(nodes.len(), i as u16, *role, sc.n, sc.params));
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
    };
    let mut sim = Sim {
        sc: sc.clone(),
        rng,
        nodes,
        queue: BinaryHeap::new(),
        msgs: Vec::new(),
        timeouts: Vec::new(),
        seq: 0,
        now: 0,
        decisions: BTreeMap::new(),
        report,
    };
    sim.note(format!(
        "n={} roles={:?} drop={:.2} partition={:?} crash={:?}",
        sc.n, sc.roles, sc.drop_rate, sc.partition, sc.crash
    ));
    for i in 0..sim.nodes.len() {
        let a = sim.nodes[i].start();
        sim.act(i, a);
        sim.push(sc.tick_ms + i as u64, Event::Tick { node: i });
    }
    if let Some((who, at, back)) = sc.crash {
        let node = sim.nodes.iter().position(|n| n.validator as usize == who).unwrap_or(0);
        sim.push(at, Event::Crash { node });
        sim.push(back, Event::Restart { node });
    }

    let deadline = sc.chaos_ms + sc.liveness_bound_ms;
    let mut target = None;
    while let Some(Reverse((at, _, event))) = sim.queue.pop() {
        sim.now = at;
        sim.report.events += 1;
        sim.report.digest = fnv(sim.report.digest, format!("{at}{event:?}").as_bytes());
        if target.is_none() && sim.healed() {
            let t = sim.decisions.keys().next_back().copied().unwrap_or(0) + 2;
            sim.note(format!("network healed; every honest node must reach height {t}"));
            target = Some(t);
        }
        if let Some(t) = target {
            if sim.min_honest_height() >= t {
                break;
            }
        }
        if at > deadline {
            let reached =
                sim.nodes.iter().filter(|n| n.role == Role::Honest).map(|n| n.decided.len() as Height).collect();
            for i in 0..sim.nodes.len() {
                let n = &sim.nodes[i];
                let line = format!("n{i} ({:?}) stuck: {} up={}", n.role, n.describe(), n.up);
                sim.note(line);
            }
            sim.report.violation = Some(Violation::Liveness { target: target.unwrap_or(0), reached });
            break;
        }
        match event {
            Event::Deliver { to, from, msg } => {
                if let Some(m) = sim.msgs[msg].take() {
                    let a = sim.nodes[to].on_message(from, m);
                    sim.act(to, a);
                }
            }
            Event::Timer { node, incarnation, timeout } => {
                let t = sim.timeouts[timeout];
                let a = sim.nodes[node].on_timer(incarnation, t);
                sim.act(node, a);
            }
            Event::Tick { node } => {
                let a = sim.nodes[node].on_tick();
                sim.act(node, a);
                sim.push(at + sc.tick_ms, Event::Tick { node });
            }
            Event::NextHeight { node, incarnation } => {
                let a = sim.nodes[node].start_next(incarnation);
                sim.act(node, a);
            }
            Event::Crash { node } => {
                sim.note(format!("n{node} crashes at h={} r={}", sim.nodes[node].height(), sim.nodes[node].round()));
                sim.nodes[node].crash();
            }
            Event::Restart { node } => {
                let a = sim.nodes[node].restart();
                sim.note(format!(
                    "n{node} restarts from its WAL at h={} r={}",
                    sim.nodes[node].height(),
                    sim.nodes[node].round()
                ));
                sim.act(node, a);
            }
        }
        if sim.report.violation.is_some() {
            break;
        }
    }
    sim.report.heights = sim.decisions.len() as Height;
    sim.report.end_ms = sim.now;
    sim.report
}
