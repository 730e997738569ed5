//! Running a confirmed request: every action against the receiver, all or nothing.

use chain_types::{AccessKey, AccessKeyPermission};
use serde_json::json;

use super::request::{MultiSigRequest, MultiSigRequestAction as A, MultisigMember};
use super::state::{self, Config};
use crate::{staking, Host, ModuleError};

/// The function-call key a key member gets on the treasury account: it may sign exactly the
/// multisig calls, as the treasury.
pub fn member_access_key(treasury: &chain_types::AccountId) -> AccessKey {
    AccessKey {
        nonce: 0,
        permission: AccessKeyPermission::FunctionCall(chain_types::FunctionCallPermission {
            allowance: None,
            receiver_id: treasury.clone(),
            method_names: super::MEMBER_METHODS.iter().map(|m| (*m).to_owned()).collect(),
        }),
    }
}

/// Applies `request`'s actions in order; returns one log line per action. The caller runs
/// this inside [`Host::atomically`], so an error leaves nothing behind.
pub fn run(host: &mut dyn Host, request: &MultiSigRequest) -> Result<Vec<String>, ModuleError> {
    let treasury = host.current_account().clone();
    request.check_shape(&treasury)?;
    let to = &request.receiver_id;
    let mut logs = Vec::with_capacity(request.actions.len());
    for action in &request.actions {
        let line = match action {
            A::Transfer { amount } => {
                host.transfer(to, *amount)?;
                format!("transferred {amount} to {to}")
            }
            A::CreateAccount => {
                if to.is_top_level() {
                    let registrar = state::config(host)?.registrar;
                    let args = json!({ "new_account_id": to }).to_string();
                    host.call(&registrar, "create_account", args.as_bytes(), 0)?;
                } else {
                    host.create_account(to, None, 0)?;
                }
                format!("created account {to}")
            }
            A::AddKey { public_key, permission } => {
                let permission = match permission {
                    Some(p) => AccessKeyPermission::FunctionCall(p.clone()),
                    None => AccessKeyPermission::FullAccess,
                };
                host.add_key(to, *public_key, AccessKey { nonce: 0, permission })?;
                format!("added key {public_key} to {to}")
            }
            A::DeleteKey { public_key } => {
                host.delete_key(to, public_key)?;
                format!("deleted key {public_key} of {to}")
            }
            A::FunctionCall { method_name, args, deposit, .. } => {
                let out = host.call(to, method_name, args, *deposit)?;
                format!("called {to}.{method_name} with {deposit}: {}", String::from_utf8_lossy(&out))
            }
            A::AddMember { member } => change_members(host, |c| {
                if c.is_member(member) {
                    return Err(ModuleError::Rejected(format!("{member} is already a member")));
                }
                c.members.push(member.clone());
                Ok(format!("added member {member}"))
            })?,
            A::DeleteMember { member } => change_members(host, |c| {
                let before = c.members.len();
                c.members.retain(|m| m != member);
                if c.members.len() == before {
                    return Err(ModuleError::Rejected(format!("{member} is not a member")));
                }
                Ok(format!("deleted member {member}"))
            })?,
            A::SetNumConfirmations { num_confirmations } => change_members(host, |c| {
                c.num_confirmations = *num_confirmations;
                Ok(format!("confirmations required: {num_confirmations}"))
            })?,
            A::SetActiveRequestsLimit { active_requests_limit } => change_members(host, |c| {
                c.active_requests_limit = *active_requests_limit;
                Ok(format!("active request limit: {active_requests_limit}"))
            })?,
            A::AddValidator { .. } | A::RemoveValidator { .. } | A::ReplaceValidator { .. } => {
                let change = action.validator_change().ok_or_else(|| ModuleError::Rejected("no change".into()))?;
                staking::propose(host, &change)?
            }
        };
        host.log(line.clone());
        logs.push(line);
    }
    Ok(logs)
}

/// Changes the config with `f`, re-checks `1 <= K <= N`, and keeps member keys on the
/// treasury account in step with the member list.
fn change_members(
    host: &mut dyn Host,
    f: impl FnOnce(&mut Config) -> Result<String, ModuleError>,
) -> Result<String, ModuleError> {
    let before = state::config(host)?;
    let mut after = before.clone();
    let line = f(&mut after)?;
    state::write_config(host, &after)?;
    let treasury = host.current_account().clone();
    for m in &before.members {
        if let MultisigMember::AccessKey { public_key } = m {
            if !after.is_member(m) {
                host.delete_key(&treasury, public_key)?;
            }
        }
    }
    for m in &after.members {
        if let MultisigMember::AccessKey { public_key } = m {
            if !before.is_member(m) {
                host.add_key(&treasury, *public_key, member_access_key(&treasury))?;
            }
        }
    }
    Ok(line)
}
