//! What makes a block a valid next block, as far as its header and size tell (execution,
//! signatures and the state root are the application's to check).

use std::collections::HashSet;

use chain_types::{AccountId, Block, BlockHeader, CompactBlock, CryptoHash};

use crate::BlockLimits;

/// Why a block is not a valid next block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockRejection {
    #[error("height {found}, expected {expected}")]
    Height { expected: u64, found: u64 },
    #[error("parent {found}, expected the head {expected}")]
    Parent { expected: CryptoHash, found: CryptoHash },
    #[error("proposer {found}, expected {expected}")]
    Proposer { expected: AccountId, found: AccountId },
    #[error("timestamp {found} not after the parent's {parent}")]
    TimestampNotAfterParent { parent: u64, found: u64 },
    #[error("timestamp {found} is more than {drift_ms} ms ahead of this node's clock ({now})")]
    TimestampAhead { found: u64, now: u64, drift_ms: u64 },
    #[error("{found} transactions, at most {max}")]
    TooManyTransactions { max: u64, found: u64 },
    #[error("transaction {hash} is {found} bytes, at most {max}")]
    TransactionTooLarge { hash: CryptoHash, max: u64, found: u64 },
    #[error("{found} bytes, at most {max}")]
    TooLarge { max: u64, found: u64 },
    #[error("transactions costing {found} units, at most {max}")]
    TooCostly { max: u64, found: u64 },
    #[error("transaction {hash} appears twice")]
    DuplicateTransaction { hash: CryptoHash },
    #[error("the header's transaction root does not match its transactions")]
    TxRoot,
}

/// A block decided by a quorum (from a peer, with its certificate): it must extend `parent`
/// and commit to its transactions. Its timestamp is history, not checked against our clock.
pub fn check_certified(parent: &BlockHeader, block: &Block) -> Result<(), BlockRejection> {
    check_extends(parent, &block.header)?;
    if !block.tx_root_matches() {
        return Err(BlockRejection::TxRoot);
    }
    Ok(())
}

/// Height, parent and timestamp order: the header builds on `parent`.
fn check_extends(parent: &BlockHeader, h: &BlockHeader) -> Result<(), BlockRejection> {
    let expected = parent.height.saturating_add(1);
    if h.height != expected {
        return Err(BlockRejection::Height { expected, found: h.height });
    }
    if h.prev_hash != parent.hash() {
        return Err(BlockRejection::Parent { expected: parent.hash(), found: h.prev_hash });
    }
    if h.timestamp_ms <= parent.timestamp_ms {
        return Err(BlockRejection::TimestampNotAfterParent { parent: parent.timestamp_ms, found: h.timestamp_ms });
    }
    Ok(())
}

/// A proposal as it arrives, before its transactions are at hand: the header extends
/// `parent`, comes from the round's proposer, is stamped no later than our clock plus the
/// allowed drift, and commits to these digests, at most the limit's count, none twice.
/// Checked before anything is fetched for it.
pub fn check_proposed_header(
    parent: &BlockHeader,
    block: &CompactBlock,
    proposer: &AccountId,
    now_unix_ms: u64,
    limits: &BlockLimits,
) -> Result<(), BlockRejection> {
    check_header(parent, &block.header, proposer, now_unix_ms, limits)?;
    let count = block.digests.len() as u64;
    if count > limits.max_transactions {
        return Err(BlockRejection::TooManyTransactions { max: limits.max_transactions, found: count });
    }
    if !block.digests_match() {
        return Err(BlockRejection::TxRoot);
    }
    let mut seen = HashSet::with_capacity(block.digests.len());
    if let Some(d) = block.digests.iter().find(|d| !seen.insert(**d)) {
        return Err(BlockRejection::DuplicateTransaction { hash: *d });
    }
    Ok(())
}

/// A proposed block: as [`check_certified`], and from the round's proposer, within the
/// limits, no transaction twice, and stamped no later than our clock plus the allowed drift.
pub fn check_proposed(
    parent: &BlockHeader,
    block: &Block,
    proposer: &AccountId,
    now_unix_ms: u64,
    limits: &BlockLimits,
) -> Result<(), BlockRejection> {
    check_header(parent, &block.header, proposer, now_unix_ms, limits)?;
    check_body(block, limits)?;
    if !block.tx_root_matches() {
        return Err(BlockRejection::TxRoot);
    }
    Ok(())
}

/// The header's own claims: the round's proposer, a timestamp within the drift of our
/// clock, extending `parent`.
fn check_header(
    parent: &BlockHeader,
    h: &BlockHeader,
    proposer: &AccountId,
    now_unix_ms: u64,
    limits: &BlockLimits,
) -> Result<(), BlockRejection> {
    if &h.proposer != proposer {
        return Err(BlockRejection::Proposer { expected: proposer.clone(), found: h.proposer.clone() });
    }
    let latest = now_unix_ms.saturating_add(limits.max_clock_drift_ms);
    if h.timestamp_ms > latest {
        return Err(BlockRejection::TimestampAhead {
            found: h.timestamp_ms,
            now: now_unix_ms,
            drift_ms: limits.max_clock_drift_ms,
        });
    }
    check_extends(parent, h)
}

/// The transactions within the limits (count, bytes, cost, each one's size), none twice.
fn check_body(block: &Block, limits: &BlockLimits) -> Result<(), BlockRejection> {
    let count = block.transactions.len() as u64;
    if count > limits.max_transactions {
        return Err(BlockRejection::TooManyTransactions { max: limits.max_transactions, found: count });
    }
    let bytes = borsh::object_length(block).map_or(u64::MAX, |n| n as u64);
    if bytes > limits.max_block_bytes {
        return Err(BlockRejection::TooLarge { max: limits.max_block_bytes, found: bytes });
    }
    let cost = chain_types::total_cost(&block.transactions);
    if cost > limits.max_block_cost {
        return Err(BlockRejection::TooCostly { max: limits.max_block_cost, found: cost });
    }
    let mut seen = HashSet::with_capacity(block.transactions.len());
    for tx in &block.transactions {
        let hash = tx.hash();
        let size = borsh::object_length(tx).map_or(u64::MAX, |n| n as u64);
        if size > limits.max_tx_bytes {
            return Err(BlockRejection::TransactionTooLarge { hash, max: limits.max_tx_bytes, found: size });
        }
        if !seen.insert(hash) {
            return Err(BlockRejection::DuplicateTransaction { hash });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(height: u64, parent: &BlockHeader, timestamp_ms: u64) -> BlockHeader {
        BlockHeader {
            height,
            prev_hash: parent.hash(),
            timestamp_ms,
            proposer: "v1.acme".parse().unwrap(),
            tx_root: Block::compute_tx_root(&[]),
            outcome_root: CryptoHash::default(),
            next_bp_hash: CryptoHash::default(),
            prev_state_root: CryptoHash::default(),
        }
    }

    #[test]
    fn timestamps_are_bounded_on_both_sides_with_checked_arithmetic() {
        let limits = BlockLimits {
            max_transactions: 10,
            max_tx_bytes: 1024,
            max_block_bytes: 1 << 20,
            max_block_cost: 1_000_000,
            max_clock_drift_ms: 5_000,
        };
        let genesis = BlockHeader {
            height: 0,
            prev_hash: CryptoHash::default(),
            timestamp_ms: 1_000,
            proposer: "acme".parse().unwrap(),
            tx_root: Block::compute_tx_root(&[]),
            outcome_root: CryptoHash::default(),
            next_bp_hash: CryptoHash::default(),
            prev_state_root: CryptoHash::default(),
        };
        let me: AccountId = "v1.acme".parse().unwrap();
        let block = |ts| Block { header: header(1, &genesis, ts), transactions: vec![] };
        assert_eq!(check_proposed(&genesis, &block(2_000), &me, 2_000, &limits), Ok(()));
        assert_eq!(check_proposed(&genesis, &block(6_999), &me, 2_000, &limits), Ok(()), "within the drift");
        assert!(matches!(
            check_proposed(&genesis, &block(u64::MAX), &me, 2_000, &limits),
            Err(BlockRejection::TimestampAhead { .. })
        ));
        assert!(matches!(
            check_proposed(&genesis, &block(1_000), &me, u64::MAX, &limits),
            Err(BlockRejection::TimestampNotAfterParent { .. })
        ));
        assert_eq!(check_certified(&genesis, &block(u64::MAX)), Ok(()), "history is not judged by our clock");
        let other: AccountId = "v2.acme".parse().unwrap();
        assert!(matches!(
            check_proposed(&genesis, &block(2_000), &other, 2_000, &limits),
            Err(BlockRejection::Proposer { .. })
        ));
    }

    #[test]
    fn limits_and_duplicates_are_checked_on_receipt() {
        use chain_types::{Action, SecretKey, Transaction, TransferAction};
        let limits = BlockLimits {
            max_transactions: 2,
            max_tx_bytes: 1024,
            max_block_bytes: 1 << 20,
            max_block_cost: 1_000_000,
            max_clock_drift_ms: 5_000,
        };
        let genesis = BlockHeader {
            height: 0,
            prev_hash: CryptoHash::default(),
            timestamp_ms: 1_000,
            proposer: "acme".parse().unwrap(),
            tx_root: Block::compute_tx_root(&[]),
            outcome_root: CryptoHash::default(),
            next_bp_hash: CryptoHash::default(),
            prev_state_root: CryptoHash::default(),
        };
        let sk = SecretKey::from_seed([1; 32]);
        let tx = |nonce| {
            Transaction {
                signer_id: "alice.acme".parse().unwrap(),
                public_key: sk.public_key(),
                nonce,
                receiver_id: "bob.acme".parse().unwrap(),
                block_hash: CryptoHash::default(),
                actions: vec![Action::Transfer(TransferAction { deposit: 1 })],
            }
            .sign(&sk)
        };
        let me: AccountId = "v1.acme".parse().unwrap();
        let block = |txs: Vec<_>| {
            let mut h = header(1, &genesis, 2_000);
            h.tx_root = Block::compute_tx_root(&txs);
            Block { header: h, transactions: txs }
        };
        assert_eq!(check_proposed(&genesis, &block(vec![tx(1), tx(2)]), &me, 2_000, &limits), Ok(()));
        assert!(matches!(
            check_proposed(&genesis, &block(vec![tx(1), tx(2), tx(3)]), &me, 2_000, &limits),
            Err(BlockRejection::TooManyTransactions { max: 2, found: 3 })
        ));
        assert!(matches!(
            check_proposed(&genesis, &block(vec![tx(1), tx(1)]), &me, 2_000, &limits),
            Err(BlockRejection::DuplicateTransaction { .. })
        ));
        let small = BlockLimits { max_tx_bytes: 50, ..limits };
        assert!(matches!(
            check_proposed(&genesis, &block(vec![tx(1)]), &me, 2_000, &small),
            Err(BlockRejection::TransactionTooLarge { max: 50, .. })
        ));
        let tiny = BlockLimits { max_block_bytes: 300, ..limits };
        assert!(matches!(
            check_proposed(&genesis, &block(vec![tx(1), tx(2)]), &me, 2_000, &tiny),
            Err(BlockRejection::TooLarge { max: 300, .. })
        ));
        // Two transfers cost about 250 units: a block of them is refused under 200.
        let cheap = BlockLimits { max_block_cost: 200, ..limits };
        assert!(matches!(
            check_proposed(&genesis, &block(vec![tx(1), tx(2)]), &me, 2_000, &cheap),
            Err(BlockRejection::TooCostly { max: 200, .. })
        ));
        assert_eq!(check_proposed(&genesis, &block(vec![tx(1)]), &me, 2_000, &cheap), Ok(()));

        // The same judged from the header and digests alone, before any bytes are fetched.
        let compact = |txs: Vec<_>| CompactBlock::of(&block(txs));
        assert_eq!(check_proposed_header(&genesis, &compact(vec![tx(1), tx(2)]), &me, 2_000, &limits), Ok(()));
        assert!(matches!(
            check_proposed_header(&genesis, &compact(vec![tx(1), tx(2), tx(3)]), &me, 2_000, &limits),
            Err(BlockRejection::TooManyTransactions { max: 2, found: 3 })
        ));
        assert!(matches!(
            check_proposed_header(&genesis, &compact(vec![tx(1), tx(1)]), &me, 2_000, &limits),
            Err(BlockRejection::DuplicateTransaction { .. })
        ));
        let mut other_digests = compact(vec![tx(1), tx(2)]);
        other_digests.digests[1] = tx(3).digest();
        assert_eq!(
            check_proposed_header(&genesis, &other_digests, &me, 2_000, &limits),
            Err(BlockRejection::TxRoot),
            "digests the header does not commit to"
        );
        let other: AccountId = "v2.acme".parse().unwrap();
        assert!(matches!(
            check_proposed_header(&genesis, &compact(vec![]), &other, 2_000, &limits),
            Err(BlockRejection::Proposer { .. })
        ));
    }
}
