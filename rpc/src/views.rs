//! NEAR JSON shapes of blocks, accounts, keys, transactions and outcomes.

use base64::Engine as _;
use chain_types::{
    AccessKey, AccessKeyPermission, Account, Action, Block, CryptoHash, ExecutionOutcome, ExecutionStatus, PublicKey,
    Signature, SignedTransaction,
};
use serde_json::{json, Value};

use crate::{NodeStatus, ProtocolConfig, ValidatorView, ValidatorsView, WaitUntil};

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The epoch a height is in: epoch `e` is heights `e * len + 1 ..= (e + 1) * len` (the
/// genesis block is in epoch 0); a validator-set change applies after an epoch's last block.
pub fn epoch_of(height: u64, epoch_length: u64) -> u64 {
    height.saturating_sub(1).checked_div(epoch_length).unwrap_or(0)
}

/// Epoch `e`'s id: sha3-256 of `"epoch" ++ e` (u64 little-endian). NEAR derives epoch ids
/// from block hashes; here epochs have a fixed length, so the number names one.
pub fn epoch_id(epoch: u64) -> CryptoHash {
    let mut bytes = b"epoch".to_vec();
    bytes.extend_from_slice(&epoch.to_le_bytes());
    chain_types::sha3_256(&bytes)
}

/// What a block view needs beyond the block: the epoch length and the total supply.
#[derive(Debug, Clone, Copy)]
pub struct ChainFacts {
    pub epoch_length: u64,
    pub total_supply: chain_types::Balance,
}

/// NEAR's `BlockHeaderInnerLiteView` of a header: the part a light client hashes in NEAR,
/// shown here with this chain's values (the block hash is sha3 over the borsh header).
pub fn inner_lite(h: &chain_types::BlockHeader, epoch_length: u64) -> Value {
    let epoch = epoch_of(h.height, epoch_length);
    json!({
        "height": h.height,
        "epoch_id": epoch_id(epoch),
        "next_epoch_id": epoch_id(epoch + 1),
        "prev_state_root": h.prev_state_root,
        "outcome_root": h.outcome_root,
        "timestamp": nanos(h.timestamp_ms),
        "timestamp_nanosec": nanos(h.timestamp_ms).to_string(),
        "next_bp_hash": h.next_bp_hash,
        "block_merkle_root": CryptoHash::default(),
    })
}

fn nanos(ms: u64) -> u64 {
    ms.saturating_mul(1_000_000)
}

/// A block as NEAR shows it; `approvals` are the commit certificate's signatures by
/// validator index. Fields without meaning here are constants (docs/ARCHITECTURE.md).
pub fn block(b: &Block, approvals: &[Option<Signature>], facts: ChainFacts) -> Value {
    let h = &b.header;
    let hash = b.hash();
    let epoch = epoch_of(h.height, facts.epoch_length);
    json!({
        "author": h.proposer,
        "header": {
            "height": h.height,
            "prev_height": h.height.checked_sub(1),
            "hash": hash,
            "prev_hash": h.prev_hash,
            "epoch_id": epoch_id(epoch),
            "next_epoch_id": epoch_id(epoch + 1),
            "timestamp": nanos(h.timestamp_ms),
            "timestamp_nanosec": nanos(h.timestamp_ms).to_string(),
            "prev_state_root": h.prev_state_root,
            "chunk_tx_root": h.tx_root,
            "tx_root": h.tx_root,
            "outcome_root": h.outcome_root,
            "next_bp_hash": h.next_bp_hash,
            "chunk_headers_root": hash,
            "chunk_receipts_root": CryptoHash::default(),
            "chunk_mask": [true],
            "chunks_included": 1,
            "block_merkle_root": CryptoHash::default(),
            "block_ordinal": h.height + 1,
            "challenges_root": CryptoHash::default(),
            "challenges_result": [],
            "random_value": CryptoHash::default(),
            "signature": crate::chunk::no_signature(),
            "gas_price": "0",
            "total_supply": facts.total_supply.to_string(),
            "validator_proposals": [],
            "last_final_block": hash,
            "last_ds_final_block": hash,
            "latest_protocol_version": crate::methods::PROTOCOL_VERSION,
            "approvals": approvals,
        },
        "chunks": [crate::chunk::chunk_header(b)],
        // Not in NEAR's view (its chunks hold them): the transaction hashes, for explorers.
        "transactions": b.transactions.iter().map(|t| t.hash()).collect::<Vec<_>>(),
    })
}

/// The code hash of a native module: sha256 of `"native:" ++ name` (stable across
/// releases, distinct per module); zeros for an account without one, as NEAR shows.
pub fn module_code_hash(module: Option<&str>) -> CryptoHash {
    module.map_or_else(CryptoHash::default, |m| chain_types::sha256(format!("native:{m}").as_bytes()))
}

pub fn account(a: &Account, module: Option<&str>, at: &Block) -> Value {
    json!({
        "amount": a.amount.to_string(),
        "locked": a.locked.to_string(),
        "code_hash": module_code_hash(module),
        "storage_usage": a.storage_usage,
        "storage_paid_at": 0,
        "block_height": at.header.height,
        "block_hash": at.hash(),
    })
}

pub fn permission(p: &AccessKeyPermission) -> Value {
    match p {
        AccessKeyPermission::FullAccess => json!("FullAccess"),
        AccessKeyPermission::FunctionCall(f) => json!({ "FunctionCall": {
            "allowance": f.allowance.map(|a| a.to_string()),
            "receiver_id": f.receiver_id,
            "method_names": f.method_names,
        }}),
    }
}

pub fn access_key(k: &AccessKey, at: &Block) -> Value {
    json!({
        "nonce": k.nonce,
        "permission": permission(&k.permission),
        "block_height": at.header.height,
        "block_hash": at.hash(),
    })
}

pub fn access_key_list(keys: &[(PublicKey, AccessKey)], at: &Block) -> Value {
    json!({
        "keys": keys.iter().map(|(pk, k)| json!({
            "public_key": pk,
            "access_key": { "nonce": k.nonce, "permission": permission(&k.permission) },
        })).collect::<Vec<_>>(),
        "block_height": at.header.height,
        "block_hash": at.hash(),
    })
}

/// A view call's result: the bytes as a JSON array of numbers, as NEAR returns them.
pub fn call_result(bytes: &[u8], at: &Block) -> Value {
    json!({
        "result": bytes,
        "logs": [],
        "block_height": at.header.height,
        "block_hash": at.hash(),
    })
}

pub fn validators(v: &ValidatorsView, at: &Block) -> Value {
    let list = |set: &[ValidatorView]| -> Vec<Value> {
        set.iter()
            .map(|x| {
                json!({
                    "account_id": x.account_id,
                    "public_key": x.public_key,
                    "stake": x.stake.to_string(),
                    "is_slashed": false,
                    "shards": [0],
                    "num_produced_blocks": 0,
                    "num_expected_blocks": 0,
                })
            })
            .collect()
    };
    json!({
        "current_validators": list(&v.current),
        "next_validators": list(&v.next),
        "current_fishermen": [],
        "next_fishermen": [],
        "current_proposals": [],
        "prev_epoch_kickout": [],
        "epoch_start_height": v.epoch_start_height,
        "epoch_height": v.epoch_height,
        "block_height": at.header.height,
        "block_hash": at.hash(),
    })
}

pub fn action(a: &Action) -> Value {
    match a {
        Action::CreateAccount(_) => json!("CreateAccount"),
        Action::DeployContract(d) => json!({ "DeployContract": { "code": b64(&d.code) } }),
        Action::FunctionCall(f) => json!({ "FunctionCall": {
            "method_name": f.method_name, "args": b64(&f.args), "gas": f.gas, "deposit": f.deposit.to_string(),
        }}),
        Action::Transfer(t) => json!({ "Transfer": { "deposit": t.deposit.to_string() } }),
        Action::Stake(s) => json!({ "Stake": { "stake": s.stake.to_string(), "public_key": s.public_key } }),
        Action::AddKey(k) => json!({ "AddKey": {
            "public_key": k.public_key,
            "access_key": { "nonce": k.access_key.nonce, "permission": permission(&k.access_key.permission) },
        }}),
        Action::DeleteKey(k) => json!({ "DeleteKey": { "public_key": k.public_key } }),
        Action::DeleteAccount(d) => json!({ "DeleteAccount": { "beneficiary_id": d.beneficiary_id } }),
        Action::Delegate(_) => json!({ "Delegate": {} }),
    }
}

pub fn transaction(tx: &SignedTransaction) -> Value {
    let t = &tx.transaction;
    json!({
        "signer_id": t.signer_id,
        "public_key": t.public_key,
        "nonce": t.nonce,
        "receiver_id": t.receiver_id,
        "block_hash": t.block_hash,
        "actions": t.actions.iter().map(action).collect::<Vec<_>>(),
        "signature": tx.signature,
        "hash": tx.hash(),
        "priority_fee": 0,
    })
}

pub(crate) fn status(s: &ExecutionStatus) -> Value {
    match s {
        ExecutionStatus::SuccessValue(v) => json!({ "SuccessValue": b64(v) }),
        ExecutionStatus::Failure(e) => json!({ "Failure": e }),
    }
}

pub(crate) fn outcome_with_id(
    id: CryptoHash,
    executor: &str,
    o: &ExecutionOutcome,
    st: Value,
    logs: &[String],
) -> Value {
    json!({
        "id": id,
        "block_hash": o.block_hash,
        "proof": [],
        "outcome": {
            "logs": logs,
            "receipt_ids": [],
            "gas_burnt": 0,
            "tokens_burnt": "0",
            "executor_id": executor,
            "status": st,
            "metadata": { "version": 1, "gas_profile": null },
        },
    })
}

/// NEAR's `FinalExecutionOutcome`. Actions run in the transaction's own block, so the
/// transaction outcome and its single receipt outcome are both final together.
pub fn final_outcome(o: &ExecutionOutcome, tx: &SignedTransaction, wait: WaitUntil) -> Value {
    let st = status(&o.status);
    json!({
        "final_execution_status": wait.as_str(),
        "status": st,
        "transaction": transaction(tx),
        "transaction_outcome": outcome_with_id(o.tx_hash, o.signer_id.as_str(), o, json!({ "SuccessReceiptId": o.tx_hash }), &[]),
        "receipts_outcome": [outcome_with_id(o.tx_hash, o.receiver_id.as_str(), o, st, &o.logs)],
    })
}

/// RFC 3339 for a block time. A time past what RFC 3339 can show (the year 9999) shows as its
/// last millisecond instead of failing the whole answer: no block carries one (a proposal
/// more than the allowed drift ahead is invalid), but a view must not be the thing that breaks.
pub(crate) fn rfc3339(ms: u64) -> String {
    const LAST: u64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.min(LAST))).to_string()
}

/// One piece of equivocation evidence: what it is about, both signed messages' values and
/// signatures, and the whole proof (base64 borsh of `Equivocation`) for `genesis
/// verify-evidence` or any other checker.
pub fn evidence(e: &crate::EvidenceView) -> Value {
    use base64::Engine as _;
    use chain_types::Equivocation;
    let p = &e.proof;
    let (first, second) = match p {
        Equivocation::Votes { first, first_signature, second, second_signature, .. } => (
            json!({ "kind": format!("{:?}", first.kind), "block_hash": first.block_hash, "signature": first_signature }),
            json!({ "kind": format!("{:?}", second.kind), "block_hash": second.block_hash, "signature": second_signature }),
        ),
        Equivocation::Proposals { first, first_signature, second, second_signature, .. } => (
            json!({ "block_hash": first.block_hash, "pol_round": first.pol_round, "signature": first_signature }),
            json!({ "block_hash": second.block_hash, "pol_round": second.pol_round, "signature": second_signature }),
        ),
    };
    json!({
        "kind": p.kind(),
        "height": p.height(),
        "round": p.round(),
        "validator_index": p.validator(),
        "validator": e.validator,
        "public_key": p.public_key(),
        "first": first,
        "second": second,
        "id": p.id(),
        "proof": base64::engine::general_purpose::STANDARD.encode(chain_types::to_borsh(p)),
    })
}

/// The binary's version, and the commit it was built from (`unknown` outside a git clone).
pub fn version() -> Value {
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "build": "chain",
        "commit": option_env!("CHAIN_GIT_COMMIT").unwrap_or("unknown"),
        "rustc_version": option_env!("CHAIN_RUSTC_VERSION").unwrap_or(""),
    })
}

pub fn status_view(s: &NodeStatus) -> Value {
    let head = &s.head.header;
    json!({
        "chain_id": s.chain_id,
        "genesis_hash": s.genesis_hash,
        "protocol_version": crate::methods::PROTOCOL_VERSION,
        "latest_protocol_version": crate::methods::PROTOCOL_VERSION,
        "version": version(),
        "node_public_key": s.node_public_key,
        "node_key": s.node_public_key,
        "uptime_sec": s.uptime_sec,
        "validators": s.validators.iter().map(|v| json!({ "account_id": v, "is_slashed": false })).collect::<Vec<_>>(),
        "validator_account_id": s.validator_account_id,
        "validator_public_key": s.validator_public_key,
        "sync_info": {
            "latest_block_hash": s.head.hash(),
            "latest_block_height": head.height,
            "latest_state_root": head.prev_state_root,
            "latest_block_time": rfc3339(head.timestamp_ms),
            "syncing": s.syncing,
            "earliest_block_hash": s.earliest.hash(),
            "earliest_block_height": s.earliest.header.height,
            "earliest_block_time": rfc3339(s.earliest.header.timestamp_ms),
        },
    })
}

/// NEAR's protocol config, with the values this chain actually applies: no gas or storage
/// fees, the genesis validity window and size limit, and the registrar as the only creator
/// of top-level accounts.
pub fn protocol_config(c: &ProtocolConfig) -> Value {
    json!({
        "protocol_version": crate::methods::PROTOCOL_VERSION,
        "genesis_time": rfc3339(c.genesis_time_ms),
        "chain_id": c.chain_id,
        "genesis_height": 0,
        "num_block_producer_seats": c.validators,
        "epoch_length": c.epoch_length,
        "min_gas_price": "0",
        "max_gas_price": "0",
        "transaction_validity_period": c.transaction_validity_blocks,
        "runtime_config": {
            "storage_amount_per_byte": "0",
            "account_creation_config": {
                "min_allowed_top_level_account_length": 2,
                "registrar_account_id": c.registrar_account_id,
                "treasury_account_id": c.treasury_account_id,
            },
            "wasm_config": { "limit_config": { "max_transaction_size": c.max_tx_bytes } },
        },
    })
}

/// `view_state`: a module's entries, keys and values base64, in key order.
pub fn view_state(entries: &[(Vec<u8>, Vec<u8>)], at: &Block) -> Value {
    json!({
        "values": entries.iter().map(|(k, v)| json!({ "key": b64(k), "value": b64(v) })).collect::<Vec<_>>(),
        "block_height": at.header.height,
        "block_hash": at.hash(),
    })
}

/// `view_code` of a native module: no bytecode (the module is part of the node), and the
/// module's stable code hash ([`module_code_hash`]).
pub fn view_code(module: &str, at: &Block) -> Value {
    json!({
        "code_base64": "",
        "hash": module_code_hash(Some(module)),
        "block_height": at.header.height,
        "block_hash": at.hash(),
    })
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn block_times_past_rfc3339_do_not_break_the_answer() {
        // Defect 6: one block stamped u64::MAX made every later `status` call panic here.
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::rfc3339(u64::MAX), "9999-12-31T23:59:59.999Z");
        assert_eq!(super::nanos(u64::MAX), u64::MAX);
    }
}
