//! JSON-RPC method handlers.

use std::time::Duration;

use base64::Engine as _;
use chain_types::{AccountId, CryptoHash, ExecutionStatus, PublicKey, SignedTransaction, TxExecutionError};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

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
        "query" => query(node, params),
        "send_tx" => {
            let p: SendTxParams = parse_params(params)?;
            send(node, &p.signed_tx_base64, p.wait_until, tx_timeout).await
        }
        "broadcast_tx_commit" => {
            let [tx]: [String; 1] = parse_params(params)?;
            send(node, &tx, WaitUntil::Final, tx_timeout).await
        }
        "broadcast_tx_async" => {
            let [tx]: [String; 1] = parse_params(params)?;
            let tx = decode_tx(&tx)?;
            Ok(json!(node.submit_gathered(tx).await?))
        }
        "tx" => tx_status(node, params, tx_timeout).await,
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
const METHODS: [&str; 12] = [
    "status",
    "health",
    "block",
    "query",
    "send_tx",
    "broadcast_tx_commit",
    "broadcast_tx_async",
    "tx",
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
fn parse_params<T: DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    serde_json::from_value(params).map_err(|e| RpcError::parse(format!("Failed parsing args: {e}")))
}

#[derive(Deserialize)]
struct SendTxParams {
    signed_tx_base64: String,
    #[serde(default)]
    wait_until: WaitUntil,
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

async fn tx_status<N: NodeApi>(node: &N, params: Value, timeout: Duration) -> Result<Value, RpcError> {
    let (hash, wait) = match parse_params(params)? {
        TxParams::Object { tx_hash, wait_until, .. } => (tx_hash, wait_until),
        TxParams::Array(hash, _) => (hash, WaitUntil::Final),
    };
    match outcome_or_wait(node, hash, wait, timeout).await? {
        Some((o, tx)) => outcome_reply(&o, &tx, wait),
        None => Err(RpcError::handler(
            "UNKNOWN_TRANSACTION",
            json!({ "requested_transaction_hash": hash }),
            Value::String(format!("Transaction {hash} doesn't exist")),
        )),
    }
}

/// Reads `finality`, `block_id` or `sync_checkpoint` from an object; `[id]` arrays too.
fn block_ref(params: &Value) -> Result<BlockRef, RpcError> {
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
    Ok(views::block(&b, &approvals))
}

fn field<T: DeserializeOwned>(params: &Value, name: &str) -> Result<T, RpcError> {
    let v = params.get(name).cloned().ok_or_else(|| RpcError::parse(format!("missing field `{name}`")))?;
    serde_json::from_value(v).map_err(|e| RpcError::parse(format!("{name}: {e}")))
}

fn query<N: NodeApi>(node: &N, params: Value) -> Result<Value, RpcError> {
    if !params.is_object() {
        return Err(RpcError::parse("query takes an object: {request_type, finality|block_id, ...}"));
    }
    let at = block_ref(&params)?;
    let request_type: String = field(&params, "request_type")?;
    match request_type.as_str() {
        "view_account" => {
            let id: AccountId = field(&params, "account_id")?;
            match node.account(&id, at)? {
                (Some(acc), b) => Ok(views::account(&acc, &b)),
                (None, b) => Err(RpcError::handler(
                    "UNKNOWN_ACCOUNT",
                    json!({ "requested_account_id": id, "block_height": b.header.height, "block_hash": b.hash() }),
                    Value::String(format!("account {id} does not exist while viewing")),
                )),
            }
        }
        "view_access_key" => {
            let id: AccountId = field(&params, "account_id")?;
            let key: PublicKey = field(&params, "public_key")?;
            match node.access_key(&id, &key, at)? {
                (Some(k), b) => Ok(views::access_key(&k, &b)),
                (None, b) => Err(RpcError::handler(
                    "UNKNOWN_ACCESS_KEY",
                    json!({ "public_key": key, "block_height": b.header.height, "block_hash": b.hash() }),
                    Value::String(format!("access key {key} does not exist while viewing")),
                )),
            }
        }
        "view_access_key_list" => {
            let id: AccountId = field(&params, "account_id")?;
            let (keys, b) = node.access_keys(&id, at)?;
            Ok(views::access_key_list(&keys, &b))
        }
        "call_function" => {
            let id: AccountId = field(&params, "account_id")?;
            let method: String = field(&params, "method_name")?;
            let args_b64: String = field(&params, "args_base64")?;
            let args = base64::engine::general_purpose::STANDARD
                .decode(args_b64.trim())
                .map_err(|e| RpcError::parse(format!("args_base64: invalid base64: {e}")))?;
            let (result, b) = node.call_view(&id, &method, &args, at)?;
            let at = json!({ "block_height": b.header.height, "block_hash": b.hash() });
            match result {
                Ok(bytes) => Ok(views::call_result(&bytes, &b)),
                Err(ViewCallError::UnknownAccount) => Err(RpcError::handler(
                    "UNKNOWN_ACCOUNT",
                    json!({ "requested_account_id": id, "block_height": at["block_height"], "block_hash": at["block_hash"] }),
                    Value::String(format!("account {id} does not exist while viewing")),
                )),
                Err(ViewCallError::NoModule) => Err(RpcError::handler(
                    "NO_CONTRACT_CODE",
                    json!({ "contract_account_id": id, "block_height": at["block_height"], "block_hash": at["block_hash"] }),
                    Value::String(format!("account {id} runs no module")),
                )),
                Err(ViewCallError::Failed(message)) => Err(RpcError::handler(
                    "CONTRACT_EXECUTION_ERROR",
                    json!({ "vm_error": message, "block_height": at["block_height"], "block_hash": at["block_hash"] }),
                    Value::String(format!("Function call returned an error: {message}")),
                )),
            }
        }
        other => Err(RpcError::parse(format!(
            "unknown request_type `{other}`: supported are view_account, view_access_key, view_access_key_list and call_function"
        ))),
    }
}

/// `validators` takes `[null]`, `[height or hash]`, `{"block_id": ...}`, `{"epoch_id": ...}`
/// (any epoch id answers for the latest block) or `{"latest": null}`.
fn validators<N: NodeApi>(node: &N, params: Value) -> Result<Value, RpcError> {
    let latest = BlockRef::Finality(Finality::Final);
    let at = match &params {
        Value::Null => latest,
        Value::Array(items) if items.first().is_none_or(Value::is_null) => latest,
        Value::Object(map) if map.get("block_id").is_none() && map.get("finality").is_none() => latest,
        _ => block_ref(&params)?,
    };
    let (v, b) = node.validators(at)?;
    Ok(views::validators(&v, &b))
}
