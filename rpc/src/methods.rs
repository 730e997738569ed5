//! JSON-RPC method handlers.

use std::time::Duration;

use base64::Engine as _;
use chain_types::{AccountId, CryptoHash, ExecutionStatus, PublicKey, SignedTransaction, TxExecutionError};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::StateRead;
use crate::api::{outcome_or_wait, submit_and_wait, SendError};
use crate::{views, BlockRef, Finality, NodeApi, RpcError, ViewCallError, WaitUntil};

/// Protocol version reported to clients.
pub const PROTOCOL_VERSION: u32 = 1;

/// Routes one call. `tx_timeout` bounds how long transaction methods wait.
pub async fn dispatch<N: NodeApi>(
    node: &N,
    method: &str,
    params: Value,
    tx_timeout: Duration,
) -> Result<Value, RpcError> {
    match method {
        "status" => Ok(views::status_view(&node.status()?)),
        "health" => health(node),
        "block" => block(node, params),
        "chunk" => chunk(node, params),
        "query" => query(node, params),
        "send_tx" => {
            let p: SendTxParams = parse_params(params)?;
            send(node, &p.signed_tx_base64, p.wait_until, tx_timeout).await
        }
        "broadcast_tx_commit" => send(node, &signed_tx_param(params)?, WaitUntil::Final, tx_timeout).await,
        "broadcast_tx_async" => {
            let tx = decode_tx(&signed_tx_param(params)?)?;
            Ok(json!(node.submit_gathered(tx).await?))
        }
        "tx" => tx_status(node, params, tx_timeout, false).await,
        "EXPERIMENTAL_tx_status" => tx_status(node, params, tx_timeout, true).await,
        "EXPERIMENTAL_receipt" => receipt(node, params),
        "EXPERIMENTAL_changes" | "changes" => crate::changes::changes(node, params),
        "EXPERIMENTAL_changes_in_block" | "block_effects" => crate::changes::changes_in_block(node, params),
        "EXPERIMENTAL_genesis_config" | "genesis_config" => {
            Ok(crate::node_info::genesis_config(&node.protocol_config()))
        }
        "network_info" => Ok(crate::node_info::network_info(&node.network_info())),
        "client_config" => Ok(crate::node_info::client_config(node)),
        "light_client_proof" | "EXPERIMENTAL_light_client_proof" => {
            crate::light_client::execution_proof(node, params, node.protocol_config().epoch_length)
        }
        "next_light_client_block" => crate::light_client::next_block(node, params, node.protocol_config().epoch_length),
        "EXPERIMENTAL_protocol_config" => {
            block_ref(&params)?;
            Ok(views::protocol_config(&node.protocol_config()))
        }
        // No fees are charged on this chain (docs/ARCHITECTURE.md).
        "gas_price" => Ok(json!({ "gas_price": "0" })),
        "validators" => validators(node, params),
        // Admin role only (see `access::json_rpc_role`).
        "admin_evidence" => Ok(Value::Array(node.evidence().iter().map(crate::views::evidence).collect())),
        other => Err(RpcError::method_not_found(other)),
    }
}

/// Every method `dispatch` serves (its arms), for metric labels.
const METHODS: [&str; 26] = [
    "status",
    "health",
    "block",
    "chunk",
    "query",
    "send_tx",
    "broadcast_tx_commit",
    "broadcast_tx_async",
    "tx",
    "EXPERIMENTAL_tx_status",
    "EXPERIMENTAL_receipt",
    "EXPERIMENTAL_changes",
    "changes",
    "EXPERIMENTAL_changes_in_block",
    "block_effects",
    "EXPERIMENTAL_genesis_config",
    "genesis_config",
    "network_info",
    "client_config",
    "light_client_proof",
    "EXPERIMENTAL_light_client_proof",
    "next_light_client_block",
    "EXPERIMENTAL_protocol_config",
    "gas_price",
    "validators",
    "admin_evidence",
];

/// `method` as a metric label: itself if served, else `unknown`.
pub fn method_label(method: &str) -> &'static str {
    METHODS.iter().find(|m| **m == method).copied().unwrap_or("unknown")
}

/// Parses params given as an object or an array (clients use both).
pub(crate) fn parse_params<T: DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    serde_json::from_value(params).map_err(|e| RpcError::parse(format!("Failed parsing args: {e}")))
}

#[derive(Deserialize)]
struct SendTxParams {
    signed_tx_base64: String,
    #[serde(default)]
    wait_until: WaitUntil,
}

/// The signed transaction of `broadcast_tx_*`: `[base64]` or `{"signed_tx_base64"}`.
fn signed_tx_param(params: Value) -> Result<String, RpcError> {
    if params.is_object() {
        return Ok(parse_params::<SendTxParams>(params)?.signed_tx_base64);
    }
    let [tx]: [String; 1] = parse_params(params)?;
    Ok(tx)
}

fn decode_tx(b64: &str) -> Result<SignedTransaction, RpcError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| RpcError::parse(format!("Failed to decode transaction: invalid base64: {e}")))?;
    borsh::from_slice(&bytes).map_err(|e| RpcError::parse(format!("Failed to decode transaction: invalid borsh: {e}")))
}

/// NEAR's `health`: `null` while the node follows the chain; `NODE_IS_SYNCING` while it
/// catches up, `NO_NEW_BLOCKS` (with nearcore's `elapsed`, seconds and nanoseconds) when the
/// head is older than the stall bound.
fn health<N: NodeApi>(node: &N) -> Result<Value, RpcError> {
    let h = node.health();
    if h.syncing {
        return Err(RpcError::handler("NODE_IS_SYNCING", Value::Null, json!("Node is syncing")));
    }
    if h.stalled() {
        let elapsed = json!({ "secs": h.head_age_ms / 1_000, "nanos": (h.head_age_ms % 1_000) * 1_000_000 });
        let data = json!(format!("No blocks for {} ms", h.head_age_ms));
        return Err(RpcError::handler("NO_NEW_BLOCKS", json!({ "elapsed": elapsed }), data));
    }
    Ok(Value::Null)
}

async fn send<N: NodeApi>(node: &N, b64: &str, wait: WaitUntil, timeout: Duration) -> Result<Value, RpcError> {
    match submit_and_wait(node, decode_tx(b64)?, wait, timeout).await {
        Ok(Some((outcome, tx))) => outcome_reply(&outcome, &tx, wait),
        Ok(None) => Ok(json!({ "final_execution_status": "NONE" })),
        Err(SendError::Submit(e)) => Err(e.into()),
        Err(SendError::Node(e)) => Err(e.into()),
        Err(SendError::Timeout) => Err(RpcError::timeout()),
    }
}

/// Blocks are final when committed, so every wait level above NONE is met at once.
fn outcome_reply(
    o: &chain_types::ExecutionOutcome,
    tx: &SignedTransaction,
    wait: WaitUntil,
) -> Result<Value, RpcError> {
    if let ExecutionStatus::Failure(TxExecutionError::InvalidTxError(e)) = &o.status {
        return Err(RpcError::invalid_tx(e.clone()));
    }
    let shown = if wait == WaitUntil::None { WaitUntil::Final } else { wait };
    Ok(views::final_outcome(o, tx, shown))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TxParams {
    Object {
        tx_hash: CryptoHash,
        #[allow(dead_code)]
        sender_account_id: Option<AccountId>,
        #[serde(default)]
        wait_until: WaitUntil,
    },
    Array(CryptoHash, #[allow(dead_code)] AccountId),
}

/// `tx`, or with `receipts` (NEAR's `EXPERIMENTAL_tx_status`) the receipt as well.
async fn tx_status<N: NodeApi>(node: &N, params: Value, timeout: Duration, receipts: bool) -> Result<Value, RpcError> {
    let (hash, wait) = match parse_params(params)? {
        TxParams::Object { tx_hash, wait_until, .. } => (tx_hash, wait_until),
        TxParams::Array(hash, _) => (hash, WaitUntil::Final),
    };
    match outcome_or_wait(node, hash, wait, timeout).await? {
        Some((o, tx)) if receipts => {
            outcome_reply(&o, &tx, wait)?;
            let shown = if wait == WaitUntil::None { WaitUntil::Final } else { wait };
            Ok(crate::chunk::outcome_with_receipts(&o, &tx, shown))
        }
        Some((o, tx)) => outcome_reply(&o, &tx, wait),
        None => Err(RpcError::handler(
            "UNKNOWN_TRANSACTION",
            json!({ "requested_transaction_hash": hash }),
            Value::String(format!("Transaction {hash} doesn't exist")),
        )),
    }
}

/// Reads `finality`, `block_id` or `sync_checkpoint` from an object; `[id]` arrays too.
pub(crate) fn block_ref(params: &Value) -> Result<BlockRef, RpcError> {
    let id = match params {
        Value::Array(items) => items.first(),
        Value::Object(map) => {
            if let Some(f) = map.get("finality") {
                let f: Finality =
                    serde_json::from_value(f.clone()).map_err(|e| RpcError::parse(format!("finality: {e}")))?;
                return Ok(BlockRef::Finality(f));
            }
            if let Some(cp) = map.get("sync_checkpoint") {
                return match cp.as_str() {
                    Some("genesis") => Ok(BlockRef::Height(0)),
                    Some("earliest_available") => Ok(BlockRef::Height(0)),
                    _ => Err(RpcError::parse("sync_checkpoint must be genesis or earliest_available")),
                };
            }
            map.get("block_id")
        }
        _ => None,
    };
    match id {
        None => Err(RpcError::parse("one of finality, block_id or sync_checkpoint is required")),
        Some(Value::Number(n)) => {
            n.as_u64().map(BlockRef::Height).ok_or_else(|| RpcError::parse("block_id must be a height or a hash"))
        }
        Some(Value::String(s)) => s.parse().map(BlockRef::Hash).map_err(|e| RpcError::parse(format!("block_id: {e}"))),
        Some(_) => Err(RpcError::parse("block_id must be a height or a hash")),
    }
}

fn block<N: NodeApi>(node: &N, params: Value) -> Result<Value, RpcError> {
    let at = block_ref(&params)?;
    let b = node.block(at)?;
    let approvals = node.approvals(b.header.height)?;
    let config = node.protocol_config();
    let facts = views::ChainFacts { epoch_length: config.epoch_length, total_supply: config.total_supply };
    Ok(views::block(&b, &approvals, facts))
}

/// `chunk {chunk_id}` or `chunk {block_id, shard_id: 0}` (or the arrays `[chunk_id]`,
/// `[block_id, shard_id]`, as near-api-js sends them): a chunk's id is its block's hash.
fn chunk<N: NodeApi>(node: &N, params: Value) -> Result<Value, RpcError> {
    let params = match params {
        Value::Array(items) => match items.as_slice() {
            [id] => json!({ "chunk_id": id }),
            [block, shard] => json!({ "block_id": block, "shard_id": shard }),
            _ => return Err(RpcError::parse("chunk takes [chunk_id] or [block_id, shard_id]")),
        },
        other => other,
    };
    let at = match params.get("chunk_id") {
        Some(id) => {
            BlockRef::Hash(serde_json::from_value(id.clone()).map_err(|e| RpcError::parse(format!("chunk_id: {e}")))?)
        }
        None => {
            let shard = params.get("shard_id").and_then(Value::as_u64);
            if shard != Some(0) {
                return Err(RpcError::handler(
                    "INVALID_SHARD_ID",
                    json!({ "shard_id": params.get("shard_id") }),
                    Value::String("this chain has one shard, 0".into()),
                ));
            }
            block_ref(&params)?
        }
    };
    let b = node.block(at).map_err(|e| match e {
        crate::NodeError::UnknownBlock(id) if params.get("chunk_id").is_some() => RpcError::handler(
            "UNKNOWN_CHUNK",
            json!({ "chunk_hash": id }),
            Value::String(format!("Chunk Missing (unavailable on the node): ChunkHash(`{id}`)")),
        ),
        e => e.into(),
    })?;
    Ok(crate::chunk::chunk(&b))
}

#[derive(Deserialize)]
struct ReceiptParams {
    receipt_id: CryptoHash,
}

/// `EXPERIMENTAL_receipt {receipt_id}`: a transaction's receipt (its id is the transaction hash).
fn receipt<N: NodeApi>(node: &N, params: Value) -> Result<Value, RpcError> {
    let p: ReceiptParams = parse_params(params)?;
    match node.outcome(&p.receipt_id)? {
        Some((_, tx)) => Ok(crate::chunk::receipt(&tx)),
        None => Err(RpcError::handler(
            "UNKNOWN_RECEIPT",
            json!({ "receipt_id": p.receipt_id }),
            Value::String(format!("Receipt with id {} has never been observed on this node", p.receipt_id)),
        )),
    }
}

fn field<T: DeserializeOwned>(params: &Value, name: &str) -> Result<T, RpcError> {
    let v = params.get(name).cloned().ok_or_else(|| RpcError::parse(format!("missing field `{name}`")))?;
    serde_json::from_value(v).map_err(|e| RpcError::parse(format!("{name}: {e}")))
}

fn unknown_account(id: &AccountId, b: &chain_types::Block) -> RpcError {
    RpcError::handler(
        "UNKNOWN_ACCOUNT",
        json!({ "requested_account_id": id, "block_height": b.header.height, "block_hash": b.hash() }),
        Value::String(format!("account {id} does not exist while viewing")),
    )
}

fn no_code(id: &AccountId, b: &chain_types::Block) -> RpcError {
    RpcError::handler(
        "NO_CONTRACT_CODE",
        json!({ "contract_account_id": id, "block_height": b.header.height, "block_hash": b.hash() }),
        Value::String(format!("account {id} runs no module")),
    )
}

fn base64_field(params: &Value, name: &str) -> Result<Vec<u8>, RpcError> {
    let text: String = field(params, name)?;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| RpcError::parse(format!("{name}: invalid base64: {e}")))
}

/// `query`: `view_account`, `view_access_key`, `view_access_key_list`, `call_function`,
/// `view_state` and `view_code`. With `include_proof: true` (all but the key list and
/// code), the answer carries Merkle proofs of every state entry it read (`state_proof`,
/// see [`crate::light_client`]).
fn query<N: NodeApi>(node: &N, params: Value) -> Result<Value, RpcError> {
    if !params.is_object() {
        return Err(RpcError::parse("query takes an object: {request_type, finality|block_id, ...}"));
    }
    let request_type: String = field(&params, "request_type")?;
    // Key lists and code carry no proof (NEAR's answers have none): the flag is ignored.
    let include_proof = params.get("include_proof").and_then(Value::as_bool).unwrap_or(false)
        && matches!(request_type.as_str(), "view_account" | "view_access_key" | "call_function" | "view_state");
    let mut at = block_ref(&params)?;
    if include_proof {
        at = crate::light_client::provable_ref(node, at)?;
    }
    let (mut answer, reads) = match request_type.as_str() {
        "view_account" => {
            let id: AccountId = field(&params, "account_id")?;
            let (acc, b) = node.account(&id, at)?;
            let acc = acc.ok_or_else(|| unknown_account(&id, &b))?;
            let (_, module, _) = node.module_of(&id, at)?;
            (views::account(&acc, module.as_deref(), &b), vec![StateRead::Account(id)])
        }
        "view_access_key" => {
            let id: AccountId = field(&params, "account_id")?;
            let key: PublicKey = field(&params, "public_key")?;
            match node.access_key(&id, &key, at)? {
                (Some(k), b) => (views::access_key(&k, &b), vec![StateRead::AccessKey(id, key)]),
                (None, b) => {
                    return Err(RpcError::handler(
                        "UNKNOWN_ACCESS_KEY",
                        json!({ "public_key": key, "block_height": b.header.height, "block_hash": b.hash() }),
                        Value::String(format!("access key {key} does not exist while viewing")),
                    ))
                }
            }
        }
        "view_access_key_list" => {
            let id: AccountId = field(&params, "account_id")?;
            let (keys, b) = node.access_keys(&id, at)?;
            (views::access_key_list(&keys, &b), Vec::new())
        }
        "call_function" => {
            let id: AccountId = field(&params, "account_id")?;
            let method: String = field(&params, "method_name")?;
            let args = base64_field(&params, "args_base64")?;
            let (result, b) = node.call_view(&id, &method, &args, at)?;
            match result {
                Ok(bytes) => {
                    let reads = if include_proof { node.view_reads(&id, &method, &args, at)? } else { Vec::new() };
                    (views::call_result(&bytes, &b), reads)
                }
                Err(ViewCallError::UnknownAccount) => return Err(unknown_account(&id, &b)),
                Err(ViewCallError::NoModule) => return Err(no_code(&id, &b)),
                Err(ViewCallError::Failed(message)) => {
                    return Err(RpcError::handler(
                        "CONTRACT_EXECUTION_ERROR",
                        json!({ "vm_error": message, "block_height": b.header.height, "block_hash": b.hash() }),
                        Value::String(format!("Function call returned an error: {message}")),
                    ))
                }
            }
        }
        "view_state" => {
            let id: AccountId = field(&params, "account_id")?;
            let prefix = base64_field(&params, "prefix_base64")?;
            let (entries, b) = node.module_state(&id, &prefix, at)?;
            let entries = entries.ok_or_else(|| unknown_account(&id, &b))?;
            let reads = entries.iter().map(|(k, _)| StateRead::ModuleData(id.clone(), k.clone())).collect();
            (views::view_state(&entries, &b), reads)
        }
        "view_code" => {
            let id: AccountId = field(&params, "account_id")?;
            let (exists, module, b) = node.module_of(&id, at)?;
            if !exists {
                return Err(unknown_account(&id, &b));
            }
            let module = module.ok_or_else(|| no_code(&id, &b))?;
            (views::view_code(&module, &b), Vec::new())
        }
        other => {
            return Err(RpcError::parse(format!(
                "unknown request_type `{other}`: supported are view_account, view_access_key, view_access_key_list, \
                 call_function, view_state and view_code"
            )))
        }
    };
    if include_proof && !reads.is_empty() {
        let (proofs, _) = node.prove_state(&reads, at)?;
        if request_type == "view_state" {
            answer["proof"] = json!(proofs.iter().map(|p| views::b64(&p.proof)).collect::<Vec<_>>());
        }
        answer["state_proof"] = crate::light_client::state_proof(&proofs);
    }
    Ok(answer)
}

/// The first block of the epoch with this id (the head's epoch is the newest known).
fn epoch_start<N: NodeApi>(node: &N, id: &Value) -> Result<BlockRef, RpcError> {
    let id: CryptoHash = serde_json::from_value(id.clone()).map_err(|e| RpcError::parse(format!("epoch_id: {e}")))?;
    let len = node.protocol_config().epoch_length;
    let head = node.block(BlockRef::Finality(Finality::Final))?.header.height;
    let current = views::epoch_of(head, len);
    let epoch = (0..=current).find(|e| views::epoch_id(*e) == id).ok_or_else(|| {
        RpcError::handler("UNKNOWN_EPOCH", Value::Null, Value::String(format!("Epoch id {id} is not known")))
    })?;
    Ok(BlockRef::Height((epoch * len + 1).min(head)))
}

/// `validators` takes `[null]`, `[height or hash]`, `{"block_id": ...}`, `{"epoch_id": ...}`
/// (an epoch's set, answered at its first block) or `"latest"` / `{"latest": ..}`.
fn validators<N: NodeApi>(node: &N, params: Value) -> Result<Value, RpcError> {
    let latest = BlockRef::Finality(Finality::Final);
    let at = match &params {
        Value::Null | Value::String(_) => latest,
        Value::Array(items) if items.first().is_none_or(Value::is_null) => latest,
        Value::Object(map) if map.get("epoch_id").is_some() => epoch_start(node, &map["epoch_id"])?,
        Value::Object(map) if map.get("block_id").is_none() && map.get("finality").is_none() => latest,
        _ => block_ref(&params)?,
    };
    let (v, b) = node.validators(at)?;
    Ok(views::validators(&v, &b))
}
