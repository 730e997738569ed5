//! Scenarios driven by hand against one state machine (4 validators, quorum 3).

use chain_types::CryptoHash;

use crate::*;

const P: TimeoutParams = TimeoutParams { propose_ms: 100, vote_ms: 100, delta_ms: 10, max_ms: 1000 };

fn value(b: u8) -> ValueId {
    CryptoHash([b; 32])
}

fn vote(kind: VoteKind, round: Round, v: Option<u8>, validator: ValidatorIndex) -> Input {
    Input::Vote(Vote { kind, height: 1, round, value: v.map(value), validator })
}

fn own_votes(out: &[Output]) -> Vec<(VoteKind, Round, Option<ValueId>)> {
    out.iter().filter_map(|o| if let Output::Vote(v) = o { Some((v.kind, v.round, v.value)) } else { None }).collect()
}

/// Applies `input` as the driver does: each own vote is signed and handed back as a vote.
fn signed(t: &mut Tendermint, input: Input) -> Vec<Output> {
    let mut out = t.apply(input);
    let mut i = 0;
    while i < out.len() {
        if let Output::Vote(v) = &out[i] {
            let more = t.apply(Input::Vote(v.clone()));
            out.extend(more);
        }
        i += 1;
    }
    out
}

#[test]
fn happy_path_decides_with_a_certificate() {
    // Validator 2 at height 1: the proposer of round 0 is validator 1.
    let mut t = Tendermint::new(P, 4, Some(2), 1);
    signed(&mut t, Input::StartHeight(1));
    let p = Proposal { height: 1, round: 0, value: value(7), pol_round: None, proposer: 1 };
    let out = signed(&mut t, Input::Proposal { proposal: p, valid: true });
    assert_eq!(own_votes(&out), vec![(VoteKind::Prevote, 0, Some(value(7)))]);
    signed(&mut t, vote(VoteKind::Prevote, 0, Some(7), 0));
    let out = signed(&mut t, vote(VoteKind::Prevote, 0, Some(7), 1));
    assert_eq!(own_votes(&out), vec![(VoteKind::Precommit, 0, Some(value(7)))], "L36: lock and precommit");
    assert_eq!(t.locked(), Some((value(7), 0)));
    signed(&mut t, vote(VoteKind::Precommit, 0, Some(7), 0));
    let out = signed(&mut t, vote(VoteKind::Precommit, 0, Some(7), 3));
    let decided: Vec<_> = out
        .iter()
        .filter_map(|o| {
            if let Output::Decide { value, precommits, .. } = o {
                Some((*value, precommits.len()))
            } else {
                None
            }
        })
        .collect();
    assert_eq!(decided, vec![(value(7), 3)]);
}

#[test]
fn invalid_proposal_gets_a_nil_prevote_and_timeouts_move_rounds() {
    let mut t = Tendermint::new(P, 4, Some(2), 1);
    signed(&mut t, Input::StartHeight(1));
    let p = Proposal { height: 1, round: 0, value: value(9), pol_round: None, proposer: 1 };
    let out = signed(&mut t, Input::Proposal { proposal: p, valid: false });
    assert_eq!(own_votes(&out), vec![(VoteKind::Prevote, 0, None)]);
    signed(&mut t, vote(VoteKind::Prevote, 0, None, 0));
    let out = signed(&mut t, vote(VoteKind::Prevote, 0, None, 3));
    assert_eq!(own_votes(&out), vec![(VoteKind::Precommit, 0, None)], "L44");
    signed(&mut t, vote(VoteKind::Precommit, 0, None, 0));
    let out = signed(&mut t, vote(VoteKind::Precommit, 0, None, 3));
    assert!(
        out.iter().any(|o| matches!(
            o,
            Output::ScheduleTimeout { timeout: Timeout { kind: TimeoutKind::Precommit, round: 0, .. }, .. }
        )),
        "L47"
    );
    signed(&mut t, Input::TimeoutExpired(Timeout { height: 1, round: 0, kind: TimeoutKind::Precommit }));
    assert_eq!((t.round(), t.step()), (1, Step::Propose), "L65: next round");
}

#[test]
fn replayed_precommit_restores_the_lock_and_nothing_is_signed_twice() {
    // Before the crash validator 2 prevoted and precommitted value 7 in round 0.
    let mut t = Tendermint::new(P, 4, Some(2), 1);
    let prevote = Vote { kind: VoteKind::Prevote, height: 1, round: 0, value: Some(value(7)), validator: 2 };
    let precommit = Vote { kind: VoteKind::Precommit, ..prevote.clone() };
    signed(&mut t, Input::Replay(OwnMessage::Vote(prevote)));
    signed(&mut t, Input::Replay(OwnMessage::Vote(precommit)));
    let out = signed(&mut t, Input::StartHeight(1));
    assert_eq!(t.round(), 0, "resumes in the round it signed in");
    assert_eq!(t.locked(), Some((value(7), 0)));
    // A (late) proposal of round 0 arrives: no second prevote at (1, 0).
    let p0 = Proposal { height: 1, round: 0, value: value(8), pol_round: None, proposer: 1 };
    let mut all = out;
    all.extend(signed(&mut t, Input::Proposal { proposal: p0, valid: true }));
    assert!(own_votes(&all).is_empty(), "nothing re-signed: {all:?}");
    // Round 1 proposes another value without a proof of lock: locked on 7, prevote nil.
    for v in [0, 1, 3] {
        signed(&mut t, vote(VoteKind::Precommit, 0, None, v));
    }
    signed(&mut t, Input::TimeoutExpired(Timeout { height: 1, round: 0, kind: TimeoutKind::Precommit }));
    let p1 = Proposal { height: 1, round: 1, value: value(8), pol_round: None, proposer: t.proposer(1, 1) };
    let out = signed(&mut t, Input::Proposal { proposal: p1, valid: true });
    assert_eq!(own_votes(&out), vec![(VoteKind::Prevote, 1, None)], "L22: the lock holds");
}

#[test]
fn round_skip_on_f_plus_one_higher_messages_and_evidence_kept() {
    let mut t = Tendermint::new(P, 4, Some(2), 1);
    signed(&mut t, Input::StartHeight(1));
    signed(&mut t, vote(VoteKind::Prevote, 5, None, 0));
    assert_eq!(t.round(), 0, "one message is not enough (f + 1 = 2)");
    signed(&mut t, vote(VoteKind::Prevote, 5, None, 3));
    assert_eq!(t.round(), 5, "L55: jump to round 5");
    let out = signed(&mut t, vote(VoteKind::Prevote, 5, Some(1), 3));
    assert!(out.iter().any(|o| matches!(o, Output::Evidence(Evidence::ConflictingVotes { .. }))));
    assert_eq!(t.evidence().len(), 1);
    let a = Proposal { height: 1, round: 5, value: value(1), pol_round: None, proposer: t.proposer(1, 5) };
    let b = Proposal { value: value(2), ..a.clone() };
    signed(&mut t, Input::Proposal { proposal: a, valid: true });
    let out = signed(&mut t, Input::Proposal { proposal: b, valid: true });
    assert!(out.iter().any(|o| matches!(o, Output::Evidence(Evidence::ConflictingProposals { .. }))));
}

#[test]
fn a_round_flooder_is_held_to_the_window_and_one_number() {
    // Defect 5: one validator signing a million rounds must not grow the state.
    let mut t = Tendermint::new(P, 4, Some(2), 1);
    signed(&mut t, Input::StartHeight(1));
    for round in 0..100_000u32 {
        for kind in [VoteKind::Prevote, VoteKind::Precommit] {
            signed(
                &mut t,
                Input::Vote(Vote { kind, height: 1, round, value: Some(value((round % 250) as u8)), validator: 3 }),
            );
        }
    }
    assert!(t.held_votes() <= 2 * (ROUND_WINDOW as usize + 1), "held {}", t.held_votes());
    assert_eq!(t.round(), 0, "one validator cannot move us");
    // A second validator far ahead: f + 1 = 2 reached round 90_000 or more: skip there.
    signed(&mut t, vote(VoteKind::Prevote, 90_000, None, 0));
    assert_eq!(t.round(), 90_000, "L55 for rounds above the window");
}

#[test]
fn evidence_is_reported_once_per_validator_round_and_step() {
    let mut t = Tendermint::new(P, 4, Some(2), 1);
    signed(&mut t, Input::StartHeight(1));
    for v in 1..=200u8 {
        signed(&mut t, vote(VoteKind::Prevote, 0, Some(v), 3));
    }
    assert_eq!(t.evidence().len(), 1);
    assert!(t.held_votes() <= MAX_VALUES_PER_VOTER);
}

#[test]
fn an_equivocators_second_proposal_can_be_decided() {
    // Defect 12: L49 fires for any proposal of the round that has a quorum of precommits,
    // not only the first one received.
    let mut t = Tendermint::new(P, 4, Some(2), 1);
    signed(&mut t, Input::StartHeight(1));
    let first = Proposal { height: 1, round: 0, value: value(1), pol_round: None, proposer: 1 };
    let second = Proposal { value: value(2), ..first.clone() };
    signed(&mut t, Input::Proposal { proposal: first, valid: true });
    let out = signed(&mut t, Input::Proposal { proposal: second.clone(), valid: true });
    assert!(out.iter().any(|o| matches!(o, Output::Evidence(Evidence::ConflictingProposals { .. }))));
    assert_eq!(t.proposals(0).count(), 2);
    let third = Proposal { value: value(3), ..second };
    signed(&mut t, Input::Proposal { proposal: third, valid: true });
    assert_eq!(t.proposals(0).count(), MAX_PROPOSALS_PER_ROUND, "a third is evidence only");
    let mut decided = None;
    for v in [0, 1, 3] {
        for o in signed(&mut t, vote(VoteKind::Precommit, 0, Some(2), v)) {
            if let Output::Decide { value, .. } = o {
                decided = Some(value);
            }
        }
    }
    assert_eq!(decided, Some(value(2)));
}

#[test]
fn proposals_from_anyone_but_the_rounds_proposer_are_ignored() {
    let mut t = Tendermint::new(P, 4, Some(2), 1);
    signed(&mut t, Input::StartHeight(1));
    let wrong = Proposal { height: 1, round: 0, value: value(5), pol_round: None, proposer: 3 };
    let out = signed(&mut t, Input::Proposal { proposal: wrong, valid: true });
    assert!(own_votes(&out).is_empty());
    assert_eq!(t.proposals(0).count(), 0);
}

#[test]
fn an_own_vote_counts_only_once_handed_back_signed() {
    let mut t = Tendermint::new(P, 4, Some(2), 1);
    t.apply(Input::StartHeight(1));
    let p = Proposal { height: 1, round: 0, value: value(7), pol_round: None, proposer: 1 };
    let out = t.apply(Input::Proposal { proposal: p, valid: true });
    let own = out.iter().find_map(|o| if let Output::Vote(v) = o { Some(v.clone()) } else { None }).unwrap();
    assert_eq!(own.kind, VoteKind::Prevote);
    // The signer has not signed it yet: two peers' prevotes are not a quorum of three.
    t.apply(vote(VoteKind::Prevote, 0, Some(7), 0));
    let out = t.apply(vote(VoteKind::Prevote, 0, Some(7), 1));
    assert!(own_votes(&out).is_empty(), "no precommit on an unsigned own prevote: {out:?}");
    // Signed and handed back, it completes the quorum.
    let out = t.apply(Input::Vote(own));
    assert_eq!(own_votes(&out), vec![(VoteKind::Precommit, 0, Some(value(7)))]);
}
