//! What a seed decides about a run.

use consensus::TimeoutParams;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How a validator behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Honest,
    /// Sends its real vote to half the peers and a conflicting one to the rest.
    DoubleVoter,
    /// As proposer, sends one block to half the peers and another to the rest.
    EquivocatingProposer,
    /// As proposer, proposes blocks no honest node accepts (wrong state root).
    InvalidProposer,
    /// Two nodes run this validator's key independently.
    Twins,
    /// Sends validly signed votes for far-future heights with made-up values.
    FutureSpammer,
    /// Sends validly signed proposals for rounds whose proposer it is not.
    WrongProposer,
    /// As proposer, stamps its blocks with the largest timestamp there is.
    FarFutureTimestamp,
    /// Signs votes for thousands of rounds ahead at the current height.
    RoundFlooder,
    /// The attack of the old driver's lock amnesia: double votes (so honest validators lock
    /// and decide on different rounds' values) while sending one honest validator at a time
    /// validly signed votes for the next heights, to make it leave its height and come back
    /// without its lock.
    Amnesia,
    /// As proposer, includes transactions only it holds and withholds them: it answers
    /// nobody's requests at odd heights and only half its peers' at even ones. Floods
    /// requests for made-up transactions and sends transactions nobody asked for.
    Withholder,
}

impl Role {
    /// The Byzantine behaviours of the first simulator (before the driver was simulated).
    pub const CLASSIC: [Role; 4] = [Role::DoubleVoter, Role::EquivocatingProposer, Role::InvalidProposer, Role::Twins];
    /// Every Byzantine behaviour.
    pub const ALL: [Role; 10] = [
        Role::DoubleVoter,
        Role::EquivocatingProposer,
        Role::InvalidProposer,
        Role::Twins,
        Role::FutureSpammer,
        Role::WrongProposer,
        Role::FarFutureTimestamp,
        Role::RoundFlooder,
        Role::Amnesia,
        Role::Withholder,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Honest => "honest",
            Role::DoubleVoter => "double-voter",
            Role::EquivocatingProposer => "equivocating-proposer",
            Role::InvalidProposer => "invalid-proposer",
            Role::Twins => "twins",
            Role::FutureSpammer => "future-spammer",
            Role::WrongProposer => "wrong-proposer",
            Role::FarFutureTimestamp => "far-future-timestamp",
            Role::RoundFlooder => "round-flooder",
            Role::Amnesia => "amnesia",
            Role::Withholder => "withholder",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        std::iter::once(Role::Honest).chain(Role::ALL).find(|r| r.name() == name)
    }
}

/// Validator sets that change at epoch boundaries: epoch `e` (heights `e * length + 1 ..=
/// (e + 1) * length`) is decided by `sets[e % sets.len()]`, as indices into the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epochs {
    pub length: u64,
    pub sets: Vec<Vec<usize>>,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    /// Validators in the first set.
    pub n: usize,
    /// One role per validator key (keys beyond `n` join in later epochs).
    pub roles: Vec<Role>,
    pub params: TimeoutParams,
    /// Faults (drops, partition, crash) happen before this time; then the network heals.
    pub chaos_ms: u64,
    pub drop_rate: f64,
    /// Keys on side A of the partition, and when it starts and heals.
    pub partition: Option<(Vec<bool>, u64, u64)>,
    /// An honest key whose node crashes, and when it crashes and restarts.
    pub crash: Option<(usize, u64, u64)>,
    /// Keys whose signer backend (Vault) does not answer, and when the outage starts and
    /// ends: their guards refuse what is below their watermark, as `kms::Guard` does.
    pub signer_outage: Option<(Vec<bool>, u64, u64)>,
    /// One-way delay per link (ms) before jitter, by key.
    pub link_delay: Vec<Vec<u64>>,
    pub jitter_ms: u64,
    /// How often Byzantine validators act on their own.
    pub tick_ms: u64,
    /// Simulated time after healing within which progress must resume.
    pub liveness_bound_ms: u64,
    pub epochs: Option<Epochs>,
    /// Each key's wall clock offset (ms), within the allowed drift.
    pub clock_skew_ms: Vec<i64>,
}

fn f_of(n: usize) -> usize {
    (n.max(1) - 1) / 3
}

impl Scenario {
    /// The scenario of `seed` with Byzantine behaviours from [`Role::ALL`].
    pub fn from_seed(seed: u64, n: Option<usize>) -> Scenario {
        Scenario::with_roles(seed, n, &Role::ALL)
    }

    /// The scenario of `seed`, with `n` validators (chosen from 1, 4, 5, 6, 7, 8, 10 when
    /// `None`) and Byzantine behaviours drawn from `pool`.
    pub fn with_roles(seed: u64, n: Option<usize>, pool: &[Role]) -> Scenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = n.unwrap_or_else(|| [1, 4, 5, 6, 7, 8, 10][rng.gen_range(0..7)]);
        // Epochs with set changes: one validator leaves, then a new key joins.
        let epochs = (n >= 4 && rng.gen_bool(0.3)).then(|| {
            let leaving = rng.gen_range(0..n);
            let first: Vec<usize> = (0..n).collect();
            let smaller: Vec<usize> = (0..n).filter(|i| *i != leaving).collect();
            let mut joined = smaller.clone();
            joined.push(n);
            Epochs { length: rng.gen_range(3..8), sets: vec![first, smaller, joined] }
        });
        let keys = n + usize::from(epochs.is_some());
        let mut roles = vec![Role::Honest; keys];
        // At most f Byzantine in every set.
        let f = match &epochs {
            Some(e) => e.sets.iter().map(|s| f_of(s.len())).min().unwrap_or(0),
            None => f_of(n),
        };
        let byzantine = if pool.is_empty() { 0 } else { rng.gen_range(0..=f) };
        let mut placed = 0;
        while placed < byzantine {
            let i = rng.gen_range(0..keys);
            if roles[i] == Role::Honest {
                roles[i] = pool[rng.gen_range(0..pool.len())];
                placed += 1;
            }
        }
        let chaos_ms = 4_000;
        let partition = rng.gen_bool(0.5).then(|| {
            let side: Vec<bool> = (0..keys).map(|_| rng.gen_bool(0.5)).collect();
            let start = rng.gen_range(0..2_000);
            (side, start, start + rng.gen_range(500..2_000))
        });
        let honest: Vec<usize> = (0..keys).filter(|i| roles[*i] == Role::Honest).collect();
        let crash = (rng.gen_bool(0.5) && !honest.is_empty()).then(|| {
            let who = honest[rng.gen_range(0..honest.len())];
            let at = rng.gen_range(0..3_000);
            (who, at, at + rng.gen_range(100..1_000))
        });
        let link_delay = (0..keys + 1).map(|_| (0..keys + 1).map(|_| rng.gen_range(1..40)).collect()).collect();
        let clock_skew_ms = (0..keys).map(|_| rng.gen_range(-500..500)).collect();
        let drop_rate = rng.gen_range(0.0..0.2);
        // From a generator of its own, so every seed keeps the faults it had before signer
        // outages were simulated (the seeds kept as regressions still mean what they meant).
        let mut more = ChaCha8Rng::seed_from_u64(seed ^ 0x6f75_7461_6765); // "outage"
        let signer_outage = more.gen_bool(0.3).then(|| {
            let everyone = more.gen_bool(0.3);
            let down: Vec<bool> = (0..keys).map(|_| everyone || more.gen_bool(0.5)).collect();
            let start = more.gen_range(0..2_500);
            (down, start, start + more.gen_range(200..1_500))
        });
        Scenario {
            seed,
            n,
            roles,
            params: TimeoutParams { propose_ms: 300, vote_ms: 200, delta_ms: 100, max_ms: 2_000 },
            chaos_ms,
            drop_rate,
            partition,
            crash,
            signer_outage,
            link_delay,
            jitter_ms: 10,
            tick_ms: 250,
            liveness_bound_ms: 30_000,
            epochs,
            clock_skew_ms,
        }
    }

    pub fn f(&self) -> usize {
        f_of(self.n)
    }

    /// Number of validator keys (the first set's and any that join later).
    pub fn keys(&self) -> usize {
        self.roles.len()
    }

    /// The keys that decide `height`, in set order.
    pub fn set_at(&self, height: u64) -> Vec<usize> {
        match &self.epochs {
            Some(e) => {
                let epoch = height.saturating_sub(1) / e.length.max(1);
                e.sets[(epoch % e.sets.len() as u64) as usize].clone()
            }
            None => (0..self.n).collect(),
        }
    }
}
