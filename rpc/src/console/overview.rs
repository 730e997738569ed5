//! What the console's overview, access and account pages read in one call each.

use std::collections::BTreeMap;

use chain_types::{AccountId, BlockHeight};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::module_views::{module_json, ModuleViewError};
use crate::{BlockRef, Finality, NodeApi};

/// Blocks whose commit certificates the validator statistics count.
pub const WINDOW: u64 = 100;
/// Blocks an account's recent transactions are looked for in.
pub const SCAN_BLOCKS: u64 = 2_000;
/// A validator whose precommit is in one of the last this many certificates is signing (a
/// certificate holds the quorum that arrived first, not every precommit).
const RECENT: u64 = 10;
/// Most recent transactions listed for an account.
const MAX_LISTED: usize = 25;

const FINAL: BlockRef = BlockRef::Finality(Finality::Final);

fn shown(e: ModuleViewError) -> String {
    match e {
        ModuleViewError::Node(e) => e.to_string(),
        ModuleViewError::View(e) => format!("{e:?}"),
        ModuleViewError::Json(m) => m,
    }
}

#[derive(Deserialize)]
struct Organization {
    id: String,
    name: String,
    members: BTreeMap<String, String>,
    validators: Vec<String>,
}

/// Chain, workspace, this node, organizations and each current validator's signing record.
pub fn overview<N: NodeApi>(node: &N, membership: Option<String>) -> Result<Value, String> {
    let config = node.protocol_config();
    let status = node.status().map_err(|e| e.to_string())?;
    let health = node.health();
    let (orgs, head) =
        module_json::<_, Vec<Organization>>(node, &config.workspace_account_id, "get_organizations", &json!({}), FINAL)
            .map_err(shown)?;
    let head_height = head.header.height;
    let organization_of =
        |account: &str| orgs.iter().find(|o| o.validators.iter().any(|v| v == account)).map(|o| o.id.clone());
    let (set, _) = node.validators(BlockRef::Height(head_height)).map_err(|e| e.to_string())?;
    let connected: Vec<AccountId> = node.network_info().active_peers.into_iter().filter_map(|p| p.account_id).collect();
    let record = signing_record(node, head_height)?;
    let validators: Vec<Value> = set
        .current
        .iter()
        .map(|v| {
            let (last_signed, missed, window) = record.get(&v.account_id).copied().unwrap_or((None, 0, 0));
            let this_node = status.validator_account_id.as_ref() == Some(&v.account_id);
            let is_connected = this_node || connected.contains(&v.account_id);
            let state = if this_node && status.syncing {
                "syncing"
            } else if last_signed.is_some_and(|h| h + RECENT >= head_height) {
                "signing"
            } else if is_connected {
                "behind"
            } else {
                "unreachable"
            };
            json!({
                "account_id": v.account_id,
                "organization": organization_of(v.account_id.as_str()),
                "stake": v.stake.to_string(),
                "last_signed": last_signed,
                "missed": missed,
                "window": window,
                "connected": is_connected,
                "this_node": this_node,
                "status": state,
            })
        })
        .collect();
    let organizations: Vec<Value> = orgs
        .iter()
        .map(|o| json!({ "id": o.id, "name": o.name, "members": o.members, "validators": o.validators }))
        .collect();
    Ok(json!({
        "chain_id": config.chain_id,
        "workspace": { "name": config.workspace_name, "account_id": config.workspace_account_id },
        "treasury_account_id": config.treasury_account_id,
        "registrar_account_id": config.registrar_account_id,
        "head": { "height": head_height, "hash": head.hash() },
        "node": {
            "account_id": status.validator_account_id,
            "height": status.head.header.height,
            "syncing": status.syncing,
            "peers": health.peers,
            "peers_needed": health.peers_needed,
            "head_age_ms": health.head_age_ms,
            "membership": membership,
        },
        "organizations": organizations,
        "validators": validators,
    }))
}

/// Per validator: the last height it signed, blocks missing its precommit, blocks it was in
/// the set for.
type SigningRecord = BTreeMap<AccountId, (Option<BlockHeight>, u64, u64)>;

/// For each validator that signed or should have in the last [`WINDOW`] blocks up to `head`:
/// the last height it signed, how many of those blocks' certificates lack its precommit, and
/// how many blocks it was in the set for.
fn signing_record<N: NodeApi>(node: &N, head: BlockHeight) -> Result<SigningRecord, String> {
    let mut record = SigningRecord::new();
    let first = head.saturating_sub(WINDOW - 1).max(1);
    // The set deciding a height, with the first height it may no longer decide (the next
    // epoch's start): read again only then.
    let epoch_length = node.protocol_config().epoch_length;
    let mut set_for: Option<(u64, Vec<AccountId>)> = None;
    for h in first..=head {
        if set_for.as_ref().is_none_or(|(until, _)| h >= *until) {
            let (v, _) = node.validators(BlockRef::Height(h - 1)).map_err(|e| e.to_string())?;
            let accounts = v.current.into_iter().map(|x| x.account_id).collect();
            set_for = Some((v.epoch_start_height + epoch_length, accounts));
        }
        let Some((_, accounts)) = &set_for else { continue };
        let approvals = node.approvals(h).map_err(|e| e.to_string())?;
        for (i, account) in accounts.iter().enumerate() {
            let entry = record.entry(account.clone()).or_insert((None, 0, 0));
            entry.2 += 1;
            if approvals.get(i).is_some_and(Option::is_some) {
                entry.0 = Some(h);
            } else {
                entry.1 += 1;
            }
        }
    }
    Ok(record)
}

/// The workspace's per-organization limits.
pub fn workspace_limits<N: NodeApi>(node: &N) -> Result<Value, String> {
    let account = node.protocol_config().workspace_account_id;
    let (config, _) = module_json::<_, Value>(node, &account, "get_config", &json!({}), FINAL).map_err(shown)?;
    Ok(config["limits"].clone())
}

/// Transactions signed by or sent to `id` in the last [`SCAN_BLOCKS`] blocks, newest first.
pub fn recent_transactions<N: NodeApi>(node: &N, id: &AccountId) -> Result<Value, String> {
    let head = node.block(FINAL).map_err(|e| e.to_string())?.header.height;
    let first = head.saturating_sub(SCAN_BLOCKS - 1).max(1);
    let mut found = Vec::new();
    for h in (first..=head).rev() {
        let block = node.block(BlockRef::Height(h)).map_err(|e| e.to_string())?;
        for tx in &block.transactions {
            let t = &tx.transaction;
            if &t.signer_id == id || &t.receiver_id == id {
                let actions: Vec<String> = t.actions.iter().map(action_name).collect();
                found.push(json!({ "hash": tx.hash(), "height": h, "signer_id": t.signer_id, "receiver_id": t.receiver_id, "actions": actions }));
            }
        }
        if found.len() >= MAX_LISTED {
            break;
        }
    }
    found.truncate(MAX_LISTED);
    let lowest = found.last().and_then(|t| t["height"].as_u64()).filter(|_| found.len() >= MAX_LISTED).unwrap_or(first);
    Ok(json!({ "transactions": found, "blocks_scanned": head + 1 - lowest }))
}

fn action_name(a: &chain_types::Action) -> String {
    match crate::views::action(a) {
        Value::String(s) => s,
        Value::Object(m) => match m.iter().next() {
            Some((kind, body)) if kind == "FunctionCall" => {
                format!("FunctionCall {}", body["method_name"].as_str().unwrap_or("?"))
            }
            Some((kind, _)) => kind.clone(),
            None => "?".into(),
        },
        other => other.to_string(),
    }
}
