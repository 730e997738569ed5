//! The workspace module's refusals. Each reaches clients as the FunctionCallError message
//! `<Name>: <detail>` (near-api-js raises it as a `ContractExecutionError` carrying that
//! message), so the name is what a client matches on.

use chain_types::{AccountId, BlockHeight};

use crate::ModuleError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkspaceError {
    #[error("NotTreasury: only the treasury {treasury} may {action}, not {caller}")]
    NotTreasury { treasury: AccountId, caller: AccountId, action: &'static str },
    #[error("NotAdmin: {caller} is not an admin of organization {org_id}")]
    NotAdmin { caller: AccountId, org_id: String },
    #[error("NotAdminOrOperator: {caller} is neither an admin nor an operator of organization {org_id}")]
    NotAdminOrOperator { caller: AccountId, org_id: String },
    #[error("UnknownRole: `{role}` is not a role; use {expected}")]
    UnknownRole { role: String, expected: &'static str },
    #[error("UnknownOrganization: there is no organization {org_id}")]
    UnknownOrganization { org_id: String },
    #[error("OrganizationExists: organization {org_id} already exists or is already invited")]
    OrganizationExists { org_id: String },
    #[error("InvalidId: {what} `{value}` must be 1 to 32 characters of a-z, 0-9, `-` and `_`")]
    InvalidId { what: &'static str, value: String },
    #[error("UnknownInvitation: there is no invitation {id}")]
    UnknownInvitation { id: u64 },
    #[error("NotInvitee: invitation {id} is for {invitee}, not {caller}")]
    NotInvitee { id: u64, invitee: AccountId, caller: AccountId },
    #[error("InvitationExpired: invitation {id} expired after block {expires_at}")]
    InvitationExpired { id: u64, expires_at: BlockHeight },
    #[error("InvitationUsed: invitation {id} is already {status}")]
    InvitationUsed { id: u64, status: &'static str },
    #[error("AlreadyMember: {account_id} is already a member of organization {org_id}")]
    AlreadyMember { account_id: AccountId, org_id: String },
    #[error("NotMember: {account_id} is not a member of organization {org_id}")]
    NotMember { account_id: AccountId, org_id: String },
    #[error("LastAdmin: {account_id} is the last admin of organization {org_id}")]
    LastAdmin { account_id: AccountId, org_id: String },
    #[error("OverLimit: organization {org_id} has reached its limit of {limit} {what}")]
    OverLimit { org_id: String, what: &'static str, limit: u32 },
    #[error("CredentialExists: credential username {username} is taken (by organization {org_id}); usernames are unique in the workspace")]
    CredentialExists { org_id: String, username: String },
    #[error("ValidatorTaken: validator {account_id} already belongs to organization {org_id}")]
    ValidatorTaken { account_id: AccountId, org_id: String },
    #[error("UnknownCredential: organization {org_id} has no active credential {username}")]
    UnknownCredential { org_id: String, username: String },
}

impl From<WorkspaceError> for ModuleError {
    fn from(e: WorkspaceError) -> Self {
        ModuleError::Rejected(e.to_string())
    }
}
