//! Checking equivocation evidence from nothing but the genesis file: the proof's two messages
//! are for this chain, one position, differ, and are signed by one key; and that key is the
//! genesis validator the proof names (a validator added later is named by its key, to be
//! checked against the `validators` RPC of that height).

use base64::Engine as _;
use chain_types::Equivocation;

use crate::Genesis;

#[derive(Debug, thiserror::Error)]
pub enum EvidenceCheckError {
    #[error("the proof is not base64 of borsh evidence: {0}")]
    Decode(String),
    #[error("the evidence is for chain `{found}`, not `{expected}`")]
    OtherChain { expected: String, found: String },
    #[error(transparent)]
    Invalid(#[from] chain_types::EvidenceError),
}

/// Who the verified evidence convicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offender {
    /// A genesis validator, by account.
    Genesis { account: String, index: u16 },
    /// A key not in the genesis set (added later by the treasury).
    Key(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvidence {
    pub evidence: Equivocation,
    pub offender: Offender,
}

impl std::fmt::Display for VerifiedEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = &self.evidence;
        write!(f, "valid: {} at height {} round {} signed by {}", e.kind(), e.height(), e.round(), e.public_key())?;
        match &self.offender {
            Offender::Genesis { account, index } => write!(f, ", genesis validator {account} (index {index})"),
            Offender::Key(key) => write!(
                f,
                ", a key not in the genesis set ({key}): check it against the validators of height {}",
                e.height()
            ),
        }
    }
}

/// Decodes and checks `proof` (base64 borsh of [`Equivocation`]) against genesis `g`.
pub fn verify_evidence(g: &Genesis, proof: &str) -> Result<VerifiedEvidence, EvidenceCheckError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(proof.trim())
        .map_err(|e| EvidenceCheckError::Decode(e.to_string()))?;
    let evidence: Equivocation = borsh::from_slice(&bytes).map_err(|e| EvidenceCheckError::Decode(e.to_string()))?;
    if evidence.chain_id() != g.chain_id {
        return Err(EvidenceCheckError::OtherChain { expected: g.chain_id.clone(), found: evidence.chain_id().into() });
    }
    evidence.verify()?;
    let key = evidence.public_key();
    let offender = match g.validators.iter().position(|v| v.consensus_key == key) {
        Some(i) => Offender::Genesis { account: g.validators[i].account_id.to_string(), index: i as u16 },
        None => Offender::Key(key.to_string()),
    };
    Ok(VerifiedEvidence { evidence, offender })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{generate, NewGenesisOptions, Preset};
    use chain_types::{to_borsh, CryptoHash, VoteKind, VoteSignBytes};

    #[test]
    fn convicts_a_genesis_validator_and_refuses_forgeries() {
        let g = generate(&NewGenesisOptions {
            validators: 4,
            preset: Preset::Development,
            chain_id: "ev".into(),
            host: "127.0.0.1".into(),
            base_port: 1,
            genesis_time_ms: 1,
        })
        .unwrap();
        let sk = &g.validators[2].consensus.secret_key;
        let vote = |b: Option<u8>| VoteSignBytes {
            chain_id: "ev".into(),
            kind: VoteKind::Prevote,
            height: 9,
            round: 1,
            block_hash: b.map(|b| CryptoHash([b; 32])),
        };
        let e = Equivocation::Votes {
            validator: 2,
            public_key: sk.public_key(),
            first: vote(Some(1)),
            first_signature: sk.sign(&vote(Some(1)).to_bytes()),
            second: vote(None),
            second_signature: sk.sign(&vote(None).to_bytes()),
        };
        let proof = base64::engine::general_purpose::STANDARD.encode(to_borsh(&e));
        let found = verify_evidence(&g.genesis, &proof).unwrap();
        assert!(matches!(found.offender, Offender::Genesis { index: 2, .. }), "{found}");
        assert!(found.to_string().starts_with("valid: conflicting_votes at height 9 round 1"));
        let Equivocation::Votes { validator, public_key, first, first_signature, second, .. } = e else {
            unreachable!()
        };
        let forged = Equivocation::Votes {
            validator,
            public_key,
            first,
            first_signature,
            second_signature: g.validators[1].consensus.secret_key.sign(&second.to_bytes()),
            second,
        };
        let proof = base64::engine::general_purpose::STANDARD.encode(to_borsh(&forged));
        assert!(matches!(verify_evidence(&g.genesis, &proof), Err(EvidenceCheckError::Invalid(_))));
        assert!(matches!(verify_evidence(&g.genesis, "not base64!"), Err(EvidenceCheckError::Decode(_))));
    }
}
