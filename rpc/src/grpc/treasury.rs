//! Treasury requests over gRPC, read through the treasury module's own views
//! (`get_request`, `list_request_ids`) so both APIs show the same thing.

use serde::Deserialize;
use serde_json::Value;
use tonic::Status;

use super::{convert, proto};
use crate::{BlockRef, NodeApi};

/// A member as the views show it: `{"account_id"}` or `{"public_key"}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Member {
    Account { account_id: String },
    Key { public_key: String },
}

impl Member {
    fn shown(self) -> String {
        match self {
            Member::Account { account_id } => account_id,
            Member::Key { public_key } => public_key,
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum Outcome {
    Pending,
    Expired,
    Executed { height: u64, logs: Vec<String> },
    Failed { height: u64, error: String },
}

/// The `get_request` view's JSON.
#[derive(Deserialize)]
struct RequestJson {
    request_id: u32,
    receiver_id: String,
    actions: Value,
    hash: chain_types::CryptoHash,
    proposer: Member,
    added_at_height: u64,
    expires_after_height: u64,
    confirmations: Vec<Member>,
    outcome: Outcome,
}

fn to_proto(r: RequestJson) -> proto::TreasuryRequest {
    use proto::TreasuryRequestStatus as S;
    let (status, ran_at_height, logs, error) = match r.outcome {
        Outcome::Pending => (S::Pending, 0, Vec::new(), String::new()),
        Outcome::Expired => (S::Expired, 0, Vec::new(), String::new()),
        Outcome::Executed { height, logs } => (S::Executed, height, logs, String::new()),
        Outcome::Failed { height, error } => (S::Failed, height, Vec::new(), error),
    };
    proto::TreasuryRequest {
        request_id: r.request_id,
        receiver_id: r.receiver_id,
        actions_json: r.actions.to_string(),
        hash: r.hash.0.to_vec(),
        proposer: r.proposer.shown(),
        added_at_height: r.added_at_height,
        expires_after_height: r.expires_after_height,
        confirmations: r.confirmations.into_iter().map(Member::shown).collect(),
        status: status.into(),
        ran_at_height,
        logs,
        error,
    }
}

/// Runs a module's view on `account` and decodes its JSON result.
pub(super) fn module_view<N: NodeApi, T: serde::de::DeserializeOwned>(
    node: &N,
    account: &chain_types::AccountId,
    method: &str,
    args: &Value,
    at: BlockRef,
) -> Result<(T, chain_types::Block), Status> {
    use crate::module_views::ModuleViewError as E;
    crate::module_views::module_json(node, account, method, args, at).map_err(|e| match e {
        E::Node(e) => convert::node_error(e),
        E::View(e) => convert::view_error(e, account),
        E::Json(m) => Status::internal(m),
    })
}

/// Runs a treasury view.
fn view<N: NodeApi, T: serde::de::DeserializeOwned>(
    node: &N,
    method: &str,
    args: &Value,
    at: BlockRef,
) -> Result<(T, chain_types::Block), Status> {
    module_view(node, &node.protocol_config().treasury_account_id, method, args, at)
}

pub fn request<N: NodeApi>(node: &N, id: u32, at: BlockRef) -> Result<proto::TreasuryRequest, Status> {
    let (r, _) = view::<_, RequestJson>(node, "get_request", &serde_json::json!({ "request_id": id }), at)?;
    Ok(to_proto(r))
}

pub fn pending<N: NodeApi>(node: &N, at: BlockRef) -> Result<proto::TreasuryRequestList, Status> {
    let (ids, block) = view::<_, Vec<u32>>(node, "list_request_ids", &serde_json::json!({}), at)?;
    // Read every request at the same block as the list.
    let pinned = BlockRef::Height(block.header.height);
    let requests = ids.into_iter().map(|id| request(node, id, pinned)).collect::<Result<_, _>>()?;
    Ok(proto::TreasuryRequestList { requests, block: Some(convert::block_info(&block)) })
}
