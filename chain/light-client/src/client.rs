//! The client's trusted state (a validator set per known epoch and the newest verified
//! header) and the checks.

use std::collections::BTreeMap;

use chain_types::merkle::verify_path;
use chain_types::{
    sha3_256, validators_hash, AccountId, BlockHeight, CryptoHash, ExecutionStatus, PublicKey, SignedTransaction,
};
use genesis::Genesis;
use jmt::proof::SparseMerkleProof;
use jmt::{KeyHash, RootHash};
use sha3::Sha3_256;

use crate::wire::{CertifiedHeader, ExecutionProof, LightClientBlock, StateProofSet};
use crate::LightClientError;

type Set = Vec<(AccountId, PublicKey)>;

/// What the client trusts: the chain id, the epoch length, each known epoch's validator set
/// and the newest header it verified.
#[derive(Debug, Clone)]
pub struct LightClient {
    chain_id: String,
    epoch_length: u64,
    sets: BTreeMap<u64, Set>,
    head: BlockHeight,
    head_hash: Option<CryptoHash>,
}

/// A transaction's outcome, proven included in a certified block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedOutcome {
    pub block_height: BlockHeight,
    pub block_hash: CryptoHash,
    pub tx_hash: CryptoHash,
    pub signer_id: AccountId,
    pub receiver_id: AccountId,
    pub status: ExecutionStatus,
    pub logs: Vec<String>,
}

/// A state entry (present or proven absent) as of the block before `root_block_height`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedState {
    pub root_block_height: BlockHeight,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

impl LightClient {
    /// Trusts the genesis file: its chain id, epoch length and validators (epoch 0's set).
    pub fn from_genesis(g: &Genesis) -> Self {
        let set = g.validators.iter().map(|v| (v.account_id.clone(), v.consensus_key)).collect();
        LightClient {
            chain_id: g.chain_id.clone(),
            epoch_length: g.epoch_length,
            sets: BTreeMap::from([(0, set)]),
            head: 0,
            head_hash: None,
        }
    }

    /// Height of the newest verified header (0 before any).
    pub fn head(&self) -> BlockHeight {
        self.head
    }

    /// Hash of the newest verified header, `None` before any.
    pub fn head_hash(&self) -> Option<CryptoHash> {
        self.head_hash
    }

    /// The epochs whose validator sets are known, with each set.
    pub fn sets(&self) -> &BTreeMap<u64, Vec<(AccountId, PublicKey)>> {
        &self.sets
    }

    /// The epoch of a height: epoch `e` is heights `e * len + 1 ..= (e + 1) * len`.
    pub fn epoch_of(&self, height: BlockHeight) -> u64 {
        height.saturating_sub(1).checked_div(self.epoch_length).unwrap_or(0)
    }

    fn set_deciding(&self, height: BlockHeight) -> Result<&Set, LightClientError> {
        let epoch = self.epoch_of(height);
        self.sets.get(&epoch).ok_or_else(|| LightClientError::UnknownEpoch {
            height,
            epoch,
            known_from: self.sets.keys().next().copied().unwrap_or(0),
            known_to: self.sets.keys().next_back().copied().unwrap_or(0),
        })
    }

    /// Checks a header's certificate against the set of its epoch; returns the block hash.
    pub fn verify_header(&self, c: &CertifiedHeader) -> Result<CryptoHash, LightClientError> {
        let height = c.header.height;
        let keys: Vec<PublicKey> = self.set_deciding(height)?.iter().map(|(_, k)| *k).collect();
        let hash = c.header.hash();
        c.certificate
            .verify(&self.chain_id, height, hash, &keys)
            .map_err(|source| LightClientError::Certificate { height, source })?;
        Ok(hash)
    }

    /// Moves to a newer certified header; at an epoch's last block, learns the next epoch's
    /// set from it.
    pub fn advance(&mut self, b: &LightClientBlock) -> Result<(), LightClientError> {
        let header = &b.certified.header;
        let height = header.height;
        if height <= self.head && self.head_hash.is_some() {
            return Err(LightClientError::NotNewer { height, head: self.head });
        }
        let hash = self.verify_header(&b.certified)?;
        let listed = validators_hash(b.next_bps.iter().map(|(a, k)| (a, k)));
        if listed != header.next_bp_hash {
            return Err(LightClientError::NextSetMismatch { height, listed, committed: header.next_bp_hash });
        }
        let next_epoch = self.epoch_of(height + 1);
        if next_epoch != self.epoch_of(height) {
            self.sets.insert(next_epoch, b.next_bps.clone());
        } else if listed != validators_hash(self.set_deciding(height)?.iter().map(|(a, k)| (a, k))) {
            return Err(LightClientError::SetChangedMidEpoch { height });
        }
        self.head = height;
        self.head_hash = Some(hash);
        Ok(())
    }

    /// Checks that transaction `tx_hash` and its outcome are in a certified block.
    pub fn verify_transaction(
        &self,
        p: &ExecutionProof,
        tx_hash: &CryptoHash,
    ) -> Result<VerifiedOutcome, LightClientError> {
        let proven = SignedTransaction::hash(&p.transaction);
        if proven != *tx_hash {
            return Err(LightClientError::OtherTransaction { asked: *tx_hash, proven });
        }
        let block_hash = self.verify_header(&p.certified)?;
        let header = &p.certified.header;
        if !verify_path(&header.tx_root, &p.transaction.digest(), &p.tx_path) {
            return Err(LightClientError::TransactionNotIncluded { index: p.tx_index });
        }
        if !verify_path(&header.outcome_root, &sha3_256(&p.outcome), &p.outcome_path) {
            return Err(LightClientError::OutcomeNotIncluded { index: p.tx_index });
        }
        type Leaf = (CryptoHash, AccountId, AccountId, ExecutionStatus, Vec<String>);
        let (tx_hash, signer_id, receiver_id, status, logs): Leaf =
            borsh::from_slice(&p.outcome).map_err(|e| LightClientError::Malformed(format!("outcome: {e}")))?;
        let transaction = SignedTransaction::hash(&p.transaction);
        if tx_hash != transaction {
            return Err(LightClientError::OutcomeOfAnotherTransaction { transaction, outcome: tx_hash });
        }
        Ok(VerifiedOutcome { block_height: header.height, block_hash, tx_hash, signer_id, receiver_id, status, logs })
    }

    /// Checks state entries against the state root a certified header carries.
    pub fn verify_state(&self, p: &StateProofSet) -> Result<Vec<VerifiedState>, LightClientError> {
        self.verify_header(&p.root_block)?;
        let root = p.root_block.header.prev_state_root;
        p.entries
            .iter()
            .map(|e| {
                let proof: SparseMerkleProof<Sha3_256> = borsh::from_slice(&e.proof)
                    .map_err(|err| LightClientError::Malformed(format!("state proof: {err}")))?;
                proof
                    .verify(RootHash(root.0), KeyHash::with::<Sha3_256>(&e.key), e.value.as_ref())
                    .map_err(|err| LightClientError::StateProof { root, detail: err.to_string() })?;
                Ok(VerifiedState {
                    root_block_height: p.root_block.header.height,
                    key: e.key.clone(),
                    value: e.value.clone(),
                })
            })
            .collect()
    }
}
