//! Blocks and headers. A block's id is sha3-256 of its header's borsh encoding; the header
//! commits to the transactions through `tx_root`, over each signed transaction's digest. A
//! [`CompactBlock`] is a block as a proposal carries it: the header and those digests, so a
//! validator that already holds the transactions (gossiped ahead) does not receive them again.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::{sha3_256, to_borsh, AccountId, BlockHeight, CryptoHash, SignedTransaction};

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlockHeader {
    pub height: BlockHeight,
    /// Id of the parent block; for height 1 the genesis hash.
    pub prev_hash: CryptoHash,
    /// Proposer's wall clock, milliseconds since the Unix epoch; strictly above the parent's.
    pub timestamp_ms: u64,
    pub proposer: AccountId,
    /// sha3-256 over the ordered signed transactions (see [`Block::compute_tx_root`]).
    pub tx_root: CryptoHash,
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

    /// sha3-256 over the concatenated [`SignedTransaction::digest`]s, in block order: the
    /// block id covers the signatures too, so a block's validity never depends on which copy
    /// of a transaction a node saw.
    pub fn compute_tx_root(transactions: &[SignedTransaction]) -> CryptoHash {
        let digests: Vec<CryptoHash> = transactions.iter().map(SignedTransaction::digest).collect();
        Self::tx_root_of(&digests)
    }

    /// The `tx_root` of transactions with these digests, in this order.
    pub fn tx_root_of(digests: &[CryptoHash]) -> CryptoHash {
        let mut buf = Vec::with_capacity(digests.len() * 32);
        for d in digests {
            buf.extend_from_slice(d.as_bytes());
        }
        sha3_256(&buf)
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
        let bytes = borsh::to_vec(&h).unwrap();
        assert_eq!(borsh::from_slice::<BlockHeader>(&bytes).unwrap(), h);
    }
}
