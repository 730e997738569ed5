use chain_types::{quorum, AccountId, BlockHeight, PublicKey};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validator {
    pub account_id: AccountId,
    pub consensus_key: PublicKey,
}

/// The ordered validator set of an epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
}

impl ValidatorSet {
    /// `None` for an empty set, which cannot make progress.
    pub fn new(validators: Vec<Validator>) -> Option<Self> {
        (!validators.is_empty()).then_some(ValidatorSet { validators })
    }

    pub fn len(&self) -> usize {
        self.validators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    pub fn keys(&self) -> Vec<PublicKey> {
        self.validators.iter().map(|v| v.consensus_key).collect()
    }

    pub fn quorum(&self) -> usize {
        quorum(self.len())
    }

    /// Votes that prove at least one honest sender: n - quorum + 1.
    pub fn honest_threshold(&self) -> usize {
        self.len() - self.quorum() + 1
    }

    pub fn index_of(&self, key: &PublicKey) -> Option<usize> {
        self.validators.iter().position(|v| &v.consensus_key == key)
    }

    /// The index of the round-robin proposer of (height, round).
    pub fn proposer_index(&self, height: BlockHeight, round: u32) -> usize {
        let n = self.validators.len() as u64;
        (height.wrapping_add(u64::from(round)) % n) as usize
    }

    /// Round-robin proposer for (height, round).
    pub fn proposer(&self, height: BlockHeight, round: u32) -> &Validator {
        &self.validators[self.proposer_index(height, round)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_types::SecretKey;

    fn set(n: u8) -> ValidatorSet {
        ValidatorSet::new(
            (0..n)
                .map(|i| Validator {
                    account_id: format!("v{i}").parse().unwrap(),
                    consensus_key: SecretKey::from_seed([i; 32]).public_key(),
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn thresholds_and_rotation() {
        let s = set(4);
        assert_eq!((s.quorum(), s.honest_threshold()), (3, 2));
        let s7 = set(7);
        assert_eq!((s7.quorum(), s7.honest_threshold()), (5, 3));
        assert_eq!(s.proposer(1, 0).account_id.as_str(), "v1");
        assert_eq!(s.proposer(1, 3).account_id.as_str(), "v0");
        assert!(ValidatorSet::new(vec![]).is_none());
    }
}
