//! What a seed decides about a run.

use consensus::TimeoutParams;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How a validator behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Honest,
    /// Sends its real vote to half the peers and a conflicting one to the rest.
    DoubleVoter,
    /// As proposer, sends one value to half the peers and another to the rest.
    EquivocatingProposer,
    /// As proposer, proposes a value no honest node accepts as valid.
    InvalidProposer,
    /// Two nodes run this validator's key independently.
    Twins,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub n: usize,
    pub roles: Vec<Role>,
    pub params: TimeoutParams,
    /// Faults (drops, partition, crash) happen before this time; then the network heals.
    pub chaos_ms: u64,
    pub drop_rate: f64,
    /// Nodes on side A of the partition, and when it starts and heals.
    pub partition: Option<(Vec<bool>, u64, u64)>,
    /// An honest validator that crashes, and when it crashes and restarts.
    pub crash: Option<(usize, u64, u64)>,
    /// One-way delay per link (ms) before jitter.
    pub link_delay: Vec<Vec<u64>>,
    pub jitter_ms: u64,
    pub tick_ms: u64,
    /// Simulated time after healing within which progress must resume.
    pub liveness_bound_ms: u64,
}

impl Scenario {
    /// The scenario of `seed`, with `n` validators (chosen from 1, 4, 7, 10 when `None`).
    pub fn from_seed(seed: u64, n: Option<usize>) -> Scenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = n.unwrap_or_else(|| [1, 4, 7, 10][rng.gen_range(0..4)]);
        let f = (n - 1) / 3;
        let mut roles = vec![Role::Honest; n];
        let byzantine = rng.gen_range(0..=f);
        let mut placed = 0;
        while placed < byzantine {
            let i = rng.gen_range(0..n);
            if roles[i] == Role::Honest {
                roles[i] = [Role::DoubleVoter, Role::EquivocatingProposer, Role::InvalidProposer, Role::Twins]
                    [rng.gen_range(0..4)];
                placed += 1;
            }
        }
        let chaos_ms = 4_000;
        let partition = rng.gen_bool(0.5).then(|| {
            let side: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.5)).collect();
            let start = rng.gen_range(0..2_000);
            (side, start, start + rng.gen_range(500..2_000))
        });
        let honest: Vec<usize> = (0..n).filter(|i| roles[*i] == Role::Honest).collect();
        let crash = (rng.gen_bool(0.5) && !honest.is_empty()).then(|| {
            let who = honest[rng.gen_range(0..honest.len())];
            let at = rng.gen_range(0..3_000);
            (who, at, at + rng.gen_range(100..1_000))
        });
        let link_delay = (0..n + 1).map(|_| (0..n + 1).map(|_| rng.gen_range(1..40)).collect()).collect();
        Scenario {
            seed,
            n,
            roles,
            params: TimeoutParams { propose_ms: 300, vote_ms: 200, delta_ms: 100, max_ms: 2_000 },
            chaos_ms,
            drop_rate: rng.gen_range(0.0..0.2),
            partition,
            crash,
            link_delay,
            jitter_ms: 10,
            tick_ms: 250,
            liveness_bound_ms: 30_000,
        }
    }

    pub fn f(&self) -> usize {
        (self.n - 1) / 3
    }
}
