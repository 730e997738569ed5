//! Running a confirmed request: every action against the receiver, all or nothing.

use chain_types::{AccessKey, AccessKeyPermission};
use serde_json::json;

use super::request::{MultiSigRequest, MultiSigRequestAction as A, MultisigMember};
use super::state::{self, Config};
use crate::staking::{self, ValidatorChange};
use crate::{Host, ModuleError};
use chain_types::AccountId;

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
                if to == &state::config(host)?.workspace && WORKSPACE_TREASURY_METHODS.contains(&method_name.as_str()) {
                    return Err(ModuleError::Rejected(format!(
                        "{method_name} on the workspace goes with a validator change: use the {} action",
                        if method_name == "remove_organization" {
                            "RemoveOrganization"
                        } else {
                            "AddValidator / RemoveValidator"
                        }
                    )));
                }
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
            A::AddValidator { validator, organization } => {
                let line = staking::propose(host, &ValidatorChange::Add(validator.clone()))?;
                workspace_call(
                    host,
                    "add_validator",
                    json!({"org_id": organization, "account_id": validator.account_id}),
                )?;
                format!("{line} ({} for organization {organization})", validator.account_id)
            }
            A::RemoveValidator { account_id } => {
                let line = staking::propose(host, &ValidatorChange::Remove(account_id.clone()))?;
                workspace_call(host, "remove_validator", json!({"account_id": account_id}))?;
                line
            }
            A::ReplaceValidator { account_id, validator } => {
                let line = staking::propose(host, &ValidatorChange::Replace(account_id.clone(), validator.clone()))?;
                let org = workspace_call(host, "remove_validator", json!({"account_id": account_id}))?;
                if let Some(org_id) = org.as_str() {
                    let args = json!({"org_id": org_id, "account_id": validator.account_id});
                    workspace_call(host, "add_validator", args)?;
                }
                line
            }
            A::RemoveOrganization { org_id } => {
                let validators = workspace_call(host, "remove_organization", json!({"org_id": org_id}))?;
                let validators: Vec<AccountId> = serde_json::from_value(validators)
                    .map_err(|e| ModuleError::Rejected(format!("the workspace returned no validator list: {e}")))?;
                let next = staking::read(host)?;
                let mut line = format!("removed organization {org_id}");
                for v in validators.iter().filter(|v| next.next().iter().any(|n| &n.account_id == *v)) {
                    line = format!("{line}; {}", staking::propose(host, &ValidatorChange::Remove(v.clone()))?);
                }
                line
            }
        };
        host.log(line.clone());
        logs.push(line);
    }
    Ok(logs)
}

/// Workspace methods only the treasury's validator and organization actions call.
const WORKSPACE_TREASURY_METHODS: [&str; 3] = ["add_validator", "remove_validator", "remove_organization"];

/// Calls the workspace module as the treasury; returns its JSON answer.
fn workspace_call(
    host: &mut dyn Host,
    method: &str,
    args: serde_json::Value,
) -> Result<serde_json::Value, ModuleError> {
    let workspace = state::config(host)?.workspace;
    let out = host.call(&workspace, method, args.to_string().as_bytes(), 0)?;
    serde_json::from_slice(&out)
        .map_err(|e| ModuleError::Rejected(format!("the workspace's {method} answered badly: {e}")))
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
