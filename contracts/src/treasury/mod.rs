//! The treasury: the account holding the undistributed supply, governed as an M-of-N
//! multisig with NEAR multisig2's method names and argument shapes.
//!
//! Calls: `add_request {request}` and `add_request_and_confirm {request}` (both return the
//! new request id), `confirm {request_id, hash?}`, `delete_request {request_id}`. Views:
//! `get_request`, `list_request_ids`, `get_confirmations`, `get_num_confirmations`,
//! `get_request_nonce`, `get_members`, plus `get_config` and `get_validators`.
//!
//! # Invariants
//! - `1 <= num_confirmations <= members` at genesis and after every change; a change that
//!   would break it is refused.
//! - Config and validator-set changes are single-action requests addressed to the treasury.
//! - A request runs when confirmations from *current* members reach the threshold, at the
//!   confirmation that makes it so; it runs atomically and its outcome (logs, or the error)
//!   is stored in the request, which is no longer pending either way.
//! - Only members add, confirm or delete; one confirmation per member per request; an
//!   expired request cannot be confirmed; a request is deleted only after the cooldown (or
//!   at once once expired); a member has at most `active_requests_limit` live requests.
//! - A key member is exactly a function-call key on the treasury limited to
//!   [`MEMBER_METHODS`]; adding or removing the member adds or removes the key.

mod execute;
mod request;
mod state;

use serde::Deserialize;
use serde_json::json;

pub use execute::member_access_key;
pub use request::{MultiSigRequest, MultiSigRequestAction, MultisigMember, MAX_ACTIONS};
pub use state::{initial_state, Config, RequestStatus};

use crate::{Host, ModuleError, NativeModule};
use state::RequestRecord;

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

/// The member making this call: the signing key when the treasury signs for itself, the
/// calling account otherwise.
fn caller(host: &dyn Host) -> MultisigMember {
    if host.predecessor() == host.current_account() {
        MultisigMember::AccessKey { public_key: *host.signer_public_key() }
    } else {
        MultisigMember::Account { account_id: host.predecessor().clone() }
    }
}

fn member_caller(host: &dyn Host, config: &Config) -> Result<MultisigMember, ModuleError> {
    let who = caller(host);
    if !config.is_member(&who) {
        return Err(ModuleError::Rejected(format!("{who} is not a member of the treasury")));
    }
    Ok(who)
}

fn pending(host: &dyn Host, id: u32) -> Result<RequestRecord, ModuleError> {
    let record = state::request(host, id)?;
    if record.status != RequestStatus::Pending {
        return Err(ModuleError::Rejected(format!("request {id} is no longer pending")));
    }
    Ok(record)
}

fn add_request(host: &mut dyn Host, request: MultiSigRequest) -> Result<u32, ModuleError> {
    if host.attached_deposit() > 0 {
        return Err(ModuleError::Rejected("treasury requests take no deposit".into()));
    }
    let config = state::config(host)?;
    let who = member_caller(host, &config)?;
    let treasury = host.current_account().clone();
    request.check_shape(&treasury)?;
    let height = host.block_height();
    let mut ids = state::pending_ids(host)?;
    let mut live = 0u32;
    for id in &ids {
        let r = state::request(host, *id)?;
        if r.proposer == who && !r.is_expired(&config, height) {
            live += 1;
        }
    }
    if live >= config.active_requests_limit {
        return Err(ModuleError::Rejected(format!(
            "{who} already has {live} active requests (the limit is {})",
            config.active_requests_limit
        )));
    }
    let id = state::nonce(host)?;
    let next = id.checked_add(1).ok_or_else(|| ModuleError::Rejected("request ids exhausted".into()))?;
    let hash = request.hash(host.chain_id(), &treasury, id);
    let record = RequestRecord {
        request,
        hash,
        proposer: who,
        added_at: height,
        confirmations: Vec::new(),
        status: RequestStatus::Pending,
    };
    state::write_request(host, id, &record);
    state::set_nonce(host, next);
    ids.push(id);
    state::set_pending_ids(host, &ids);
    host.log(format!("request {id} added, hash {hash}"));
    Ok(id)
}

/// Records the caller's confirmation; runs the request once current members' confirmations
/// reach the threshold. The confirmation stands even if the request then fails.
fn confirm(host: &mut dyn Host, id: u32, hash: Option<chain_types::CryptoHash>) -> Result<(), ModuleError> {
    let config = state::config(host)?;
    let who = member_caller(host, &config)?;
    let mut record = pending(host, id)?;
    if let Some(h) = hash {
        if h != record.hash {
            return Err(ModuleError::Rejected(format!("request {id} has hash {}, not {h}", record.hash)));
        }
    }
    let height = host.block_height();
    if record.is_expired(&config, height) {
        return Err(ModuleError::Rejected(format!(
            "request {id} expired after height {}",
            record.expires_after(&config)
        )));
    }
    if record.confirmations.contains(&who) {
        return Err(ModuleError::Rejected(format!("{who} already confirmed request {id}")));
    }
    record.confirmations.push(who);
    let have = record.current_confirmations(&config);
    if have < config.num_confirmations as usize {
        host.log(format!("request {id}: {have} of {} confirmations", config.num_confirmations));
        state::write_request(host, id, &record);
        return Ok(());
    }
    let request = record.request.clone();
    let mut logs = Vec::new();
    let result = host.atomically(&mut |h| {
        logs = execute::run(h, &request)?;
        Ok(Vec::new())
    });
    record.status = match result {
        Ok(_) => RequestStatus::Executed { height, logs },
        Err(e) => {
            host.log(format!("request {id} failed: {e}"));
            RequestStatus::Failed { height, error: e.to_string() }
        }
    };
    state::write_request(host, id, &record);
    let mut ids = state::pending_ids(host)?;
    ids.retain(|i| *i != id);
    state::set_pending_ids(host, &ids);
    Ok(())
}

fn delete_request(host: &mut dyn Host, id: u32) -> Result<(), ModuleError> {
    let config = state::config(host)?;
    let who = member_caller(host, &config)?;
    let record = pending(host, id)?;
    let height = host.block_height();
    let cooldown_over = height >= record.added_at.saturating_add(config.delete_cooldown_blocks);
    if !cooldown_over && !record.is_expired(&config, height) {
        return Err(ModuleError::Rejected(format!(
            "request {id} can be deleted from height {}",
            record.added_at.saturating_add(config.delete_cooldown_blocks)
        )));
    }
    state::remove_request(host, id);
    let mut ids = state::pending_ids(host)?;
    ids.retain(|i| *i != id);
    state::set_pending_ids(host, &ids);
    host.log(format!("request {id} deleted by {who}"));
    Ok(())
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
        "outcome": status,
    }))
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
                delete_request(host, a.request_id)?;
                crate::json_value(&true)
            }
            other => Err(ModuleError::MethodNotFound { module: "treasury", method: other.into() }),
        }
    }

    fn view(&self, host: &dyn Host, method: &str, args: &[u8]) -> Result<Vec<u8>, ModuleError> {
        let id = || crate::json_args::<RequestIdArgs>(args).map(|a| a.request_id);
        match method {
            "get_request" => crate::json_value(&request_view(host, id()?)?),
            "list_request_ids" => crate::json_value(&state::pending_ids(host)?),
            "get_confirmations" => crate::json_value(&state::request(host, id()?)?.confirmations),
            "get_num_confirmations" => crate::json_value(&state::config(host)?.num_confirmations),
            "get_request_nonce" => crate::json_value(&state::nonce(host)?),
            "get_members" => crate::json_value(&state::config(host)?.members),
            "get_config" => crate::json_value(&state::config(host)?),
            "get_validators" => crate::json_value(&crate::staking::read(host)?),
            other => Err(ModuleError::MethodNotFound { module: "treasury", method: other.into() }),
        }
    }
}
