//! What a validator key may sign: only this chain's consensus messages, and only at the
//! position the request claims. A signer that checks this cannot be used to sign a
//! transaction or another chain's vote, whoever reaches it.

use chain_types::{ProposalSignBytes, VoteKind, VoteSignBytes};

use crate::{SignRequest, Step};

/// The tag `ProposalSignBytes::to_bytes` puts before the borsh body.
const PROPOSAL_TAG: &[u8] = b"proposal";

/// Checks that `request.bytes` are `chain_id`'s proposal or vote sign bytes at the request's
/// (height, round, step). Returns why not.
pub fn check(chain_id: &str, request: &SignRequest) -> Result<(), String> {
    let (chain, height, round) = match request.step {
        Step::Propose => {
            let body =
                request.bytes.strip_prefix(PROPOSAL_TAG).ok_or("a propose request must carry proposal sign bytes")?;
            let p: ProposalSignBytes = borsh::from_slice(body).map_err(|e| format!("not proposal sign bytes: {e}"))?;
            (p.chain_id, p.height, p.round)
        }
        Step::Prevote | Step::Precommit => {
            let v: VoteSignBytes =
                borsh::from_slice(&request.bytes).map_err(|e| format!("not vote sign bytes: {e}"))?;
            let step = match v.kind {
                VoteKind::Prevote => Step::Prevote,
                VoteKind::Precommit => Step::Precommit,
            };
            if step != request.step {
                return Err(format!("the bytes are a {step:?} but the request says {:?}", request.step));
            }
            (v.chain_id, v.height, v.round)
        }
    };
    if chain != chain_id {
        return Err(format!("the bytes are for chain `{chain}`, this signer serves `{chain_id}`"));
    }
    if (height, round) != (request.height, request.round) {
        return Err(format!(
            "the bytes are for height {height} round {round}, the request says height {} round {}",
            request.height, request.round
        ));
    }
    Ok(())
}

/// Sign bytes for tests and benchmarks: a vote or proposal of `chain_id` at a position,
/// for the block `value`.
pub fn consensus_bytes(chain_id: &str, height: u64, round: u32, step: Step, value: [u8; 32]) -> Vec<u8> {
    let block_hash = chain_types::CryptoHash(value);
    match step {
        Step::Propose => {
            ProposalSignBytes { chain_id: chain_id.into(), height, round, block_hash, pol_round: None }.to_bytes()
        }
        Step::Prevote | Step::Precommit => {
            let kind = if step == Step::Prevote { VoteKind::Prevote } else { VoteKind::Precommit };
            VoteSignBytes { chain_id: chain_id.into(), kind, height, round, block_hash: Some(block_hash) }.to_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(step: Step, bytes: Vec<u8>) -> SignRequest {
        SignRequest { height: 5, round: 1, step, bytes }
    }

    #[test]
    fn accepts_own_chain_messages_at_their_position() {
        for step in [Step::Propose, Step::Prevote, Step::Precommit] {
            assert_eq!(check("c", &req(step, consensus_bytes("c", 5, 1, step, [1; 32]))), Ok(()));
        }
    }

    #[test]
    fn refuses_other_chains_positions_kinds_and_garbage() {
        let e = check("c", &req(Step::Prevote, consensus_bytes("other", 5, 1, Step::Prevote, [1; 32]))).unwrap_err();
        assert!(e.contains("chain `other`"), "{e}");
        let e = check("c", &req(Step::Prevote, consensus_bytes("c", 6, 1, Step::Prevote, [1; 32]))).unwrap_err();
        assert!(e.contains("height 6"), "{e}");
        let e = check("c", &req(Step::Precommit, consensus_bytes("c", 5, 1, Step::Prevote, [1; 32]))).unwrap_err();
        assert!(e.contains("Prevote"), "{e}");
        let e = check("c", &req(Step::Propose, consensus_bytes("c", 5, 1, Step::Prevote, [1; 32]))).unwrap_err();
        assert!(e.contains("proposal"), "{e}");
        assert!(check("c", &req(Step::Prevote, b"a transaction".to_vec())).is_err());
        let mut long = consensus_bytes("c", 5, 1, Step::Prevote, [1; 32]);
        long.push(0);
        assert!(check("c", &req(Step::Prevote, long)).is_err(), "trailing bytes");
    }
}
