//! What a light client needs from a node: certified headers across validator-set changes
//! (`next_light_client_block`), inclusion proofs of a transaction and its outcome
//! (`light_client_proof`) and Merkle proofs of state reads (`query` with `include_proof`).
//!
//! Every answer is NEAR's shape, plus a `chain` object with the borsh this chain verifies:
//! the header (whose sha3 is the block hash), its commit certificate, and the leaves and
//! paths. NEAR fields that its own light client hashes but that have no part here
//! (`inner_rest_hash`, `next_block_inner_hash`, `block_proof`, `outcome_root_proof`) are
//! constants: one shard, and every block is certified by its own certificate.
//!
//! # Invariants
//! - `next_light_client_block` after a block of height `h` answers a block verifiable with
//!   the set that decides `h + 1`: the head when it is in that set's epoch, else that epoch's
//!   last block (whose `next_bp_hash` names the next epoch's set, listed in `next_bps`).
//! - A state proof is against the state root after the block the read was answered at; that
//!   root is in the next block's header, so a proven read at the finality head is answered
//!   one block back, and a read named at the head block is refused until a child exists.

use chain_types::merkle::merkle_path;
use chain_types::{to_borsh, AccountId, BlockHeight, CryptoHash, ExecutionOutcome};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::{CertifiedBlock, StateProof};
use crate::views::{self, b64, epoch_of};
use crate::{BlockRef, Finality, NodeApi, RpcError, ValidatorView};

fn proof_error(cause: &'static str, message: String) -> RpcError {
    RpcError::handler(cause, json!({ "error_message": message }), Value::String(message))
}

/// The set deciding `height` with stakes (the `validators` view of its parent).
fn set_deciding<N: NodeApi>(node: &N, height: BlockHeight) -> Result<Vec<ValidatorView>, RpcError> {
    Ok(node.validators(BlockRef::Height(height.saturating_sub(1)))?.0.current)
}

/// NEAR's `LightClientBlockView` of a certified block, with `next_bps` the set deciding the
/// height after it, and this chain's borsh under `chain`.
fn light_client_block<N: NodeApi>(node: &N, cb: &CertifiedBlock, epoch_length: u64) -> Result<Value, RpcError> {
    let h = &cb.block.header;
    let next = set_deciding(node, h.height + 1)?;
    let pairs: Vec<(AccountId, chain_types::PublicKey)> =
        next.iter().map(|v| (v.account_id.clone(), v.public_key)).collect();
    Ok(json!({
        "prev_block_hash": h.prev_hash,
        "next_block_inner_hash": CryptoHash::default(),
        "inner_lite": views::inner_lite(h, epoch_length),
        "inner_rest_hash": CryptoHash::default(),
        "next_bps": next.iter().map(|v| json!({
            "account_id": v.account_id,
            "public_key": v.public_key,
            "stake": v.stake.to_string(),
            "validator_stake_struct_version": "V1",
        })).collect::<Vec<_>>(),
        "approvals_after_next": node.approvals(h.height)?,
        "chain": {
            "header": b64(&to_borsh(h)),
            "certificate": b64(&to_borsh(&cb.certificate)),
            "next_bps": b64(&to_borsh(&pairs)),
        },
    }))
}

#[derive(Deserialize)]
struct NextBlockParams {
    last_block_hash: CryptoHash,
}

/// `next_light_client_block {last_block_hash}`; `{}` when nothing newer is final.
pub fn next_block<N: NodeApi>(node: &N, params: Value, epoch_length: u64) -> Result<Value, RpcError> {
    let p: NextBlockParams = crate::methods::parse_params(params)?;
    let last = node.block(BlockRef::Hash(p.last_block_hash))?.header.height;
    let head = node.block(BlockRef::Finality(Finality::Final))?.header.height;
    if head <= last {
        return Ok(json!({}));
    }
    let epoch = epoch_of(last + 1, epoch_length);
    let height = if epoch_length == 0 || epoch_of(head, epoch_length) == epoch {
        head
    } else {
        ((epoch + 1) * epoch_length).min(head)
    };
    light_client_block(node, &node.certified_block(BlockRef::Height(height))?, epoch_length)
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ProofParams {
    Transaction { transaction_hash: CryptoHash, sender_id: AccountId, light_client_head: CryptoHash },
    Receipt { receipt_id: CryptoHash, receiver_id: AccountId, light_client_head: CryptoHash },
}

/// `light_client_proof`: the transaction (or its receipt) and its outcome proven up to the
/// header of their block, with that header's certificate.
pub fn execution_proof<N: NodeApi>(node: &N, params: Value, epoch_length: u64) -> Result<Value, RpcError> {
    let (hash, head) = match crate::methods::parse_params(params)? {
        ProofParams::Transaction { transaction_hash, sender_id, light_client_head } => {
            check_party(node, &transaction_hash, |o| o.signer_id == sender_id, "sender")?;
            (transaction_hash, light_client_head)
        }
        ProofParams::Receipt { receipt_id, receiver_id, light_client_head } => {
            check_party(node, &receipt_id, |o| o.receiver_id == receiver_id, "receiver")?;
            (receipt_id, light_client_head)
        }
    };
    let (outcome, _) = node.outcome(&hash)?.ok_or_else(|| unknown(&hash))?;
    let head_height = node.block(BlockRef::Hash(head))?.header.height;
    if head_height < outcome.block_height {
        return Err(proof_error(
            "NOT_CONFIRMED",
            format!("block {} of {hash} is after the light client head {head}", outcome.block_height),
        ));
    }
    let cb = node.certified_block(BlockRef::Height(outcome.block_height))?;
    let index = cb.block.transactions.iter().position(|t| t.hash() == hash).ok_or_else(|| {
        proof_error("INCONSISTENT_STATE", format!("block {} does not hold {hash}", outcome.block_height))
    })?;
    let mut leaves = Vec::with_capacity(cb.block.transactions.len());
    for tx in &cb.block.transactions {
        let o = node.stored_outcome(&tx.hash())?.ok_or_else(|| unknown(&tx.hash()))?;
        leaves.push(o.leaf_hash());
    }
    let outcome_path = merkle_path(&leaves, index).unwrap_or_default();
    let tx_path = cb.block.tx_path(index).unwrap_or_default();
    let tx = &cb.block.transactions[index];
    let h = &cb.block.header;
    let mut outcome_view = views::outcome_with_id(
        hash,
        outcome.receiver_id.as_str(),
        &outcome,
        views::status(&outcome.status),
        &outcome.logs,
    );
    outcome_view["proof"] = json!(outcome_path);
    Ok(json!({
        "outcome_proof": outcome_view,
        "outcome_root_proof": [],
        "block_header_lite": {
            "prev_block_hash": h.prev_hash,
            "inner_rest_hash": CryptoHash::default(),
            "inner_lite": views::inner_lite(h, epoch_length),
        },
        "block_proof": [],
        "chain": {
            "header": b64(&to_borsh(h)),
            "certificate": b64(&to_borsh(&cb.certificate)),
            "transaction": b64(&to_borsh(tx)),
            "tx_index": index,
            "tx_path": tx_path,
            "outcome": b64(&outcome.leaf_bytes()),
            "outcome_path": outcome_path,
        },
    }))
}

fn unknown(hash: &CryptoHash) -> RpcError {
    proof_error("UNKNOWN_TRANSACTION_OR_RECEIPT", format!("{hash} has no outcome on this node"))
}

fn check_party<N: NodeApi>(
    node: &N,
    hash: &CryptoHash,
    matches: impl Fn(&ExecutionOutcome) -> bool,
    role: &str,
) -> Result<(), RpcError> {
    match node.stored_outcome(hash)? {
        Some(o) if matches(&o) => Ok(()),
        Some(_) => Err(proof_error("UNKNOWN_TRANSACTION_OR_RECEIPT", format!("{hash} has another {role}"))),
        None => Err(unknown(hash)),
    }
}

/// The block a proven read is answered at: one back from the finality head (whose root has
/// no certified header yet); a named block as named.
pub fn provable_ref<N: NodeApi>(node: &N, at: BlockRef) -> Result<BlockRef, RpcError> {
    match at {
        BlockRef::Finality(_) => {
            let head = node.block(at)?.header.height;
            if head == 0 {
                return Err(proof_error("NOT_CONFIRMED", "no block certifies the genesis state root yet".into()));
            }
            Ok(BlockRef::Height(head - 1))
        }
        named => Ok(named),
    }
}

/// The `state_proof` object added to a proven `query` answer.
pub fn state_proof(proofs: &[StateProof]) -> Value {
    let Some(first) = proofs.first() else { return Value::Null };
    json!({
        "root_block_height": first.root_block.header.height,
        "state_root": first.root_block.header.prev_state_root,
        "header": b64(&to_borsh(&first.root_block.header)),
        "certificate": b64(&to_borsh(&first.root_certificate)),
        "entries": proofs.iter().map(|p| json!({
            "key": b64(&p.key),
            "value": p.value.as_deref().map(b64),
            "proof": b64(&p.proof),
        })).collect::<Vec<_>>(),
    })
}
