//! What Byzantine validators send besides (or instead of) what their driver sends. Every
//! message is validly signed with the validator's own key: the attacks are about content.

use chain_types::{sha3_256, Block, BlockHeader, BlockHeight, CompactBlock, CryptoHash, SecretKey};
use consensus::{Proposal, Round, ValidatorIndex, Vote, VoteKind};
use consensus_driver::{proposal_bytes, vote_bytes, ConsensusMessage};
use rand::Rng;

use crate::app::{expected_root, CHAIN_ID};

pub fn signed_vote(key: &SecretKey, vote: Vote) -> ConsensusMessage {
    let signature = key.sign(&vote_bytes(CHAIN_ID, &vote));
    ConsensusMessage::Vote { vote, signature }
}

pub fn signed_proposal(key: &SecretKey, proposal: Proposal, block: CompactBlock) -> ConsensusMessage {
    let signature = key.sign(&proposal_bytes(CHAIN_ID, &proposal));
    ConsensusMessage::Proposal { proposal, block: Box::new(block), signature }
}

fn made_up(rng: &mut impl Rng) -> CryptoHash {
    CryptoHash(rng.gen())
}

/// The other half of a double vote: nil for a value, a made-up value for nil.
pub fn conflicting_vote(key: &SecretKey, vote: &Vote, rng: &mut impl Rng) -> ConsensusMessage {
    let value = match vote.value {
        Some(_) => None,
        None => Some(made_up(rng)),
    };
    signed_vote(key, Vote { value, ..vote.clone() })
}

/// The other half of an equivocating proposal: the same block a millisecond later (valid,
/// but another id).
pub fn conflicting_proposal(key: &SecretKey, proposal: &Proposal, block: &CompactBlock) -> ConsensusMessage {
    let mut other = block.clone();
    other.header.timestamp_ms = other.header.timestamp_ms.saturating_add(1);
    let p = Proposal { value: other.hash(), ..proposal.clone() };
    signed_proposal(key, p, other)
}

/// Votes for heights far ahead, for values nobody proposed.
pub fn future_votes(
    key: &SecretKey,
    validator: ValidatorIndex,
    height: BlockHeight,
    rng: &mut impl Rng,
) -> Vec<ConsensusMessage> {
    (0..8)
        .map(|_| {
            let vote = Vote {
                kind: if rng.gen_bool(0.5) { VoteKind::Prevote } else { VoteKind::Precommit },
                height: height + rng.gen_range(2..1_000),
                round: rng.gen_range(0..4),
                value: Some(made_up(rng)),
                validator,
            };
            signed_vote(key, vote)
        })
        .collect()
}

/// Votes for the next two heights, for values nobody proposed: what made the old driver
/// leave its height (and forget its lock) on a single validator's word.
pub fn next_height_votes(
    key: &SecretKey,
    validator: ValidatorIndex,
    height: BlockHeight,
    rng: &mut impl Rng,
) -> Vec<ConsensusMessage> {
    [height + 1, height + 2]
        .into_iter()
        .flat_map(|h| {
            [VoteKind::Prevote, VoteKind::Precommit].map(|kind| {
                let vote = Vote { kind, height: h, round: rng.gen_range(0..3), value: Some(made_up(rng)), validator };
                signed_vote(key, vote)
            })
        })
        .collect()
}

/// Proposals for rounds of `height` whose proposer is someone else, each with a block that
/// would be valid from that validator.
pub fn wrong_proposals(
    key: &SecretKey,
    me: ValidatorIndex,
    parent: &BlockHeader,
    proposer_of: impl Fn(Round) -> ValidatorIndex,
    account: chain_types::AccountId,
    round: Round,
    timestamp_ms: u64,
) -> Vec<ConsensusMessage> {
    (round..round + 4)
        .filter(|r| proposer_of(*r) != me)
        .map(|r| {
            let height = parent.height + 1;
            let header = BlockHeader {
                height,
                prev_hash: parent.hash(),
                timestamp_ms: timestamp_ms.max(parent.timestamp_ms + 1) + u64::from(r),
                proposer: account.clone(),
                tx_root: Block::compute_tx_root(&[]),
                outcome_root: CryptoHash::default(),
                next_bp_hash: CryptoHash::default(),
                prev_state_root: expected_root(parent),
            };
            let block = CompactBlock { header, digests: Vec::new() };
            let proposal = Proposal { height, round: r, value: block.hash(), pol_round: None, proposer: me };
            signed_proposal(key, proposal, block)
        })
        .collect()
}

/// Prevotes and precommits for `count` rounds from `from_round` on, each for another value.
pub fn round_flood(
    key: &SecretKey,
    validator: ValidatorIndex,
    height: BlockHeight,
    from_round: Round,
    count: u32,
) -> Vec<ConsensusMessage> {
    (from_round..from_round.saturating_add(count))
        .flat_map(|round| {
            let value = Some(sha3_256(&round.to_le_bytes()));
            [VoteKind::Prevote, VoteKind::Precommit]
                .map(|kind| signed_vote(key, Vote { kind, height, round, value, validator }))
        })
        .collect()
}

/// Requests for made-up transactions of made-up blocks at `height`, and transactions nobody
/// asked for (real, validly signed, but of no block).
pub fn fetch_flood(height: BlockHeight, rng: &mut impl Rng) -> Vec<ConsensusMessage> {
    let mut out: Vec<ConsensusMessage> = (0..4)
        .map(|_| ConsensusMessage::FetchTransactions {
            height,
            block: made_up(rng),
            digests: (0..64).map(|_| made_up(rng)).collect(),
        })
        .collect();
    let transactions =
        (0..4).map(|i| crate::app::client_transaction(u64::MAX / 4 + rng.gen_range(0..1_000) + i)).collect();
    out.push(ConsensusMessage::BlockTransactions { height, block: made_up(rng), transactions });
    out
}
