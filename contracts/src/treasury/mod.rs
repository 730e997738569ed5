//! The treasury: the account holding the undistributed supply, governed as an M-of-N
//! multisig with NEAR multisig2's method names and argument shapes.
//!
//! Calls: `add_request {request}` and `add_request_and_confirm {request}` (both return the
//! new request id), `confirm {request_id, hash?}`, `delete_request {request_id}` (returns
//! `true` when the request is gone, `false` when the call recorded a deletion vote). Views:
//! `get_request`, `list_request_ids`, `get_confirmations`, `get_num_confirmations`,
//! `get_request_nonce`, `get_members`, plus `get_deletion_votes`, `get_config` and
//! `get_validators`.
//!
//! # Invariants
//! - `1 <= num_confirmations <= members` at genesis and after every change; a change that
//!   would break it is refused.
//! - Config and validator-set changes are single-action requests addressed to the treasury.
//! - A request runs when confirmations from *current* members reach the threshold, at the
//!   confirmation that makes it so; it runs atomically and its outcome (logs, or the error)
//!   is stored in the request, which is no longer pending either way.
//! - After a request that changes the config runs, every pending request is re-checked
//!   against the new config, in id order: one with deletion votes from K current members is
//!   deleted, one with confirmations from K current members runs (atomically, outcome stored,
//!   as above). So lowering K (or re-adding a member whose confirmation counts again) never
//!   leaves a request pending that already has enough confirmations.
//! - Only members add, confirm or delete; one confirmation and one deletion vote per member
//!   per request; a member has at most `active_requests_limit` pending requests.
//! - A request expires `request_lifetime_blocks` after it was added: it can no longer be
//!   confirmed, `list_request_ids` no longer lists it, it no longer counts against its
//!   proposer's limit, and the next call that touches the pending list (add, confirm that
//!   runs a request, delete) drops it from storage; `get_request` shows it as `expired`
//!   until then and as unknown after. So the pending list holds at most
//!   `members x active_requests_limit` live requests.
//! - Deletion before expiry: by its proposer alone once `delete_cooldown_blocks` have
//!   passed, otherwise by deletion votes (`delete_request` from members, the proposer
//!   included) from K current members. One member cannot veto a K-of-N request.
//! - The request hash covers chain id, treasury id, request id and the actions.
//! - A key member is exactly a function-call key on the treasury limited to
//!   [`MEMBER_METHODS`]; adding or removing the member adds or removes the key.
//! - An account member's account cannot be deleted while it is a member (the runtime asks
//!   [`is_account_member`]): remove the member by request first.

mod calls;
mod execute;
mod pending;
mod request;
mod state;

use serde::Deserialize;
use serde_json::json;

pub use execute::member_access_key;
pub use request::{MultiSigRequest, MultiSigRequestAction, MultisigMember, MAX_ACTIONS};
pub use state::{initial_state, Config, RequestStatus};

use crate::{Host, ModuleError, NativeModule};
use calls::{add_request, confirm, delete_request};

/// The methods a key member's access key may call.
pub const MEMBER_METHODS: [&str; 4] = ["add_request", "add_request_and_confirm", "confirm", "delete_request"];

#[derive(Debug)]
pub struct Treasury;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestArgs {
    request: MultiSigRequest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestIdArgs {
    request_id: u32,
    /// Optional on `confirm`: the hash the member approved; must match.
    #[serde(default)]
    hash: Option<chain_types::CryptoHash>,
}

fn request_view(host: &dyn Host, id: u32) -> Result<serde_json::Value, ModuleError> {
    let config = state::config(host)?;
    let r = state::request(host, id)?;
    let mut status = serde_json::to_value(&r.status).map_err(|e| ModuleError::Rejected(e.to_string()))?;
    if r.status == RequestStatus::Pending && r.is_expired(&config, host.block_height()) {
        status = json!({ "status": "expired" });
    }
    Ok(json!({
        "request_id": id,
        "receiver_id": r.request.receiver_id,
        "actions": r.request.actions,
        "hash": r.hash,
        "proposer": r.proposer,
        "added_at_height": r.added_at,
        "expires_after_height": r.expires_after(&config),
        "confirmations": r.confirmations,
        "deletion_votes": state::delete_votes(host, id)?,
        "outcome": status,
    }))
}

/// The pending ids without those expired by now (a view cannot drop them from storage).
fn live_ids_view(host: &dyn Host) -> Result<Vec<u32>, ModuleError> {
    let config = state::config(host)?;
    let height = host.block_height();
    let mut live = Vec::new();
    for id in state::pending_ids(host)? {
        if !state::request(host, id)?.is_expired(&config, height) {
            live.push(id);
        }
    }
    Ok(live)
}

/// Whether `account` is a member of the treasury whose storage `host` reads (an account
/// member; key members live on the treasury account itself). The runtime refuses to delete
/// such an account: a parent could recreate it and inherit the membership.
pub fn is_account_member(host: &dyn Host, account: &chain_types::AccountId) -> Result<bool, ModuleError> {
    let member = MultisigMember::Account { account_id: account.clone() };
    Ok(state::config_if_any(host)?.is_some_and(|c| c.is_member(&member)))
}

impl NativeModule for Treasury {
    fn name(&self) -> &'static str {
        "treasury"
    }

    fn call(&self, host: &mut dyn Host, method: &str, args: &[u8]) -> Result<Vec<u8>, ModuleError> {
        match method {
            "add_request" => {
                let a: RequestArgs = crate::json_args(args)?;
                crate::json_value(&add_request(host, a.request)?)
            }
            "add_request_and_confirm" => {
                let a: RequestArgs = crate::json_args(args)?;
                let id = add_request(host, a.request)?;
                confirm(host, id, None)?;
                crate::json_value(&id)
            }
            "confirm" => {
                let a: RequestIdArgs = crate::json_args(args)?;
                confirm(host, a.request_id, a.hash)?;
                crate::json_value(&true)
            }
            "delete_request" => {
                let a: RequestIdArgs = crate::json_args(args)?;
                crate::json_value(&delete_request(host, a.request_id)?)
            }
            other => Err(ModuleError::MethodNotFound { module: "treasury", method: other.into() }),
        }
    }

    fn view(&self, host: &dyn Host, method: &str, args: &[u8]) -> Result<Vec<u8>, ModuleError> {
        let id = || crate::json_args::<RequestIdArgs>(args).map(|a| a.request_id);
        match method {
            "get_request" => crate::json_value(&request_view(host, id()?)?),
            "list_request_ids" => crate::json_value(&live_ids_view(host)?),
            "get_confirmations" => crate::json_value(&state::request(host, id()?)?.confirmations),
            "get_deletion_votes" => {
                let id = id()?;
                state::request(host, id)?;
                crate::json_value(&state::delete_votes(host, id)?)
            }
            "get_num_confirmations" => crate::json_value(&state::config(host)?.num_confirmations),
            "get_request_nonce" => crate::json_value(&state::nonce(host)?),
            "get_members" => crate::json_value(&state::config(host)?.members),
            "get_config" => crate::json_value(&state::config(host)?),
            "get_validators" => crate::json_value(&crate::staking::read(host)?),
            other => Err(ModuleError::MethodNotFound { module: "treasury", method: other.into() }),
        }
    }
}
