//! The simulation suite: seeds across 1, 4, 5, 6, 7, 8 and 10 validators (with validator-set
//! changes at epoch boundaries in some) with faults and every Byzantine behaviour, on the
//! production driver; the same seed giving the same run; and the seeds that found the
//! driver's old defects.

use consensus_sim::{run, Role, Scenario};

/// Seeds per validator count in the suite (`consensus-sim --seeds N` runs more).
const SEEDS: u64 = 30;

#[test]
fn seeds_keep_agreement_validity_and_liveness() {
    let (mut evidence, mut byzantine, mut crashes, mut partitions, mut epochs, mut heights) = (0, 0, 0, 0, 0, 0);
    let (mut outages, mut transactions, mut fetches) = (0, 0, 0);
    for n in [1, 4, 5, 6, 7, 8, 10] {
        for seed in 0..SEEDS {
            let sc = Scenario::with_roles(seed * 31 + n as u64, Some(n), &Role::ALL);
            byzantine += sc.roles.iter().filter(|r| **r != Role::Honest).count();
            crashes += usize::from(sc.crash.is_some());
            partitions += usize::from(sc.partition.is_some());
            epochs += usize::from(sc.epochs.is_some());
            outages += usize::from(sc.signer_outage.is_some());
            let r = run(&sc);
            assert!(
                r.violation.is_none(),
                "seed {} (n={n}) failed: {:?}\n{}",
                sc.seed,
                r.violation,
                r.trace.join("\n")
            );
            assert!(r.heights >= 2, "seed {}: progress after healing", sc.seed);
            evidence += r.evidence;
            heights += r.heights;
            transactions += r.transactions;
            fetches += r.fetches;
        }
    }
    // The faults were really there.
    assert!(
        byzantine > 40 && crashes > 40 && partitions > 40 && epochs > 20 && outages > 20,
        "{byzantine} {crashes} {partitions} {epochs} {outages}"
    );
    assert!(evidence > 0, "equivocations were seen and kept as evidence");
    assert!(heights > 500);
    // Blocks carried transactions, proposed by digest; nodes the gossip missed fetched them.
    assert!(transactions as u64 > heights && fetches > 100, "{transactions} transactions, {fetches} fetches");
}

#[test]
fn same_seed_same_run() {
    for seed in [3, 42, 1234] {
        let a = run(&Scenario::from_seed(seed, None));
        let b = run(&Scenario::from_seed(seed, None));
        assert_eq!(a.digest, b.digest, "seed {seed}");
        assert_eq!(a.trace, b.trace);
        assert_eq!(a.events, b.events);
    }
    let a = run(&Scenario::from_seed(5, Some(4)));
    let b = run(&Scenario::from_seed(6, Some(4)));
    assert_ne!(a.digest, b.digest, "different seeds, different runs");
}

#[test]
fn twins_and_equivocators_are_caught() {
    let mut found = 0;
    for seed in 0..100u64 {
        let sc = Scenario::with_roles(seed, Some(4), &[Role::Twins, Role::DoubleVoter, Role::EquivocatingProposer]);
        if sc.roles.iter().any(|r| *r != Role::Honest) {
            let r = run(&sc);
            assert!(r.violation.is_none(), "seed {seed}: {:?}", r.violation);
            found += usize::from(r.evidence > 0);
        }
    }
    assert!(found > 10, "equivocating validators produce evidence in most runs: {found}");
}

/// Seeds that broke the driver before it was fixed (each found by this simulator running
/// the driver as it was, moved behind its traits unchanged): an honest validator left its
/// height on an unverified message, came back without its lock and signed twice (classic
/// seed 91: partitioned, it saw honest peers' next height; future-spammer seed 0: garbage
/// future votes); a proposal stamped u64::MAX halted the chain (far-future-timestamp seed 0);
/// one validator crashed during a signer outage restarted into a round its guard refused and
/// stayed there (seed 187, n = 1, before refused rounds were left after their timeout).
#[test]
fn the_seeds_that_found_the_old_defects_pass() {
    let cases: [(u64, Option<usize>, &[Role]); 4] = [
        (91, None, &Role::CLASSIC),
        (0, Some(4), &[Role::FutureSpammer]),
        (0, Some(4), &[Role::FarFutureTimestamp]),
        (187, Some(1), &Role::ALL),
    ];
    for (seed, n, pool) in cases {
        let sc = Scenario::with_roles(seed, n, pool);
        let byzantine = sc.roles.iter().any(|r| pool.contains(r));
        assert!(byzantine || sc.signer_outage.is_some(), "seed {seed} draws a Byzantine validator or an outage");
        let r = run(&sc);
        assert!(r.violation.is_none(), "seed {seed} {pool:?}: {:?}\n{}", r.violation, r.trace.join("\n"));
    }
}

#[test]
fn every_byzantine_behaviour_is_survived_with_bounded_memory() {
    for role in Role::ALL {
        let mut ran = 0;
        for seed in 0..12u64 {
            for n in [4, 7] {
                let sc = Scenario::with_roles(seed, Some(n), &[role]);
                if !sc.roles.contains(&role) {
                    continue;
                }
                ran += 1;
                let r = run(&sc);
                assert!(
                    r.violation.is_none(),
                    "{} seed {seed} n={n}: {:?}\n{}",
                    role.name(),
                    r.violation,
                    r.trace.join("\n")
                );
                assert!(r.peak_held <= consensus_sim::MEMORY_BOUND);
            }
        }
        assert!(ran >= 5, "{}: only {ran} runs had it", role.name());
    }
}

/// A node down while the set changes twice (a validator leaves, so the indexes of those
/// after it shift; then the node's own key joins) comes back as an observer knowing only the
/// set of its next height: nobody helps an observer, and later messages and certificates do
/// not verify against that set. It still catches up: a peer that claims to be ahead is
/// asked, and each block it serves is checked against its exact set.
#[test]
fn a_node_down_across_set_changes_catches_up() {
    let (a, b, c) = (vec![0, 1, 2, 3, 4], vec![0, 2, 3, 4], vec![0, 2, 3, 4, 5]);
    for seed in 0..4 {
        let mut sc = Scenario::with_roles(seed, Some(5), &[]);
        sc.roles = vec![Role::Honest; 6];
        let mut sets = vec![a.clone(), b.clone()];
        sets.extend(std::iter::repeat_n(c.clone(), 1_000));
        sc.epochs = Some(consensus_sim::Epochs { length: 3, sets });
        sc.partition = None;
        sc.drop_rate = 0.0;
        sc.crash = Some((5, 100, 3_500));
        sc.link_delay = vec![vec![5; 7]; 7];
        sc.clock_skew_ms = vec![0; 6];
        let r = run(&sc);
        assert!(r.violation.is_none(), "seed {seed}: {:?}\n{}", r.violation, r.trace.join("\n"));
        assert!(r.heights >= 9, "seed {seed}: the set changed twice ({} heights)", r.heights);
    }
}

/// Vault hangs for every validator at once (the KMS daemons answer "unavailable", their
/// guards keep their watermarks) and comes back: the chain resumes. A node must not count
/// its own vote before it is signed: it would precommit on a prevote nobody received, its
/// guard would then refuse that prevote for good, and the others would wait for it forever.
#[test]
fn the_chain_resumes_after_every_signer_was_out() {
    for seed in 0..40 {
        let mut sc = Scenario::with_roles(seed, Some(4), &[]);
        sc.partition = None;
        sc.crash = None;
        sc.epochs = None;
        sc.roles.truncate(4);
        sc.drop_rate = 0.0;
        let start = 500 + seed * 37;
        sc.signer_outage = Some((vec![true; 4], start, start + 300 + seed * 53));
        let r = run(&sc);
        assert!(r.violation.is_none(), "seed {seed}: {:?}\n{}", r.violation, r.trace.join("\n"));
    }
}

/// A proposer that includes transactions only it holds and answers only some requests for
/// them (half its peers at even heights, nobody at odd ones): nodes that cannot assemble its
/// block do not prevote it and the round moves on; a block a quorum decides anyway reaches
/// the others from any node that holds it (their fetches, or the decision). No fork, no halt.
#[test]
fn a_withholding_proposer_neither_forks_nor_halts_the_chain() {
    let (mut withheld, mut fetches) = (0, 0);
    for seed in 0..16u64 {
        for n in [4, 7] {
            let mut sc = Scenario::with_roles(seed, Some(n), &[]);
            sc.roles = vec![Role::Honest; sc.keys()];
            sc.roles[1] = Role::Withholder;
            let r = run(&sc);
            assert!(r.violation.is_none(), "seed {seed} n={n}: {:?}\n{}", r.violation, r.trace.join("\n"));
            withheld += r.withheld;
            fetches += r.fetches;
        }
    }
    assert!(withheld > 10, "blocks with withheld transactions were decided: {withheld}");
    assert!(fetches > 100, "{fetches}");
}
