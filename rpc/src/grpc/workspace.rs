//! The workspace over gRPC, read through the workspace module's own views
//! (`get_organizations`, `get_organization`, `get_invitations`, `get_credentials`) so both
//! APIs show the same thing.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};
use tonic::Status;

use super::treasury::module_view;
use super::{convert, proto};
use crate::{BlockRef, NodeApi};

#[derive(Deserialize)]
struct OrganizationJson {
    id: String,
    name: String,
    members: BTreeMap<String, String>,
    validators: Vec<String>,
    joined_at: u64,
}

impl From<OrganizationJson> for proto::Organization {
    fn from(o: OrganizationJson) -> Self {
        proto::Organization {
            id: o.id,
            name: o.name,
            members: o
                .members
                .into_iter()
                .map(|(account_id, role)| proto::OrganizationMember { account_id, role })
                .collect(),
            validators: o.validators,
            joined_at_height: o.joined_at,
        }
    }
}

#[derive(Deserialize)]
struct InvitationJson {
    id: u64,
    kind: String,
    org_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    inviter: String,
    invitee: String,
    expires_at: u64,
    status: String,
}

#[derive(Deserialize)]
struct CredentialJson {
    org_id: String,
    username: String,
    role: String,
    created_by: String,
    created_at: u64,
    revoked_at: Option<u64>,
}

fn view<N: NodeApi, T: serde::de::DeserializeOwned>(
    node: &N,
    method: &str,
    args: &Value,
    at: BlockRef,
) -> Result<(T, chain_types::Block), Status> {
    module_view(node, &node.protocol_config().workspace_account_id, method, args, at)
}

pub fn organizations<N: NodeApi>(node: &N, at: BlockRef) -> Result<proto::OrganizationList, Status> {
    let (orgs, block) = view::<_, Vec<OrganizationJson>>(node, "get_organizations", &json!({}), at)?;
    Ok(proto::OrganizationList {
        organizations: orgs.into_iter().map(Into::into).collect(),
        block: Some(convert::block_info(&block)),
    })
}

pub fn organization<N: NodeApi>(node: &N, org_id: &str, at: BlockRef) -> Result<proto::Organization, Status> {
    let (org, _) = view::<_, OrganizationJson>(node, "get_organization", &json!({ "org_id": org_id }), at)?;
    Ok(org.into())
}

pub fn invitations<N: NodeApi>(
    node: &N,
    account_id: &str,
    org_id: &str,
    at: BlockRef,
) -> Result<proto::InvitationList, Status> {
    let mut filter = json!({});
    if !account_id.is_empty() {
        filter["account_id"] = json!(account_id);
    }
    if !org_id.is_empty() {
        filter["org_id"] = json!(org_id);
    }
    let (list, block) = view::<_, Vec<InvitationJson>>(node, "get_invitations", &filter, at)?;
    let invitations = list
        .into_iter()
        .map(|i| proto::Invitation {
            id: i.id,
            kind: i.kind,
            org_id: i.org_id,
            name: i.name,
            role: i.role,
            inviter: i.inviter,
            invitee: i.invitee,
            expires_at_height: i.expires_at,
            status: i.status,
        })
        .collect();
    Ok(proto::InvitationList { invitations, block: Some(convert::block_info(&block)) })
}

pub fn credentials<N: NodeApi>(node: &N, org_id: &str, at: BlockRef) -> Result<proto::CredentialList, Status> {
    let (list, block) = view::<_, Vec<CredentialJson>>(node, "get_credentials", &json!({ "org_id": org_id }), at)?;
    let credentials = list
        .into_iter()
        .map(|c| proto::Credential {
            org_id: c.org_id,
            username: c.username,
            role: c.role,
            created_by: c.created_by,
            created_at_height: c.created_at,
            revoked_at_height: c.revoked_at,
        })
        .collect();
    Ok(proto::CredentialList { credentials, block: Some(convert::block_info(&block)) })
}
