//! The workspace module: who belongs to the chain and with what rights, on chain.
//!
//! Organizations (each with members at a [`Role`]) join by an invitation the treasury makes
//! (a K-of-N treasury request, so the organizations already in agree) and their admin
//! accepts; an organization's admins invite users with a role, change roles and remove
//! users; admins and operators create and revoke credentials for their organization's
//! membership (metadata and a sha256 of the password only). The treasury records which
//! organization each validator it adds belongs to (`add_validator`, `remove_validator`,
//! called from its `AddValidator` / `RemoveValidator` / `ReplaceValidator` actions) and, by
//! its `RemoveOrganization` action, removes an organization, getting back the validators to
//! take out of the set. Views: `get_organizations`, `get_organization`, `get_invitations`,
//! `get_credentials`, `get_config`.
//!
//! # Invariants
//! - Nobody acts on another organization: every user, role and credential change checks the
//!   caller's role in the organization named, and organizations come and go only by the
//!   treasury.
//! - An invitation is used once, by its invitee, no later than its expiry height; refused,
//!   it changes nothing (the runtime rolls back a failed call).
//! - An organization always keeps at least one admin.
//! - A credential username is unique across the workspace (`credowner/<username>`) and never
//!   reused, even after revocation.
//! - A validator belongs to at most one organization.
//! - Every refusal is a [`WorkspaceError`], shown as `<Name>: <detail>`.

mod error;
pub mod state;

use chain_types::{AccountId, CryptoHash};
use serde::Deserialize;

pub use error::WorkspaceError;
use state::{
    Credential, CredentialRole, Invitation, InvitationKind, InvitationStatus, Organization, Role, WorkspaceConfig,
};

use crate::{Host, ModuleError, NativeModule};

/// Default blocks an invitation stays open.
pub const DEFAULT_INVITATION_BLOCKS: u64 = 100_000;

#[derive(Debug, Clone, Copy, Default)]
pub struct Workspace;

/// An organization id or credential username: 1 to 32 of `a-z`, `0-9`, `-`, `_`.
pub fn is_valid_id(value: &str) -> bool {
    (1..=32).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn valid_id(what: &'static str, value: &str) -> Result<(), WorkspaceError> {
    if is_valid_id(value) {
        Ok(())
    } else {
        Err(WorkspaceError::InvalidId { what, value: value.to_owned() })
    }
}

fn role(name: &str) -> Result<Role, WorkspaceError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| WorkspaceError::UnknownRole {
        role: name.to_owned(),
        expected: "admin, operator, member or viewer",
    })
}

fn credential_role(name: &str) -> Result<CredentialRole, WorkspaceError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| WorkspaceError::UnknownRole { role: name.to_owned(), expected: "read, submit or admin" })
}

fn organization(host: &dyn Host, org_id: &str) -> Result<Organization, ModuleError> {
    Ok(state::organization(host, org_id)?
        .ok_or_else(|| WorkspaceError::UnknownOrganization { org_id: org_id.to_owned() })?)
}

/// The organization, if the caller is one of its admins.
fn as_admin(host: &dyn Host, org_id: &str) -> Result<Organization, ModuleError> {
    let org = organization(host, org_id)?;
    if org.members.get(host.predecessor()) != Some(&Role::Admin) {
        return Err(WorkspaceError::NotAdmin { caller: host.predecessor().clone(), org_id: org_id.to_owned() }.into());
    }
    Ok(org)
}

/// The organization, if the caller is one of its admins or operators.
fn as_operator(host: &dyn Host, org_id: &str) -> Result<Organization, ModuleError> {
    let org = organization(host, org_id)?;
    if !matches!(org.members.get(host.predecessor()), Some(Role::Admin | Role::Operator)) {
        let caller = host.predecessor().clone();
        return Err(WorkspaceError::NotAdminOrOperator { caller, org_id: org_id.to_owned() }.into());
    }
    Ok(org)
}

/// The organization whose nodes include validator `account_id`.
fn validator_owner(host: &dyn Host, account_id: &AccountId) -> Result<Option<Organization>, ModuleError> {
    for id in state::organization_ids(host)? {
        if let Some(org) = state::organization(host, &id)? {
            if org.validators.contains(account_id) {
                return Ok(Some(org));
            }
        }
    }
    Ok(None)
}

fn as_treasury(host: &dyn Host, config: &WorkspaceConfig, action: &'static str) -> Result<(), ModuleError> {
    if host.predecessor() != &config.treasury {
        let (treasury, caller) = (config.treasury.clone(), host.predecessor().clone());
        return Err(WorkspaceError::NotTreasury { treasury, caller, action }.into());
    }
    Ok(())
}

/// The organization's invitations still open: pending and not expired.
fn pending_for(host: &dyn Host, org_id: &str) -> Result<Vec<Invitation>, ModuleError> {
    let mut open = Vec::new();
    for id in state::pending_ids(host, org_id)? {
        if let Some(inv) = state::read::<Invitation>(host, &state::invitation_key(id), "invitation")? {
            if inv.status == InvitationStatus::Pending && host.block_height() <= inv.expires_at {
                open.push(inv);
            }
        }
    }
    Ok(open)
}

/// Whether `inv` is pending but past its expiry (views show it as `expired`).
fn is_expired(inv: &Invitation, height: u64) -> bool {
    inv.status == InvitationStatus::Pending && height > inv.expires_at
}

fn invite(
    host: &mut dyn Host,
    kind: InvitationKind,
    invitee: AccountId,
    blocks: Option<u64>,
) -> Result<Vec<u8>, ModuleError> {
    let id = state::next_invitation_id(host)?;
    let expires_at = host.block_height().saturating_add(blocks.unwrap_or(DEFAULT_INVITATION_BLOCKS));
    let invitation = Invitation {
        id,
        kind,
        inviter: host.predecessor().clone(),
        invitee,
        expires_at,
        status: InvitationStatus::Pending,
    };
    host.log(format!(
        "invitation {id} to {} (organization {}), open until block {expires_at}",
        invitation.invitee,
        invitation.kind.org_id()
    ));
    // The index keeps the open ones and this one: expired ones drop out here.
    let org_id = invitation.kind.org_id().to_owned();
    let mut ids: Vec<u64> = pending_for(host, &org_id)?.iter().map(|i| i.id).collect();
    ids.push(id);
    state::set_pending_ids(host, &org_id, &ids);
    state::write(host, &state::invitation_key(id), &invitation);
    crate::json_value(&id)
}

/// An invitation the caller may still act on as its invitee.
fn open_invitation(host: &dyn Host, id: u64) -> Result<Invitation, ModuleError> {
    let inv: Invitation =
        state::read(host, &state::invitation_key(id), "invitation")?.ok_or(WorkspaceError::UnknownInvitation { id })?;
    if inv.status != InvitationStatus::Pending {
        let status = match inv.status {
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Declined => "declined",
            InvitationStatus::Revoked => "revoked",
            InvitationStatus::Pending => "pending",
        };
        return Err(WorkspaceError::InvitationUsed { id, status }.into());
    }
    if host.block_height() > inv.expires_at {
        return Err(WorkspaceError::InvitationExpired { id, expires_at: inv.expires_at }.into());
    }
    Ok(inv)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteOrganizationArgs {
    org_id: String,
    name: String,
    admin: AccountId,
    expires_in_blocks: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InvitationArgs {
    invitation_id: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteUserArgs {
    org_id: String,
    account_id: AccountId,
    role: String,
    expires_in_blocks: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberArgs {
    org_id: String,
    account_id: AccountId,
    role: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgArgs {
    org_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialArgs {
    org_id: String,
    username: String,
    role: Option<String>,
    /// sha256 of the password, base58 (the CLI computes it locally).
    password_sha256: Option<CryptoHash>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidatorArgs {
    org_id: Option<String>,
    account_id: AccountId,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InvitationsQuery {
    account_id: Option<AccountId>,
    org_id: Option<String>,
}

impl Workspace {
    fn accept(host: &mut dyn Host, id: u64) -> Result<Vec<u8>, ModuleError> {
        let mut inv = open_invitation(host, id)?;
        if host.predecessor() != &inv.invitee {
            let caller = host.predecessor().clone();
            return Err(WorkspaceError::NotInvitee { id, invitee: inv.invitee, caller }.into());
        }
        let config = state::config(host)?;
        match &inv.kind {
            InvitationKind::Organization { org_id, name } => {
                if state::organization(host, org_id)?.is_some() {
                    return Err(WorkspaceError::OrganizationExists { org_id: org_id.clone() }.into());
                }
                let members = [(inv.invitee.clone(), Role::Admin)].into_iter().collect();
                let org = Organization {
                    id: org_id.clone(),
                    name: name.clone(),
                    members,
                    validators: Vec::new(),
                    joined_at: host.block_height(),
                };
                state::put_organization(host, &org)?;
            }
            InvitationKind::User { org_id, role } => {
                let mut org = organization(host, org_id)?;
                if org.members.contains_key(&inv.invitee) {
                    return Err(
                        WorkspaceError::AlreadyMember { account_id: inv.invitee, org_id: org_id.clone() }.into()
                    );
                }
                let limit = config.limits.max_users_per_organization;
                if org.members.len() >= limit as usize {
                    return Err(WorkspaceError::OverLimit { org_id: org_id.clone(), what: "users", limit }.into());
                }
                org.members.insert(inv.invitee.clone(), *role);
                state::put_organization(host, &org)?;
            }
        }
        inv.status = InvitationStatus::Accepted;
        Self::unlist(host, &inv)?;
        state::write(host, &state::invitation_key(id), &inv);
        host.log(format!("{} accepted invitation {id}", inv.invitee));
        crate::json_value(&true)
    }

    /// Drops a used invitation from its organization's pending index.
    fn unlist(host: &mut dyn Host, inv: &Invitation) -> Result<(), ModuleError> {
        let org_id = inv.kind.org_id();
        let ids: Vec<u64> = state::pending_ids(host, org_id)?.into_iter().filter(|i| *i != inv.id).collect();
        state::set_pending_ids(host, org_id, &ids);
        Ok(())
    }

    fn set_status(host: &mut dyn Host, mut inv: Invitation, status: InvitationStatus) -> Result<Vec<u8>, ModuleError> {
        inv.status = status;
        Self::unlist(host, &inv)?;
        state::write(host, &state::invitation_key(inv.id), &inv);
        crate::json_value(&true)
    }

    fn call_inner(host: &mut dyn Host, method: &str, args: &[u8]) -> Result<Vec<u8>, ModuleError> {
        let config = state::config(host)?;
        match method {
            "invite_organization" => {
                let a: InviteOrganizationArgs = crate::json_args(args)?;
                as_treasury(host, &config, "invite an organization")?;
                valid_id("organization id", &a.org_id)?;
                if state::organization(host, &a.org_id)?.is_some() || !pending_for(host, &a.org_id)?.is_empty() {
                    return Err(WorkspaceError::OrganizationExists { org_id: a.org_id }.into());
                }
                invite(
                    host,
                    InvitationKind::Organization { org_id: a.org_id, name: a.name },
                    a.admin,
                    a.expires_in_blocks,
                )
            }
            "accept_invitation" => Self::accept(host, crate::json_args::<InvitationArgs>(args)?.invitation_id),
            "decline_invitation" => {
                let id = crate::json_args::<InvitationArgs>(args)?.invitation_id;
                let inv = open_invitation(host, id)?;
                if host.predecessor() != &inv.invitee {
                    let caller = host.predecessor().clone();
                    return Err(WorkspaceError::NotInvitee { id, invitee: inv.invitee, caller }.into());
                }
                Self::set_status(host, inv, InvitationStatus::Declined)
            }
            "revoke_invitation" => {
                let id = crate::json_args::<InvitationArgs>(args)?.invitation_id;
                let inv = open_invitation(host, id)?;
                match &inv.kind {
                    InvitationKind::Organization { .. } => {
                        as_treasury(host, &config, "revoke an organization's invitation")?
                    }
                    InvitationKind::User { org_id, .. } => {
                        as_admin(host, org_id)?;
                    }
                }
                Self::set_status(host, inv, InvitationStatus::Revoked)
            }
            "invite_user" => {
                let a: InviteUserArgs = crate::json_args(args)?;
                let org = as_admin(host, &a.org_id)?;
                let role = role(&a.role)?;
                if org.members.contains_key(&a.account_id) {
                    return Err(WorkspaceError::AlreadyMember { account_id: a.account_id, org_id: a.org_id }.into());
                }
                let limit = config.limits.max_pending_invitations_per_organization;
                if pending_for(host, &a.org_id)?.len() >= limit as usize {
                    return Err(
                        WorkspaceError::OverLimit { org_id: a.org_id, what: "pending invitations", limit }.into()
                    );
                }
                invite(host, InvitationKind::User { org_id: a.org_id, role }, a.account_id, a.expires_in_blocks)
            }
            "set_role" | "remove_user" => {
                let a: MemberArgs = crate::json_args(args)?;
                let mut org = as_admin(host, &a.org_id)?;
                let Some(current) = org.members.get(&a.account_id).copied() else {
                    return Err(WorkspaceError::NotMember { account_id: a.account_id, org_id: a.org_id }.into());
                };
                let new = match (method, a.role.as_deref()) {
                    ("set_role", Some(r)) => Some(role(r)?),
                    ("set_role", None) => return Err(ModuleError::InvalidArgs("set_role needs `role`".into())),
                    _ => None,
                };
                if current == Role::Admin && new != Some(Role::Admin) && org.admins() == 1 {
                    return Err(WorkspaceError::LastAdmin { account_id: a.account_id, org_id: a.org_id }.into());
                }
                match new {
                    Some(r) => org.members.insert(a.account_id, r),
                    None => org.members.remove(&a.account_id),
                };
                state::put_organization(host, &org)?;
                crate::json_value(&true)
            }
            "remove_organization" => {
                let a: OrgArgs = crate::json_args(args)?;
                as_treasury(host, &config, "remove an organization")?;
                let org = organization(host, &a.org_id)?;
                let height = host.block_height();
                for mut c in state::credentials(host, &a.org_id)? {
                    if c.revoked_at.is_none() {
                        c.revoked_at = Some(height);
                        state::put_credential(host, &c)?;
                    }
                }
                for id in state::pending_ids(host, &a.org_id)? {
                    if let Some(inv) = state::read::<Invitation>(host, &state::invitation_key(id), "invitation")? {
                        Self::set_status(host, inv, InvitationStatus::Revoked)?;
                    }
                }
                state::remove_organization(host, &a.org_id)?;
                host.log(format!("organization {} removed: its users' roles and credentials end", a.org_id));
                crate::json_value(&org.validators)
            }
            "add_validator" => {
                let a: ValidatorArgs = crate::json_args(args)?;
                as_treasury(host, &config, "assign a validator to an organization")?;
                let org_id = a.org_id.ok_or_else(|| ModuleError::InvalidArgs("add_validator needs `org_id`".into()))?;
                let mut org = organization(host, &org_id)?;
                if let Some(owner) = validator_owner(host, &a.account_id)? {
                    return Err(WorkspaceError::ValidatorTaken { account_id: a.account_id, org_id: owner.id }.into());
                }
                org.validators.push(a.account_id);
                state::put_organization(host, &org)?;
                crate::json_value(&true)
            }
            "remove_validator" => {
                let a: ValidatorArgs = crate::json_args(args)?;
                as_treasury(host, &config, "remove a validator from its organization")?;
                let owner = validator_owner(host, &a.account_id)?;
                if let Some(mut org) = owner.clone() {
                    org.validators.retain(|v| v != &a.account_id);
                    state::put_organization(host, &org)?;
                }
                crate::json_value(&owner.map(|o| o.id))
            }
            "create_credential" => {
                let a: CredentialArgs = crate::json_args(args)?;
                as_operator(host, &a.org_id)?;
                valid_id("username", &a.username)?;
                let role = credential_role(a.role.as_deref().unwrap_or(""))?;
                let hash =
                    a.password_sha256.ok_or_else(|| ModuleError::InvalidArgs("missing `password_sha256`".into()))?;
                if let Some(owner) = state::credential_owner(host, &a.username)? {
                    return Err(WorkspaceError::CredentialExists { org_id: owner, username: a.username }.into());
                }
                let existing = state::credentials(host, &a.org_id)?;
                let limit = config.limits.max_credentials_per_organization;
                if existing.iter().filter(|c| c.revoked_at.is_none()).count() >= limit as usize {
                    return Err(WorkspaceError::OverLimit { org_id: a.org_id, what: "credentials", limit }.into());
                }
                let c = Credential {
                    org_id: a.org_id,
                    username: a.username,
                    role,
                    password_sha256: hash,
                    created_by: host.predecessor().clone(),
                    created_at: host.block_height(),
                    revoked_at: None,
                };
                state::put_credential(host, &c)?;
                crate::json_value(&c)
            }
            "revoke_credential" => {
                let a: CredentialArgs = crate::json_args(args)?;
                as_operator(host, &a.org_id)?;
                let key = state::credential_key(&a.org_id, &a.username);
                let mut c: Credential = state::read(host, &key, "credential")?
                    .filter(|c: &Credential| c.revoked_at.is_none())
                    .ok_or(WorkspaceError::UnknownCredential { org_id: a.org_id, username: a.username })?;
                c.revoked_at = Some(host.block_height());
                state::put_credential(host, &c)?;
                crate::json_value(&true)
            }
            other => Err(ModuleError::MethodNotFound { module: "workspace", method: other.into() }),
        }
    }
}

impl NativeModule for Workspace {
    fn name(&self) -> &'static str {
        "workspace"
    }

    fn call(&self, host: &mut dyn Host, method: &str, args: &[u8]) -> Result<Vec<u8>, ModuleError> {
        Self::call_inner(host, method, args)
    }

    fn view(&self, host: &dyn Host, method: &str, args: &[u8]) -> Result<Vec<u8>, ModuleError> {
        match method {
            "get_organizations" => {
                let mut orgs = Vec::new();
                for id in state::organization_ids(host)? {
                    orgs.extend(state::organization(host, &id)?);
                }
                crate::json_value(&orgs)
            }
            "get_organization" => crate::json_value(&organization(host, &crate::json_args::<OrgArgs>(args)?.org_id)?),
            "get_invitations" => {
                let q: InvitationsQuery = crate::json_args(args)?;
                let height = host.block_height();
                let mut list = Vec::new();
                for i in state::invitations(host)? {
                    if q.account_id.as_ref().is_none_or(|a| &i.invitee == a)
                        && q.org_id.as_deref().is_none_or(|o| i.kind.org_id() == o)
                    {
                        let mut shown = serde_json::to_value(&i).map_err(|e| ModuleError::Rejected(e.to_string()))?;
                        if is_expired(&i, height) {
                            shown["status"] = serde_json::json!("expired");
                        }
                        list.push(shown);
                    }
                }
                crate::json_value(&list)
            }
            "get_credentials" => {
                let org_id = crate::json_args::<OrgArgs>(args)?.org_id;
                organization(host, &org_id)?;
                crate::json_value(&state::credentials(host, &org_id)?)
            }
            "get_config" => crate::json_value(&state::config(host)?),
            other => Err(ModuleError::MethodNotFound { module: "workspace", method: other.into() }),
        }
    }
}
