//! NEAR's state-change methods: `EXPERIMENTAL_changes` (alias `changes`: the writes of one
//! block filtered by kind and account) and `EXPERIMENTAL_changes_in_block` (alias
//! `block_effects`: which accounts a block touched, by kind).

use base64::Engine as _;
use chain_types::{AccountId, PublicKey, StateChangeCause};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::{StateChangeValue, StateChangeView};
use crate::views::{self, b64};
use crate::{NodeApi, RpcError};

fn cause(c: &StateChangeCause) -> Value {
    match c {
        StateChangeCause::InitialState => json!({ "type": "initial_state" }),
        StateChangeCause::TransactionProcessing { tx_hash } => {
            json!({ "type": "transaction_processing", "tx_hash": tx_hash })
        }
        StateChangeCause::ReceiptProcessing { receipt_hash } => {
            json!({ "type": "receipt_processing", "receipt_hash": receipt_hash })
        }
        StateChangeCause::ValidatorAccountsUpdate => json!({ "type": "validator_accounts_update" }),
    }
}

/// NEAR's `StateChangeWithCauseView`.
fn change(c: &StateChangeView) -> Value {
    let (kind, body) = match &c.value {
        StateChangeValue::AccountUpdate { account_id, account, module } => (
            "account_update",
            json!({
                "account_id": account_id,
                "amount": account.amount.to_string(),
                "locked": account.locked.to_string(),
                "code_hash": views::module_code_hash(module.as_deref()),
                "storage_usage": account.storage_usage,
                "storage_paid_at": 0,
            }),
        ),
        StateChangeValue::AccountDeletion { account_id } => ("account_deletion", json!({ "account_id": account_id })),
        StateChangeValue::AccessKeyUpdate { account_id, public_key, access_key } => (
            "access_key_update",
            json!({
                "account_id": account_id,
                "public_key": public_key,
                "access_key": { "nonce": access_key.nonce, "permission": views::permission(&access_key.permission) },
            }),
        ),
        StateChangeValue::AccessKeyDeletion { account_id, public_key } => {
            ("access_key_deletion", json!({ "account_id": account_id, "public_key": public_key }))
        }
        StateChangeValue::DataUpdate { account_id, key, value } => {
            ("data_update", json!({ "account_id": account_id, "key_base64": b64(key), "value_base64": b64(value) }))
        }
        StateChangeValue::DataDeletion { account_id, key } => {
            ("data_deletion", json!({ "account_id": account_id, "key_base64": b64(key) }))
        }
        StateChangeValue::ContractCodeUpdate { account_id, .. } => {
            ("contract_code_update", json!({ "account_id": account_id, "code_base64": "" }))
        }
        StateChangeValue::ContractCodeDeletion { account_id } => {
            ("contract_code_deletion", json!({ "account_id": account_id }))
        }
    };
    json!({ "cause": cause(&c.cause), "type": kind, "change": body })
}

#[derive(Deserialize)]
struct KeyRef {
    account_id: AccountId,
    public_key: PublicKey,
}

/// Which changes a `changes` request asks for.
#[derive(Deserialize)]
#[serde(tag = "changes_type")]
enum ChangesType {
    #[serde(rename = "account_changes")]
    Accounts { account_ids: Vec<AccountId> },
    #[serde(rename = "single_access_key_changes")]
    SingleAccessKeys { keys: Vec<KeyRef> },
    #[serde(rename = "all_access_key_changes")]
    AllAccessKeys { account_ids: Vec<AccountId> },
    #[serde(rename = "contract_code_changes")]
    ContractCode { account_ids: Vec<AccountId> },
    #[serde(rename = "data_changes")]
    Data { account_ids: Vec<AccountId>, key_prefix_base64: String },
}

impl ChangesType {
    fn selects(&self, v: &StateChangeValue, prefix: &[u8]) -> bool {
        use StateChangeValue as S;
        let id = v.account_id();
        match self {
            ChangesType::Accounts { account_ids } => {
                matches!(v, S::AccountUpdate { .. } | S::AccountDeletion { .. }) && account_ids.contains(id)
            }
            ChangesType::SingleAccessKeys { keys } => match v {
                S::AccessKeyUpdate { account_id, public_key, .. } | S::AccessKeyDeletion { account_id, public_key } => {
                    keys.iter().any(|k| &k.account_id == account_id && &k.public_key == public_key)
                }
                _ => false,
            },
            ChangesType::AllAccessKeys { account_ids } => {
                matches!(v, S::AccessKeyUpdate { .. } | S::AccessKeyDeletion { .. }) && account_ids.contains(id)
            }
            ChangesType::ContractCode { account_ids } => {
                matches!(v, S::ContractCodeUpdate { .. } | S::ContractCodeDeletion { .. }) && account_ids.contains(id)
            }
            ChangesType::Data { account_ids, .. } => match v {
                S::DataUpdate { key, .. } | S::DataDeletion { key, .. } => {
                    account_ids.contains(id) && key.starts_with(prefix)
                }
                _ => false,
            },
        }
    }
}

/// `EXPERIMENTAL_changes`: `{changes_type, ...ids, finality | block_id}`.
pub fn changes<N: NodeApi>(node: &N, params: Value) -> Result<Value, RpcError> {
    let at = crate::methods::block_ref(&params)?;
    let wanted: ChangesType =
        serde_json::from_value(params).map_err(|e| RpcError::parse(format!("Failed parsing args: {e}")))?;
    let prefix = match &wanted {
        ChangesType::Data { key_prefix_base64, .. } => base64::engine::general_purpose::STANDARD
            .decode(key_prefix_base64.trim())
            .map_err(|e| RpcError::parse(format!("key_prefix_base64: invalid base64: {e}")))?,
        _ => Vec::new(),
    };
    let (all, block) = node.state_changes(at)?;
    let list: Vec<Value> = all.iter().filter(|c| wanted.selects(&c.value, &prefix)).map(change).collect();
    Ok(json!({ "block_hash": block.hash(), "changes": list }))
}

/// `EXPERIMENTAL_changes_in_block`: each account a block touched, once per kind.
pub fn changes_in_block<N: NodeApi>(node: &N, params: Value) -> Result<Value, RpcError> {
    use StateChangeValue as S;
    let at = crate::methods::block_ref(&params)?;
    let (all, block) = node.state_changes(at)?;
    let mut seen = std::collections::BTreeSet::new();
    let mut list = Vec::new();
    for c in &all {
        let kind = match c.value {
            S::AccountUpdate { .. } | S::AccountDeletion { .. } => "account_touched",
            S::AccessKeyUpdate { .. } | S::AccessKeyDeletion { .. } => "access_key_touched",
            S::DataUpdate { .. } | S::DataDeletion { .. } => "data_touched",
            S::ContractCodeUpdate { .. } | S::ContractCodeDeletion { .. } => "contract_code_touched",
        };
        let id = c.value.account_id();
        if seen.insert((kind, id.clone())) {
            list.push(json!({ "type": kind, "account_id": id }));
        }
    }
    Ok(json!({ "block_hash": block.hash(), "changes": list }))
}
