//! Blocks and headers. A block's id is sha3-256 of its header's borsh encoding; the header
//! commits to the transactions through `tx_root` (a Merkle root over each signed
//! transaction's digest, so one transaction's inclusion is provable), to their outcomes
//! through `outcome_root` and to the validator set of the next height through
//! `next_bp_hash` (what a light client follows across validator-set changes). A
//! [`CompactBlock`] is a block as a proposal carries it: the header and those digests, so a
//! validator that already holds the transactions (gossiped ahead) does not receive them again.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::merkle::{merkle_path, merkle_root, MerklePath};
use crate::{sha3_256, to_borsh, AccountId, BlockHeight, CryptoHash, PublicKey, SignedTransaction};

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlockHeader {
    pub height: BlockHeight,
    /// Id of the parent block; for height 1 the genesis hash.
    pub prev_hash: CryptoHash,
    /// Proposer's wall clock, milliseconds since the Unix epoch; strictly above the parent's.
    pub timestamp_ms: u64,
    pub proposer: AccountId,
    /// Merkle root over the ordered signed transactions' digests (see [`Block::compute_tx_root`]).
    pub tx_root: CryptoHash,
    /// Merkle root over this block's outcomes' [`ExecutionOutcome::leaf_hash`]es, in
    /// transaction order (execution precedes the header here, so a block commits to its own
    /// outcomes).
    ///
    /// [`ExecutionOutcome::leaf_hash`]: crate::ExecutionOutcome::leaf_hash
    pub outcome_root: CryptoHash,
    /// [`validators_hash`] of the set that decides the next height (from this block's
    /// post-state: it differs from the current set only on an epoch's last block).
    pub next_bp_hash: CryptoHash,
    /// Merkle root over all state before this block's transactions are applied (after the
    /// parent's): the Merkle update of a block runs while the next one is being decided, so
    /// a block's own root is first committed to by its child (as NEAR's `prev_state_root`).
    /// The genesis block carries the genesis state's root.
    pub prev_state_root: CryptoHash,
}

impl BlockHeader {
    pub fn hash(&self) -> CryptoHash {
        sha3_256(&to_borsh(self))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Block {
    pub header: BlockHeader,
    pub transactions: Vec<SignedTransaction>,
}

impl Block {
    pub fn hash(&self) -> CryptoHash {
        self.header.hash()
    }

    /// The Merkle root over the [`SignedTransaction::digest`]s, in block order: the block id
    /// covers the signatures too, so a block's validity never depends on which copy of a
    /// transaction a node saw.
    pub fn compute_tx_root(transactions: &[SignedTransaction]) -> CryptoHash {
        let digests: Vec<CryptoHash> = transactions.iter().map(SignedTransaction::digest).collect();
        Self::tx_root_of(&digests)
    }

    /// The `tx_root` of transactions with these digests, in this order.
    pub fn tx_root_of(digests: &[CryptoHash]) -> CryptoHash {
        merkle_root(digests)
    }

    /// The path proving transaction `index`'s digest under `tx_root`.
    pub fn tx_path(&self, index: usize) -> Option<MerklePath> {
        let digests: Vec<CryptoHash> = self.transactions.iter().map(SignedTransaction::digest).collect();
        merkle_path(&digests, index)
    }

    /// True when the header commits to exactly these transactions.
    pub fn tx_root_matches(&self) -> bool {
        Self::compute_tx_root(&self.transactions) == self.header.tx_root
    }
}

/// A block without its transactions' bytes: the header and the digests of its transactions
/// in order. It names exactly one block: the digests are checked against the header's
/// `tx_root` ([`CompactBlock::digests_match`]), and each transaction found for a digest is
/// the very signed transaction the proposer included.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CompactBlock {
    pub header: BlockHeader,
    pub digests: Vec<CryptoHash>,
}

impl CompactBlock {
    pub fn of(block: &Block) -> CompactBlock {
        CompactBlock {
            header: block.header.clone(),
            digests: block.transactions.iter().map(SignedTransaction::digest).collect(),
        }
    }

    /// The id of the block it names (its header's hash).
    pub fn hash(&self) -> CryptoHash {
        self.header.hash()
    }

    /// True when the header commits to exactly these digests.
    pub fn digests_match(&self) -> bool {
        Block::tx_root_of(&self.digests) == self.header.tx_root
    }
}

/// The hash a header's `next_bp_hash` carries: sha3-256 of the borsh list of the set's
/// `(account, consensus key)` pairs in set order (a certificate's signer indexes that order).
/// Every validator has equal power, so no stake is hashed.
pub fn validators_hash<'a>(set: impl IntoIterator<Item = (&'a AccountId, &'a PublicKey)>) -> CryptoHash {
    let list: Vec<(&AccountId, &PublicKey)> = set.into_iter().collect();
    sha3_256(&to_borsh(&list))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> BlockHeader {
        BlockHeader {
            height: 3,
            prev_hash: sha3_256(b"p"),
            timestamp_ms: 1,
            proposer: "v0".parse().unwrap(),
            tx_root: Block::compute_tx_root(&[]),
            outcome_root: CryptoHash::default(),
            next_bp_hash: sha3_256(b"v"),
            prev_state_root: sha3_256(b"s"),
        }
    }

    #[test]
    fn tx_root_covers_the_signature() {
        use crate::{Action, SecretKey, Transaction, TransferAction};
        let sk = SecretKey::from_seed([1; 32]);
        let tx = Transaction {
            signer_id: "alice.acme".parse().unwrap(),
            public_key: sk.public_key(),
            nonce: 1,
            receiver_id: "bob.acme".parse().unwrap(),
            block_hash: sha3_256(b"b"),
            actions: vec![Action::Transfer(TransferAction { deposit: 1 })],
        }
        .sign(&sk);
        let mut altered = tx.clone();
        altered.signature.0[0] ^= 1;
        assert_eq!(tx.hash(), altered.hash(), "the transaction hash is over the unsigned part");
        assert_ne!(Block::compute_tx_root(&[tx]), Block::compute_tx_root(&[altered]));
    }

    #[test]
    fn a_compact_block_names_its_block_in_32_bytes_per_transaction() {
        use crate::{Action, SecretKey, Transaction, TransferAction};
        let sk = SecretKey::from_seed([2; 32]);
        let txs: Vec<SignedTransaction> = (0..10u64)
            .map(|nonce| {
                Transaction {
                    signer_id: "alice.acme".parse().unwrap(),
                    public_key: sk.public_key(),
                    nonce,
                    receiver_id: "bob.acme".parse().unwrap(),
                    block_hash: sha3_256(b"b"),
                    actions: vec![Action::Transfer(TransferAction { deposit: 1 })],
                }
                .sign(&sk)
            })
            .collect();
        let block =
            Block { header: BlockHeader { tx_root: Block::compute_tx_root(&txs), ..header() }, transactions: txs };
        let compact = CompactBlock::of(&block);
        assert_eq!(compact.hash(), block.hash());
        assert!(compact.digests_match());
        let header_bytes = borsh::object_length(&block.header).unwrap();
        assert_eq!(borsh::object_length(&compact).unwrap(), header_bytes + 4 + 32 * 10);
        assert!(borsh::object_length(&block).unwrap() > header_bytes + 4 + 150 * 10);
        let mut swapped = compact.clone();
        swapped.digests.swap(0, 1);
        assert!(!swapped.digests_match(), "the order is committed to");
        let mut dropped = compact;
        dropped.digests.pop();
        assert!(!dropped.digests_match());
    }

    #[test]
    fn hash_covers_every_field() {
        let h = header();
        let mut other = h.clone();
        other.prev_state_root = sha3_256(b"t");
        assert_ne!(h.hash(), other.hash());
        let mut other = h.clone();
        other.outcome_root = sha3_256(b"o");
        assert_ne!(h.hash(), other.hash());
        let mut other = h.clone();
        other.next_bp_hash = sha3_256(b"w");
        assert_ne!(h.hash(), other.hash());
        let bytes = borsh::to_vec(&h).unwrap();
        assert_eq!(borsh::from_slice::<BlockHeader>(&bytes).unwrap(), h);
    }
}
