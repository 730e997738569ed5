//! The one chunk of each block and the receipts NEAR clients expect, for a chain that has one
//! shard and runs every transaction's actions synchronously in the transaction's own block.
//!
//! # Invariants
//! - A block's chunk hash is the block hash: `chunk {chunk_id}` and `chunk {block_id,
//!   shard_id: 0}` name the same chunk, and no index beyond the block index is needed.
//! - Each transaction has exactly one receipt, whose id is the transaction hash: the outcome
//!   stored under that hash is both the transaction's and the receipt's.

use chain_types::{Block, CryptoHash, ExecutionOutcome, Signature, SignedTransaction};
use serde_json::{json, Value};

use crate::views;

/// The signature shown where NEAR has a producer's signature over a header or chunk: blocks
/// here are signed by their commit certificate (`approvals`), not by the proposer alone.
pub fn no_signature() -> Signature {
    Signature([0; 64])
}

/// The chunk header of block `b`.
pub fn chunk_header(b: &Block) -> Value {
    let h = &b.header;
    json!({
        "chunk_hash": b.hash(),
        "prev_block_hash": h.prev_hash,
        "outcome_root": h.outcome_root,
        "prev_state_root": h.prev_state_root,
        "encoded_merkle_root": h.tx_root,
        "encoded_length": borsh::object_length(&b.transactions).unwrap_or(0),
        "height_created": h.height,
        "height_included": h.height,
        "shard_id": 0,
        "gas_used": 0,
        "gas_limit": 0,
        "balance_burnt": "0",
        "outgoing_receipts_root": CryptoHash::default(),
        "tx_root": h.tx_root,
        "validator_proposals": [],
        "signature": no_signature(),
    })
}

/// NEAR's `ReceiptView` of the receipt a transaction's actions ran as.
pub fn receipt(tx: &SignedTransaction) -> Value {
    let t = &tx.transaction;
    json!({
        "predecessor_id": t.signer_id,
        "receiver_id": t.receiver_id,
        "receipt_id": tx.hash(),
        "receipt": { "Action": {
            "signer_id": t.signer_id,
            "signer_public_key": t.public_key,
            "gas_price": "0",
            "output_data_receivers": [],
            "input_data_ids": [],
            "actions": t.actions.iter().map(views::action).collect::<Vec<_>>(),
            "is_promise_yield": false,
        }},
        "priority": 0,
    })
}

/// The whole chunk of block `b`: its transactions and their receipts.
pub fn chunk(b: &Block) -> Value {
    json!({
        "author": b.header.proposer,
        "header": chunk_header(b),
        "transactions": b.transactions.iter().map(views::transaction).collect::<Vec<_>>(),
        "receipts": b.transactions.iter().map(receipt).collect::<Vec<_>>(),
    })
}

/// NEAR's `FinalExecutionOutcomeWithReceiptView`: the final outcome and the receipt.
pub fn outcome_with_receipts(o: &ExecutionOutcome, tx: &SignedTransaction, wait: crate::WaitUntil) -> Value {
    let mut v = views::final_outcome(o, tx, wait);
    v["receipts"] = json!([receipt(tx)]);
    v
}
