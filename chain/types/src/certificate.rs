//! Votes' signed bytes and the commit certificate: a quorum of precommits for one block id,
//! stored with the block and verified by syncing nodes and light clients.

use std::collections::BTreeSet;

use borsh::{BorshDeserialize, BorshSerialize};

use crate::{to_borsh, BlockHeight, CryptoHash, PublicKey, Signature};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub enum VoteKind {
    Prevote,
    Precommit,
}

/// What a validator signs for a vote. The chain id keeps a vote from being replayed on
/// another chain; `block_hash: None` is a nil vote.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct VoteSignBytes {
    pub chain_id: String,
    pub kind: VoteKind,
    pub height: BlockHeight,
    pub round: u32,
    pub block_hash: Option<CryptoHash>,
}

impl VoteSignBytes {
    pub fn to_bytes(&self) -> Vec<u8> {
        to_borsh(self)
    }
}

/// What a proposer signs for a proposal: the block id and its proof-of-lock round.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ProposalSignBytes {
    pub chain_id: String,
    pub height: BlockHeight,
    pub round: u32,
    pub block_hash: CryptoHash,
    pub pol_round: Option<u32>,
}

impl ProposalSignBytes {
    pub fn to_bytes(&self) -> Vec<u8> {
        // A tag keeps proposal and vote signatures apart.
        let mut out = b"proposal".to_vec();
        out.extend(to_borsh(self));
        out
    }
}

/// Votes needed for a quorum among `n` validators of equal power: floor(2n/3) + 1.
pub fn quorum(n: usize) -> usize {
    2 * n / 3 + 1
}

/// One validator's precommit signature; `validator` indexes the validator set of the height.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CommitSignature {
    pub validator: u16,
    pub signature: Signature,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CommitCertificate {
    pub height: BlockHeight,
    pub round: u32,
    pub block_hash: CryptoHash,
    pub signatures: Vec<CommitSignature>,
}

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("certificate is for block {found}, expected {expected}")]
    WrongBlock { expected: CryptoHash, found: CryptoHash },
    #[error("certificate is for height {found}, expected {expected}")]
    WrongHeight { expected: BlockHeight, found: BlockHeight },
    #[error("validator index {index} is outside the set of {set_size}")]
    UnknownValidator { index: u16, set_size: usize },
    #[error("validator {index} signed twice")]
    DuplicateSigner { index: u16 },
    #[error("signature of validator {index} does not verify")]
    BadSignature { index: u16 },
    #[error("{found} valid signatures, quorum is {needed}")]
    NoQuorum { needed: usize, found: usize },
}

impl CommitCertificate {
    /// The bytes every signer of this certificate signed.
    pub fn sign_bytes(chain_id: &str, height: BlockHeight, round: u32, block_hash: CryptoHash) -> Vec<u8> {
        VoteSignBytes {
            chain_id: chain_id.to_owned(),
            kind: VoteKind::Precommit,
            height,
            round,
            block_hash: Some(block_hash),
        }
        .to_bytes()
    }

    /// Checks that a quorum of distinct `validators` precommitted `block_hash` at `height`.
    pub fn verify(
        &self,
        chain_id: &str,
        height: BlockHeight,
        block_hash: CryptoHash,
        validators: &[PublicKey],
    ) -> Result<(), CertificateError> {
        if self.height != height {
            return Err(CertificateError::WrongHeight { expected: height, found: self.height });
        }
        if self.block_hash != block_hash {
            return Err(CertificateError::WrongBlock { expected: block_hash, found: self.block_hash });
        }
        let message = Self::sign_bytes(chain_id, self.height, self.round, self.block_hash);
        let mut seen = BTreeSet::new();
        for sig in &self.signatures {
            let key = validators
                .get(usize::from(sig.validator))
                .ok_or(CertificateError::UnknownValidator { index: sig.validator, set_size: validators.len() })?;
            if !seen.insert(sig.validator) {
                return Err(CertificateError::DuplicateSigner { index: sig.validator });
            }
            if !key.verify(&message, &sig.signature) {
                return Err(CertificateError::BadSignature { index: sig.validator });
            }
        }
        let needed = quorum(validators.len());
        if seen.len() < needed {
            return Err(CertificateError::NoQuorum { needed, found: seen.len() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{sha3_256, SecretKey};

    fn keys(n: u8) -> Vec<SecretKey> {
        (0..n).map(|i| SecretKey::from_seed([i; 32])).collect()
    }

    fn certificate(signers: &[(u16, &SecretKey)], block: CryptoHash) -> CommitCertificate {
        let msg = CommitCertificate::sign_bytes("test", 5, 0, block);
        CommitCertificate {
            height: 5,
            round: 0,
            block_hash: block,
            signatures: signers
                .iter()
                .map(|(i, k)| CommitSignature { validator: *i, signature: k.sign(&msg) })
                .collect(),
        }
    }

    #[test]
    fn quorum_sizes() {
        assert_eq!([1, 3, 4, 7, 10].map(quorum), [1, 3, 3, 5, 7]);
    }

    #[test]
    fn accepts_quorum_and_rejects_short_duplicate_or_forged() {
        let k = keys(4);
        let pks: Vec<_> = k.iter().map(SecretKey::public_key).collect();
        let block = sha3_256(b"b");
        let good = certificate(&[(0, &k[0]), (1, &k[1]), (3, &k[3])], block);
        assert_eq!(good.verify("test", 5, block, &pks), Ok(()));
        assert_eq!(good.verify("other-chain", 5, block, &pks), Err(CertificateError::BadSignature { index: 0 }));
        let short = certificate(&[(0, &k[0]), (1, &k[1])], block);
        assert_eq!(short.verify("test", 5, block, &pks), Err(CertificateError::NoQuorum { needed: 3, found: 2 }));
        let dup = certificate(&[(0, &k[0]), (0, &k[0]), (1, &k[1])], block);
        assert_eq!(dup.verify("test", 5, block, &pks), Err(CertificateError::DuplicateSigner { index: 0 }));
        let forged = certificate(&[(0, &k[0]), (1, &k[1]), (2, &k[3])], block);
        assert_eq!(forged.verify("test", 5, block, &pks), Err(CertificateError::BadSignature { index: 2 }));
        assert!(matches!(good.verify("test", 6, block, &pks), Err(CertificateError::WrongHeight { .. })));
    }
}
