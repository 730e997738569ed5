//! Proof of equivocation: two different messages one validator signed for one
//! (chain, height, round, step). Anyone holding the validator's public key (from the genesis
//! file, or the validator set of that height) can check it without trusting whoever holds it.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::{sha3_256, to_borsh, BlockHeight, CryptoHash, ProposalSignBytes, PublicKey, Signature, VoteSignBytes};

/// Two conflicting signed messages of one validator, with everything needed to check them.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Equivocation {
    /// Two different votes of one kind in one round.
    Votes {
        /// The validator's index in the set of `height`.
        validator: u16,
        public_key: PublicKey,
        first: VoteSignBytes,
        first_signature: Signature,
        second: VoteSignBytes,
        second_signature: Signature,
    },
    /// Two different proposals for one round.
    Proposals {
        validator: u16,
        public_key: PublicKey,
        first: ProposalSignBytes,
        first_signature: Signature,
        second: ProposalSignBytes,
        second_signature: Signature,
    },
}

/// Why a piece of evidence does not prove anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("the two messages are for different positions (chain, height, round or kind): {first} vs {second}")]
    DifferentPosition { first: String, second: String },
    #[error("the two messages are the same")]
    SameMessage,
    #[error("the {which} signature does not verify under {public_key}")]
    BadSignature { which: &'static str, public_key: PublicKey },
}

impl Equivocation {
    pub fn validator(&self) -> u16 {
        match self {
            Equivocation::Votes { validator, .. } | Equivocation::Proposals { validator, .. } => *validator,
        }
    }

    pub fn public_key(&self) -> PublicKey {
        match self {
            Equivocation::Votes { public_key, .. } | Equivocation::Proposals { public_key, .. } => *public_key,
        }
    }

    pub fn chain_id(&self) -> &str {
        match self {
            Equivocation::Votes { first, .. } => &first.chain_id,
            Equivocation::Proposals { first, .. } => &first.chain_id,
        }
    }

    pub fn height(&self) -> BlockHeight {
        match self {
            Equivocation::Votes { first, .. } => first.height,
            Equivocation::Proposals { first, .. } => first.height,
        }
    }

    pub fn round(&self) -> u32 {
        match self {
            Equivocation::Votes { first, .. } => first.round,
            Equivocation::Proposals { first, .. } => first.round,
        }
    }

    /// `conflicting_votes` or `conflicting_proposals`.
    pub fn kind(&self) -> &'static str {
        match self {
            Equivocation::Votes { .. } => "conflicting_votes",
            Equivocation::Proposals { .. } => "conflicting_proposals",
        }
    }

    /// A stable id: the hash of the evidence's borsh encoding.
    pub fn id(&self) -> CryptoHash {
        sha3_256(&to_borsh(self))
    }

    /// Checks that the two messages sit at one position, differ, and are both signed by
    /// `public_key`. Whether that key is the validator's at this height is for the caller to
    /// check against the genesis file or the validator set.
    pub fn verify(&self) -> Result<(), EvidenceError> {
        let (position, bytes, signatures, key) = match self {
            Equivocation::Votes { public_key, first, first_signature, second, second_signature, .. } => {
                let pos = |v: &VoteSignBytes| format!("{}/{}/{}/{:?}", v.chain_id, v.height, v.round, v.kind);
                (
                    (pos(first), pos(second)),
                    (first.to_bytes(), second.to_bytes()),
                    (first_signature, second_signature),
                    public_key,
                )
            }
            Equivocation::Proposals { public_key, first, first_signature, second, second_signature, .. } => {
                let pos = |p: &ProposalSignBytes| format!("{}/{}/{}/proposal", p.chain_id, p.height, p.round);
                (
                    (pos(first), pos(second)),
                    (first.to_bytes(), second.to_bytes()),
                    (first_signature, second_signature),
                    public_key,
                )
            }
        };
        if position.0 != position.1 {
            return Err(EvidenceError::DifferentPosition { first: position.0, second: position.1 });
        }
        if bytes.0 == bytes.1 {
            return Err(EvidenceError::SameMessage);
        }
        for (which, message, signature) in [("first", &bytes.0, signatures.0), ("second", &bytes.1, signatures.1)] {
            if !key.verify(message, signature) {
                return Err(EvidenceError::BadSignature { which, public_key: *key });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SecretKey, VoteKind};

    fn vote(value: Option<u8>, round: u32) -> VoteSignBytes {
        VoteSignBytes {
            chain_id: "test".into(),
            kind: VoteKind::Prevote,
            height: 7,
            round,
            block_hash: value.map(|b| CryptoHash([b; 32])),
        }
    }

    fn votes(sk: &SecretKey, first: VoteSignBytes, second: VoteSignBytes) -> Equivocation {
        Equivocation::Votes {
            validator: 2,
            public_key: sk.public_key(),
            first_signature: sk.sign(&first.to_bytes()),
            second_signature: sk.sign(&second.to_bytes()),
            first,
            second,
        }
    }

    #[test]
    fn proves_two_signed_votes_and_nothing_else() {
        let sk = SecretKey::from_seed([4; 32]);
        let e = votes(&sk, vote(Some(1), 0), vote(None, 0));
        assert_eq!(e.verify(), Ok(()));
        assert_eq!((e.height(), e.round(), e.validator(), e.kind()), (7, 0, 2, "conflicting_votes"));
        let decoded: Equivocation = borsh::from_slice(&to_borsh(&e)).unwrap();
        assert_eq!(decoded, e);
        assert!(matches!(
            votes(&sk, vote(Some(1), 0), vote(Some(2), 1)).verify(),
            Err(EvidenceError::DifferentPosition { .. })
        ));
        assert_eq!(votes(&sk, vote(Some(1), 0), vote(Some(1), 0)).verify(), Err(EvidenceError::SameMessage));
        let Equivocation::Votes { validator, public_key, first, first_signature, second, .. } = e.clone() else {
            unreachable!()
        };
        let forged = Equivocation::Votes {
            validator,
            public_key,
            first,
            first_signature,
            second_signature: SecretKey::from_seed([5; 32]).sign(&second.to_bytes()),
            second,
        };
        assert!(matches!(forged.verify(), Err(EvidenceError::BadSignature { which: "second", .. })));
    }
}
