//! The `chain.v1.Node` service over a [`NodeApi`].

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};

use super::streams::{self, Subscription};
use super::subscriptions::{self, Subscriptions};
use super::{convert, proto, treasury, workspace};
use crate::api::{outcome_or_wait, submit_and_wait, SendError};
use crate::NodeApi;

#[derive(Debug)]
pub struct NodeService<N> {
    node: Arc<N>,
    tx_timeout: Duration,
    subscriptions: Arc<Subscriptions>,
}

impl<N: NodeApi> NodeService<N> {
    pub fn new(node: Arc<N>, tx_timeout: Duration, subscriptions: Arc<Subscriptions>) -> Self {
        NodeService { node, tx_timeout, subscriptions }
    }

    /// A slot for a subscription from `from` by whoever sent `req`, or why not.
    fn subscribe<T>(&self, req: &Request<T>, from: Option<u64>) -> Result<subscriptions::Slot, Status> {
        let head = *self.node.subscribe_head().borrow();
        self.subscriptions.check_start(from, head)?;
        self.subscriptions.open(subscriptions::holder(req))
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl<N: NodeApi> proto::node_server::Node for NodeService<N> {
    async fn status(&self, _: Request<proto::StatusRequest>) -> Reply<proto::StatusResponse> {
        let s = self.node.status().map_err(convert::node_error)?;
        Ok(Response::new(proto::StatusResponse {
            chain_id: s.chain_id,
            genesis_hash: s.genesis_hash.0.to_vec(),
            head: Some(convert::block_info(&s.head)),
            head_timestamp_ms: s.head.header.timestamp_ms,
            validators: s.validators.iter().map(ToString::to_string).collect(),
            validator_account_id: s.validator_account_id.map(|a| a.to_string()).unwrap_or_default(),
            validator_public_key: s.validator_public_key.map(|k| k.to_string()).unwrap_or_default(),
            syncing: s.syncing,
            protocol_version: crate::methods::PROTOCOL_VERSION,
        }))
    }

    async fn view_account(&self, req: Request<proto::ViewAccountRequest>) -> Reply<proto::AccountView> {
        let req = req.into_inner();
        let id = convert::account_id(&req.account_id)?;
        let (account, at) = self.node.account(&id, convert::block_ref(req.block)?).map_err(convert::node_error)?;
        let a = account.ok_or_else(|| convert::unknown_account(&id, &at))?;
        Ok(Response::new(proto::AccountView {
            amount: a.amount.to_string(),
            locked: a.locked.to_string(),
            storage_usage: a.storage_usage,
            block: Some(convert::block_info(&at)),
        }))
    }

    async fn view_access_key(&self, req: Request<proto::ViewAccessKeyRequest>) -> Reply<proto::AccessKeyView> {
        let req = req.into_inner();
        let (id, pk) = (convert::account_id(&req.account_id)?, convert::public_key(&req.public_key)?);
        let (key, at) = self.node.access_key(&id, &pk, convert::block_ref(req.block)?).map_err(convert::node_error)?;
        let key = key.ok_or_else(|| {
            Status::not_found(format!("access key {pk} of {id} does not exist at block {}", at.header.height))
        })?;
        Ok(Response::new(convert::access_key(&pk, &key, Some(&at))))
    }

    async fn view_access_key_list(&self, req: Request<proto::ViewAccountRequest>) -> Reply<proto::AccessKeyList> {
        let req = req.into_inner();
        let id = convert::account_id(&req.account_id)?;
        let (keys, at) = self.node.access_keys(&id, convert::block_ref(req.block)?).map_err(convert::node_error)?;
        Ok(Response::new(proto::AccessKeyList {
            keys: keys.iter().map(|(pk, k)| convert::access_key(pk, k, None)).collect(),
            block: Some(convert::block_info(&at)),
        }))
    }

    async fn call_view(&self, req: Request<proto::CallViewRequest>) -> Reply<proto::CallViewResponse> {
        let req = req.into_inner();
        let id = convert::account_id(&req.account_id)?;
        let (result, at) = self
            .node
            .call_view(&id, &req.method_name, &req.args, convert::block_ref(req.block)?)
            .map_err(convert::node_error)?;
        let result = result.map_err(|e| convert::view_error(e, &id))?;
        Ok(Response::new(proto::CallViewResponse { result, block: Some(convert::block_info(&at)) }))
    }

    async fn get_block(&self, req: Request<proto::GetBlockRequest>) -> Reply<proto::BlockView> {
        let b = self.node.block(convert::block_ref(req.into_inner().block)?).map_err(convert::node_error)?;
        let approvals = self.node.approvals(b.header.height).map_err(convert::node_error)?;
        Ok(Response::new(convert::block(&b, &approvals)))
    }

    async fn submit_transaction(
        &self,
        req: Request<proto::SubmitTransactionRequest>,
    ) -> Reply<proto::SubmitTransactionResponse> {
        let req = req.into_inner();
        let wait = convert::wait_until(req.wait_until)?;
        let tx: chain_types::SignedTransaction = borsh::from_slice(&req.signed_transaction).map_err(|e| {
            Status::invalid_argument(format!("signed_transaction is not a borsh SignedTransaction: {e}"))
        })?;
        let hash = tx.hash();
        let found = match submit_and_wait(self.node.as_ref(), tx, wait, self.tx_timeout).await {
            Ok(found) => found,
            Err(SendError::Submit(e)) => return Err(convert::submit_error(e)),
            Err(SendError::Node(e)) => return Err(convert::node_error(e)),
            Err(SendError::Timeout) => {
                return Err(Status::deadline_exceeded(format!(
                    "transaction {hash} was accepted but no outcome arrived within {:?}",
                    self.tx_timeout
                )))
            }
        };
        if let Some((o, _)) = &found {
            if let chain_types::ExecutionStatus::Failure(e @ chain_types::TxExecutionError::InvalidTxError(_)) =
                &o.status
            {
                return Err(convert::invalid_tx(e.clone()));
            }
        }
        Ok(Response::new(proto::SubmitTransactionResponse {
            transaction_hash: hash.0.to_vec(),
            outcome: found.map(|(o, _)| convert::outcome(&o)),
        }))
    }

    async fn get_transaction(&self, req: Request<proto::GetTransactionRequest>) -> Reply<proto::TransactionOutcome> {
        let req = req.into_inner();
        let hash = convert::hash(&req.transaction_hash, "transaction_hash")?;
        let wait = convert::wait_until(req.wait_until)?;
        let found =
            outcome_or_wait(self.node.as_ref(), hash, wait, self.tx_timeout).await.map_err(convert::node_error)?;
        let (o, _) = found.ok_or_else(|| Status::not_found(format!("transaction {hash} is not known")))?;
        Ok(Response::new(convert::outcome(&o)))
    }

    async fn get_validators(&self, req: Request<proto::GetBlockRequest>) -> Reply<proto::ValidatorsView> {
        let at = convert::block_ref(req.into_inner().block)?;
        let (v, b) = self.node.validators(at).map_err(convert::node_error)?;
        Ok(Response::new(convert::validators(&v, &b)))
    }

    async fn get_treasury_request(
        &self,
        req: Request<proto::GetTreasuryRequestRequest>,
    ) -> Reply<proto::TreasuryRequest> {
        let req = req.into_inner();
        Ok(Response::new(treasury::request(self.node.as_ref(), req.request_id, convert::block_ref(req.block)?)?))
    }

    async fn list_treasury_requests(&self, req: Request<proto::GetBlockRequest>) -> Reply<proto::TreasuryRequestList> {
        let at = convert::block_ref(req.into_inner().block)?;
        Ok(Response::new(treasury::pending(self.node.as_ref(), at)?))
    }

    async fn list_organizations(&self, req: Request<proto::GetBlockRequest>) -> Reply<proto::OrganizationList> {
        let at = convert::block_ref(req.into_inner().block)?;
        Ok(Response::new(workspace::organizations(self.node.as_ref(), at)?))
    }

    async fn get_organization(&self, req: Request<proto::GetOrganizationRequest>) -> Reply<proto::Organization> {
        let req = req.into_inner();
        Ok(Response::new(workspace::organization(self.node.as_ref(), &req.org_id, convert::block_ref(req.block)?)?))
    }

    async fn list_invitations(&self, req: Request<proto::ListInvitationsRequest>) -> Reply<proto::InvitationList> {
        let req = req.into_inner();
        let at = convert::block_ref(req.block)?;
        Ok(Response::new(workspace::invitations(self.node.as_ref(), &req.account_id, &req.org_id, at)?))
    }

    async fn list_credentials(&self, req: Request<proto::GetOrganizationRequest>) -> Reply<proto::CredentialList> {
        let req = req.into_inner();
        Ok(Response::new(workspace::credentials(self.node.as_ref(), &req.org_id, convert::block_ref(req.block)?)?))
    }

    type SubscribeBlocksStream = Subscription<proto::BlockView>;

    async fn subscribe_blocks(
        &self,
        req: Request<proto::SubscribeBlocksRequest>,
    ) -> Reply<Self::SubscribeBlocksStream> {
        let from = req.get_ref().from_height;
        let slot = self.subscribe(&req, from)?;
        Ok(Response::new(streams::blocks(self.node.clone(), slot, from)))
    }

    type SubscribeOutcomesStream = Subscription<proto::TransactionOutcome>;

    async fn subscribe_outcomes(
        &self,
        req: Request<proto::SubscribeOutcomesRequest>,
    ) -> Reply<Self::SubscribeOutcomesStream> {
        let body = req.get_ref();
        if body.accounts.is_empty() {
            return Err(Status::invalid_argument("name at least one account to follow"));
        }
        let accounts = body.accounts.iter().map(|a| convert::account_id(a)).collect::<Result<_, _>>()?;
        let from = body.from_height;
        let slot = self.subscribe(&req, from)?;
        Ok(Response::new(streams::outcomes(self.node.clone(), slot, accounts, from)))
    }
}
