//! The workspace module's records and where they are stored (borsh, under the module's
//! account): `config`, `orgs` (the organization ids), `org/<id>`, `inv/<id u64 BE>`,
//! `next_invitation`, `cred/<org id>/<username>`, `creds/<org id>` (its usernames) and
//! `credowner/<username>` (the organization a username belongs to: usernames are unique
//! across the workspace, so a node can tell another membership's credential from an unknown
//! one) and `pending/<org id>` (the ids of its invitations not yet used, pruned of expired
//! ones whenever one is added, so no block reads every invitation ever made).

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::{AccountId, BlockHeight, CryptoHash};
use serde::{Deserialize, Serialize};

use crate::{Host, ModuleError};

/// A member's permission level in an organization.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Invites and removes users, sets roles, manages credentials.
    Admin,
    /// Manages credentials and the organization's nodes.
    Operator,
    Member,
    /// Reads only.
    Viewer,
}

/// What a credential lets its holder do on the membership's nodes (the RPC's roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialRole {
    Read,
    Submit,
    Admin,
}

/// Per-organization limits (genesis parameters).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceLimits {
    #[serde(default = "defaults::users")]
    pub max_users_per_organization: u32,
    #[serde(default = "defaults::credentials")]
    pub max_credentials_per_organization: u32,
    #[serde(default = "defaults::invitations")]
    pub max_pending_invitations_per_organization: u32,
    /// Requests per second an organization's credentials may make together on one node.
    #[serde(default = "defaults::requests")]
    pub requests_per_sec_per_node: u32,
    /// Connections an organization's credentials may hold open on one node.
    #[serde(default = "defaults::connections")]
    pub max_connections_per_node: u32,
}

mod defaults {
    pub fn users() -> u32 {
        100
    }
    pub fn credentials() -> u32 {
        50
    }
    pub fn invitations() -> u32 {
        50
    }
    pub fn requests() -> u32 {
        200
    }
    pub fn connections() -> u32 {
        64
    }
}

impl Default for WorkspaceLimits {
    fn default() -> Self {
        WorkspaceLimits {
            max_users_per_organization: defaults::users(),
            max_credentials_per_organization: defaults::credentials(),
            max_pending_invitations_per_organization: defaults::invitations(),
            requests_per_sec_per_node: defaults::requests(),
            max_connections_per_node: defaults::connections(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct WorkspaceConfig {
    /// The only caller that may invite or remove organizations.
    pub treasury: AccountId,
    pub limits: WorkspaceLimits,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub members: BTreeMap<AccountId, Role>,
    /// The validator accounts of its nodes (genesis validators by their `organization`, later
    /// ones by the treasury's `AddValidator`).
    pub validators: Vec<AccountId>,
    /// Height it joined (0 for genesis organizations).
    pub joined_at: BlockHeight,
}

impl Organization {
    pub fn admins(&self) -> usize {
        self.members.values().filter(|r| **r == Role::Admin).count()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InvitationKind {
    /// To join the chain as a new organization, its admin being the invitee.
    Organization { org_id: String, name: String },
    /// To join an organization with a role.
    User { org_id: String, role: Role },
}

impl InvitationKind {
    pub fn org_id(&self) -> &str {
        match self {
            InvitationKind::Organization { org_id, .. } | InvitationKind::User { org_id, .. } => org_id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Invitation {
    pub id: u64,
    #[serde(flatten)]
    pub kind: InvitationKind,
    pub inviter: AccountId,
    pub invitee: AccountId,
    /// Last height at which it may be accepted.
    pub expires_at: BlockHeight,
    pub status: InvitationStatus,
}

/// A credential's metadata: the password itself never reaches the chain, only its sha256.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Credential {
    pub org_id: String,
    pub username: String,
    pub role: CredentialRole,
    #[serde(skip)]
    pub password_sha256: CryptoHash,
    pub created_by: AccountId,
    pub created_at: BlockHeight,
    pub revoked_at: Option<BlockHeight>,
}

pub const CONFIG_KEY: &[u8] = b"config";
pub const ORG_INDEX_KEY: &[u8] = b"orgs";
const NEXT_INVITATION_KEY: &[u8] = b"next_invitation";

pub fn org_key(id: &str) -> Vec<u8> {
    [b"org/".as_slice(), id.as_bytes()].concat()
}

pub fn invitation_key(id: u64) -> Vec<u8> {
    [b"inv/".as_slice(), &id.to_be_bytes()].concat()
}

/// Where a credential is kept: `cred/<org id>/<username>`. A node reads it by its own
/// membership and the username a client presents.
pub fn credential_key(org_id: &str, username: &str) -> Vec<u8> {
    [b"cred/".as_slice(), org_id.as_bytes(), b"/", username.as_bytes()].concat()
}

fn credential_index_key(org_id: &str) -> Vec<u8> {
    [b"creds/".as_slice(), org_id.as_bytes()].concat()
}

/// Where the organization owning a username is kept.
pub fn credential_owner_key(username: &str) -> Vec<u8> {
    [b"credowner/".as_slice(), username.as_bytes()].concat()
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> ModuleError {
    ModuleError::Rejected(format!("corrupt workspace {what}: {e}"))
}

pub fn read<T: BorshDeserialize>(host: &dyn Host, key: &[u8], what: &str) -> Result<Option<T>, ModuleError> {
    host.storage_read(key).map(|b| borsh::from_slice(&b).map_err(|e| corrupt(what, e))).transpose()
}

pub fn write<T: BorshSerialize>(host: &mut dyn Host, key: &[u8], value: &T) {
    host.storage_write(key, &chain_types::to_borsh(value));
}

pub fn config(host: &dyn Host) -> Result<WorkspaceConfig, ModuleError> {
    read(host, CONFIG_KEY, "config")?.ok_or_else(|| corrupt("config", "missing"))
}

/// Takes the next invitation id.
pub fn next_invitation_id(host: &mut dyn Host) -> Result<u64, ModuleError> {
    let id: u64 = read(host, NEXT_INVITATION_KEY, "invitation counter")?.unwrap_or(0);
    write(host, NEXT_INVITATION_KEY, &(id + 1));
    Ok(id)
}

fn pending_index_key(org_id: &str) -> Vec<u8> {
    [b"pending/".as_slice(), org_id.as_bytes()].concat()
}

/// The ids in an organization's pending index.
pub fn pending_ids(host: &dyn Host, org_id: &str) -> Result<Vec<u64>, ModuleError> {
    Ok(read(host, &pending_index_key(org_id), "pending invitation index")?.unwrap_or_default())
}

pub fn set_pending_ids(host: &mut dyn Host, org_id: &str, ids: &[u64]) {
    if ids.is_empty() {
        host.storage_remove(&pending_index_key(org_id));
    } else {
        write(host, &pending_index_key(org_id), &ids.to_vec());
    }
}

/// Every invitation made so far, in id order (views only: blocks use the pending index).
pub fn invitations(host: &dyn Host) -> Result<Vec<Invitation>, ModuleError> {
    let n: u64 = read(host, NEXT_INVITATION_KEY, "invitation counter")?.unwrap_or(0);
    (0..n).filter_map(|id| read::<Invitation>(host, &invitation_key(id), "invitation").transpose()).collect()
}

/// The organization ids, in the order they joined.
pub fn organization_ids(host: &dyn Host) -> Result<Vec<String>, ModuleError> {
    Ok(read(host, ORG_INDEX_KEY, "organization index")?.unwrap_or_default())
}

pub fn organization(host: &dyn Host, id: &str) -> Result<Option<Organization>, ModuleError> {
    read(host, &org_key(id), "organization")
}

/// Stores an organization (and lists it, if new).
pub fn put_organization(host: &mut dyn Host, org: &Organization) -> Result<(), ModuleError> {
    let mut ids = organization_ids(host)?;
    if !ids.contains(&org.id) {
        ids.push(org.id.clone());
        write(host, ORG_INDEX_KEY, &ids);
    }
    write(host, &org_key(&org.id), org);
    Ok(())
}

/// Deletes an organization and its listing.
pub fn remove_organization(host: &mut dyn Host, id: &str) -> Result<(), ModuleError> {
    let ids: Vec<String> = organization_ids(host)?.into_iter().filter(|i| i != id).collect();
    write(host, ORG_INDEX_KEY, &ids);
    host.storage_remove(&org_key(id));
    Ok(())
}

/// An organization's credentials (revoked ones included), in creation order.
pub fn credentials(host: &dyn Host, org_id: &str) -> Result<Vec<Credential>, ModuleError> {
    let names: Vec<String> = read(host, &credential_index_key(org_id), "credential index")?.unwrap_or_default();
    names
        .iter()
        .filter_map(|u| read::<Credential>(host, &credential_key(org_id, u), "credential").transpose())
        .collect()
}

/// The organization a credential username belongs to, if any has it (revoked included).
pub fn credential_owner(host: &dyn Host, username: &str) -> Result<Option<String>, ModuleError> {
    read(host, &credential_owner_key(username), "credential owner")
}

/// The credential a client presents by `username`, whichever organization holds it: what a
/// node reads on each request.
pub fn credential_by_username(host: &dyn Host, username: &str) -> Result<Option<Credential>, ModuleError> {
    match credential_owner(host, username)? {
        Some(org_id) => read(host, &credential_key(&org_id, username), "credential"),
        None => Ok(None),
    }
}

/// Stores a credential (and lists it, if new).
pub fn put_credential(host: &mut dyn Host, c: &Credential) -> Result<(), ModuleError> {
    let index = credential_index_key(&c.org_id);
    let mut names: Vec<String> = read(host, &index, "credential index")?.unwrap_or_default();
    if !names.contains(&c.username) {
        names.push(c.username.clone());
        write(host, &index, &names);
        write(host, &credential_owner_key(&c.username), &c.org_id);
    }
    write(host, &credential_key(&c.org_id, &c.username), c);
    Ok(())
}

/// The state a genesis writes: the config and the genesis organizations.
pub fn initial_state(config: &WorkspaceConfig, organizations: &[Organization]) -> crate::StorageEntries {
    let ids: Vec<String> = organizations.iter().map(|o| o.id.clone()).collect();
    let mut out = vec![
        (CONFIG_KEY.to_vec(), chain_types::to_borsh(config)),
        (ORG_INDEX_KEY.to_vec(), chain_types::to_borsh(&ids)),
    ];
    for org in organizations {
        out.push((org_key(&org.id), chain_types::to_borsh(org)));
    }
    out
}
