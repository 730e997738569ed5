//! Blocks and headers. A block's id is sha3-256 of its header's borsh encoding.

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

    /// sha3-256 over the concatenated sha3-256 digests of each signed transaction's borsh
    /// encoding, in block order: the block id covers the signatures too, so a block's
    /// validity never depends on which copy of a transaction a node saw.
    pub fn compute_tx_root(transactions: &[SignedTransaction]) -> CryptoHash {
        let mut buf = Vec::with_capacity(transactions.len() * 32);
        for tx in transactions {
            buf.extend_from_slice(sha3_256(&to_borsh(tx)).as_bytes());
        }
        sha3_256(&buf)
    }

    /// True when the header commits to exactly these transactions.
    pub fn tx_root_matches(&self) -> bool {
        Self::compute_tx_root(&self.transactions) == self.header.tx_root
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
    fn hash_covers_every_field() {
        let h = header();
        let mut other = h.clone();
        other.prev_state_root = sha3_256(b"t");
        assert_ne!(h.hash(), other.hash());
        let bytes = borsh::to_vec(&h).unwrap();
        assert_eq!(borsh::from_slice::<BlockHeader>(&bytes).unwrap(), h);
    }
}
