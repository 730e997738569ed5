//! Between the node's types and the protobuf messages, and from node errors to gRPC
//! statuses.

use chain_types::{
    AccessKey, AccessKeyPermission, AccountId, Block, CryptoHash, ExecutionOutcome, ExecutionStatus, PublicKey,
    Signature, TxExecutionError,
};
use tonic::{Code, Status};

use super::proto;
use crate::{BlockRef, Finality, NodeError, SubmitError, ValidatorsView, ViewCallError, WaitUntil};

pub fn block_info(b: &Block) -> proto::BlockInfo {
    proto::BlockInfo { height: b.header.height, hash: b.hash().0.to_vec() }
}

pub fn block_ref(r: Option<proto::BlockRef>) -> Result<BlockRef, Status> {
    use proto::block_ref::Ref;
    Ok(match r.and_then(|r| r.r#ref) {
        None => BlockRef::Finality(Finality::Final),
        Some(Ref::Finality(f)) => match proto::Finality::try_from(f) {
            Ok(proto::Finality::Final) => BlockRef::Finality(Finality::Final),
            Ok(proto::Finality::Optimistic) => BlockRef::Finality(Finality::Optimistic),
            Err(_) => return Err(Status::invalid_argument(format!("unknown finality {f}"))),
        },
        Some(Ref::Height(h)) => BlockRef::Height(h),
        Some(Ref::Hash(h)) => BlockRef::Hash(hash(&h, "block hash")?),
    })
}

pub fn hash(bytes: &[u8], what: &str) -> Result<CryptoHash, Status> {
    <[u8; 32]>::try_from(bytes)
        .map(CryptoHash)
        .map_err(|_| Status::invalid_argument(format!("{what} must be 32 bytes, got {}", bytes.len())))
}

pub fn account_id(s: &str) -> Result<AccountId, Status> {
    s.parse().map_err(|e| Status::invalid_argument(format!("account id `{s}`: {e}")))
}

pub fn public_key(s: &str) -> Result<PublicKey, Status> {
    s.parse().map_err(|e| Status::invalid_argument(format!("public key `{s}`: {e}")))
}

pub fn wait_until(w: i32) -> Result<WaitUntil, Status> {
    use proto::WaitUntil as W;
    Ok(match W::try_from(w).map_err(|_| Status::invalid_argument(format!("unknown wait_until {w}")))? {
        W::Final => WaitUntil::Final,
        W::None => WaitUntil::None,
        W::Included => WaitUntil::Included,
        W::ExecutedOptimistic => WaitUntil::ExecutedOptimistic,
        W::IncludedFinal => WaitUntil::IncludedFinal,
        W::Executed => WaitUntil::Executed,
    })
}

pub fn access_key(pk: &PublicKey, k: &AccessKey, at: Option<&Block>) -> proto::AccessKeyView {
    use proto::access_key_view::Permission;
    let permission = match &k.permission {
        AccessKeyPermission::FullAccess => Permission::FullAccess(true),
        AccessKeyPermission::FunctionCall(f) => Permission::FunctionCall(proto::FunctionCallPermission {
            allowance: f.allowance.map(|a| a.to_string()),
            receiver_id: f.receiver_id.to_string(),
            method_names: f.method_names.clone(),
        }),
    };
    proto::AccessKeyView {
        public_key: pk.to_string(),
        nonce: k.nonce,
        permission: Some(permission),
        block: at.map(block_info),
    }
}

pub fn block(b: &Block, approvals: &[Option<Signature>]) -> proto::BlockView {
    let h = &b.header;
    proto::BlockView {
        height: h.height,
        hash: b.hash().0.to_vec(),
        prev_hash: h.prev_hash.0.to_vec(),
        timestamp_ms: h.timestamp_ms,
        proposer: h.proposer.to_string(),
        tx_root: h.tx_root.0.to_vec(),
        prev_state_root: h.prev_state_root.0.to_vec(),
        transactions: b.transactions.iter().map(chain_types::to_borsh).collect(),
        transaction_hashes: b.transactions.iter().map(|t| t.hash().0.to_vec()).collect(),
        approvals: approvals.iter().map(|s| s.map(|s| s.0.to_vec()).unwrap_or_default()).collect(),
    }
}

/// The NEAR error kind: the innermost variant name of the error's JSON form
/// (`{"ActionError":{"index":0,"kind":{"AccountDoesNotExist":{..}}}}` → `AccountDoesNotExist`).
fn error_kind(v: &serde_json::Value) -> String {
    use serde_json::Value;
    let (mut v, mut kind) = (v, String::new());
    loop {
        match v {
            Value::String(unit) => return unit.clone(),
            Value::Object(map) => {
                if let Some(k) = map.get("kind") {
                    v = k;
                    continue;
                }
                match map.iter().next() {
                    Some((name, inner)) if map.len() == 1 && name.starts_with(|c: char| c.is_ascii_uppercase()) => {
                        kind.clone_from(name);
                        v = inner;
                    }
                    _ => return kind,
                }
            }
            _ => return kind,
        }
    }
}

pub fn failure(e: &TxExecutionError) -> proto::TransactionFailure {
    let json = serde_json::to_value(e).unwrap_or_default();
    proto::TransactionFailure { kind: error_kind(&json), detail_json: json.to_string() }
}

pub fn outcome(o: &ExecutionOutcome) -> proto::TransactionOutcome {
    use proto::transaction_outcome::Status as S;
    proto::TransactionOutcome {
        transaction_hash: o.tx_hash.0.to_vec(),
        signer_id: o.signer_id.to_string(),
        receiver_id: o.receiver_id.to_string(),
        block: Some(proto::BlockInfo { height: o.block_height, hash: o.block_hash.0.to_vec() }),
        status: Some(match &o.status {
            ExecutionStatus::SuccessValue(v) => S::SuccessValue(v.clone()),
            ExecutionStatus::Failure(e) => S::Failure(failure(e)),
        }),
        logs: o.logs.clone(),
    }
}

pub fn validators(v: &ValidatorsView, at: &Block) -> proto::ValidatorsView {
    let list = |set: &[crate::ValidatorView]| {
        set.iter()
            .map(|v| proto::ValidatorView {
                account_id: v.account_id.to_string(),
                public_key: v.public_key.to_string(),
                stake: v.stake.to_string(),
            })
            .collect()
    };
    proto::ValidatorsView {
        current: list(&v.current),
        next: list(&v.next),
        epoch_start_height: v.epoch_start_height,
        epoch_height: v.epoch_height,
        block: Some(block_info(at)),
    }
}

pub fn node_error(e: NodeError) -> Status {
    match e {
        NodeError::UnknownBlock(b) => Status::not_found(format!("block {b} is not known")),
        e @ NodeError::NotYetProvable(_) => Status::failed_precondition(e.to_string()),
        NodeError::Internal(m) => Status::internal(m),
    }
}

/// An invalid transaction carries NEAR's JSON error (`{"InvalidTxError": ...}`) as the
/// status details, so clients can read `InvalidNonce {tx_nonce, ak_nonce}` and retry.
pub fn submit_error(e: SubmitError) -> Status {
    match e {
        SubmitError::Invalid(e) => invalid_tx(TxExecutionError::InvalidTxError(e)),
        e @ SubmitError::MempoolFull { .. } => Status::resource_exhausted(e.to_string()),
        SubmitError::Node(e) => node_error(e),
    }
}

pub fn invalid_tx(e: TxExecutionError) -> Status {
    let f = failure(&e);
    Status::with_details(
        Code::InvalidArgument,
        format!("invalid transaction: {}", f.kind),
        f.detail_json.into_bytes().into(),
    )
}

pub fn view_error(e: ViewCallError, id: &AccountId) -> Status {
    match e {
        ViewCallError::UnknownAccount => Status::not_found(format!("account {id} does not exist")),
        ViewCallError::NoModule => Status::failed_precondition(format!("account {id} runs no module")),
        ViewCallError::Failed(m) => Status::failed_precondition(format!("view failed: {m}")),
    }
}

pub fn unknown_account(id: &AccountId, at: &Block) -> Status {
    Status::not_found(format!("account {id} does not exist at block {}", at.header.height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_types::{ActionError, ActionErrorKind, InvalidTxError};

    #[test]
    fn error_kinds_name_the_innermost_variant() {
        let nonce = TxExecutionError::InvalidTxError(InvalidTxError::InvalidNonce { tx_nonce: 1, ak_nonce: 5 });
        assert_eq!(failure(&nonce).kind, "InvalidNonce");
        let missing = TxExecutionError::ActionError(ActionError {
            index: 0,
            kind: ActionErrorKind::AccountDoesNotExist { account_id: "bob.test".parse().unwrap() },
        });
        let f = failure(&missing);
        assert_eq!(f.kind, "AccountDoesNotExist");
        assert!(f.detail_json.contains("bob.test"), "{}", f.detail_json);
    }
}
