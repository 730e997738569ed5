//! The simulation suite: 500 seeds across 1, 4, 7 and 10 validators with faults and
//! Byzantine validators, and the same seed giving the same run.

use consensus_sim::{run, Role, Scenario};

#[test]
fn five_hundred_seeds_keep_agreement_validity_and_liveness() {
    let (mut evidence, mut byzantine, mut crashes, mut partitions, mut heights) = (0, 0, 0, 0, 0);
    for n in [1, 4, 7, 10] {
        for seed in 0..125u64 {
            let sc = Scenario::from_seed(seed * 31 + n as u64, Some(n));
            byzantine += sc.roles.iter().filter(|r| **r != Role::Honest).count();
            crashes += usize::from(sc.crash.is_some());
            partitions += usize::from(sc.partition.is_some());
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
        }
    }
    // The faults were really there.
    assert!(byzantine > 100 && crashes > 100 && partitions > 100, "{byzantine} {crashes} {partitions}");
    assert!(evidence > 0, "equivocations were seen and kept as evidence");
    assert!(heights > 1000);
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
    for seed in 0..200u64 {
        let sc = Scenario::from_seed(seed, Some(4));
        if sc.roles.iter().any(|r| matches!(r, Role::Twins | Role::DoubleVoter | Role::EquivocatingProposer)) {
            let r = run(&sc);
            assert!(r.violation.is_none(), "seed {seed}: {:?}", r.violation);
            found += usize::from(r.evidence > 0);
        }
    }
    assert!(found > 10, "equivocating validators produce evidence in most runs: {found}");
}
