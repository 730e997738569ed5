//! Why a transaction was rejected or failed, in NEAR's error shapes. The serde (externally
//! tagged) form is what JSON-RPC clients parse, e.g.
//! `{"InvalidTxError":{"InvalidNonce":{"tx_nonce":5,"ak_nonce":7}}}`.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::views::u128_string;
use crate::{AccountId, Balance, Nonce, PublicKey};

/// The outcome error of a transaction: invalid as a whole, or one action failed.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, thiserror::Error)]
pub enum TxExecutionError {
    #[error("invalid transaction: {0}")]
    InvalidTxError(InvalidTxError),
    #[error("action failed: {0}")]
    ActionError(ActionError),
}

/// A transaction that cannot be applied at all. Nothing it carries changes state, and its
/// nonce is not consumed.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, thiserror::Error)]
pub enum InvalidTxError {
    #[error("signature does not verify against the transaction hash and public key")]
    InvalidSignature,
    #[error("signer {signer_id} does not exist")]
    SignerDoesNotExist { signer_id: AccountId },
    #[error("access key {public_key} not found on {account_id}")]
    #[serde(rename = "InvalidAccessKeyError", serialize_with = "access_key::not_found", skip_deserializing)]
    AccessKeyNotFound { account_id: AccountId, public_key: PublicKey },
    #[error("nonce {tx_nonce} must be greater than the access key nonce {ak_nonce}")]
    InvalidNonce { tx_nonce: Nonce, ak_nonce: Nonce },
    #[error("nonce {tx_nonce} is above the limit {upper_bound} (2^53 - 1, the JSON number range)")]
    NonceTooLarge { tx_nonce: Nonce, upper_bound: Nonce },
    #[error("{signer_id} has {balance} but the transaction needs {cost}")]
    NotEnoughBalance {
        signer_id: AccountId,
        #[serde(with = "u128_string")]
        balance: Balance,
        #[serde(with = "u128_string")]
        cost: Balance,
    },
    #[error("block hash is unknown or older than the validity window")]
    Expired,
    #[error("a function-call access key may only sign one FunctionCall action")]
    #[serde(rename = "InvalidAccessKeyError", serialize_with = "access_key::requires_full_access", skip_deserializing)]
    RequiresFullAccess,
    #[error("access key is for receiver {ak_receiver}, transaction goes to {tx_receiver}")]
    #[serde(rename = "InvalidAccessKeyError", serialize_with = "access_key::receiver_mismatch", skip_deserializing)]
    ReceiverMismatch { tx_receiver: AccountId, ak_receiver: AccountId },
    #[error("access key does not allow method {method_name}")]
    #[serde(rename = "InvalidAccessKeyError", serialize_with = "access_key::method_name_mismatch", skip_deserializing)]
    MethodNameMismatch { method_name: String },
    #[error("a function-call access key cannot attach a deposit")]
    #[serde(
        rename = "InvalidAccessKeyError",
        serialize_with = "access_key::deposit_with_function_call",
        skip_deserializing
    )]
    DepositWithFunctionCall,
    #[error("transaction has no actions")]
    EmptyActions,
    #[error("action {action} is not supported on this chain")]
    UnsupportedAction { action: String },
    #[error("transaction of {size} bytes exceeds the limit of {limit}")]
    TransactionSizeExceeded { size: u64, limit: u64 },
    #[error("amounts overflow u128")]
    CostOverflow,
    /// NEAR's shape for a transaction whose actions break a protocol limit. Appended last:
    /// borsh tags stay stable.
    #[error("{0}")]
    ActionsValidation(ActionsValidationError),
}

/// NEAR nests the refusals of an access key under `InvalidAccessKeyError`
/// (`{"InvalidTxError":{"InvalidAccessKeyError":{"MethodNameMismatch":{"method_name":"x"}}}}`,
/// `..."InvalidAccessKeyError":"RequiresFullAccess"`), where clients look for them; the enum
/// stays flat so stored outcomes keep their borsh tags.
mod access_key {
    use serde::ser::{SerializeMap, Serializer};
    use serde_json::json;

    use crate::{AccountId, PublicKey};

    fn nested<S: Serializer>(s: S, variant: &str, fields: serde_json::Value) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(variant, &fields)?;
        map.end()
    }

    pub fn not_found<S: Serializer>(account_id: &AccountId, public_key: &PublicKey, s: S) -> Result<S::Ok, S::Error> {
        nested(s, "AccessKeyNotFound", json!({ "account_id": account_id, "public_key": public_key }))
    }

    pub fn receiver_mismatch<S: Serializer>(tx: &AccountId, ak: &AccountId, s: S) -> Result<S::Ok, S::Error> {
        nested(s, "ReceiverMismatch", json!({ "tx_receiver": tx, "ak_receiver": ak }))
    }

    pub fn method_name_mismatch<S: Serializer>(method_name: &str, s: S) -> Result<S::Ok, S::Error> {
        nested(s, "MethodNameMismatch", json!({ "method_name": method_name }))
    }

    pub fn requires_full_access<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("RequiresFullAccess")
    }

    pub fn deposit_with_function_call<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("DepositWithFunctionCall")
    }
}

/// A module's failure as NEAR's `FunctionCallErrorSer::ExecutionError(message)`.
mod function_call {
    use serde::de::{Deserialize, Deserializer};
    use serde::ser::{SerializeMap, Serializer};

    pub fn serialize<S: Serializer>(message: &str, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("ExecutionError", message)?;
        map.end()
    }

    #[derive(serde::Deserialize)]
    enum Shown {
        ExecutionError(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let Shown::ExecutionError(message) = Shown::deserialize(d)?;
        Ok(message)
    }
}

/// Why a transaction's actions are invalid as a list (NEAR's `ActionsValidationError`, the
/// variants this chain uses).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, thiserror::Error)]
pub enum ActionsValidationError {
    #[error("{total_number_of_actions} actions, at most {limit} per transaction")]
    TotalNumberOfActionsExceeded { total_number_of_actions: u64, limit: u64 },
}

/// An action that failed; the whole transaction is rolled back except the nonce bump.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, thiserror::Error)]
#[error("action #{index}: {kind}")]
pub struct ActionError {
    pub index: u64,
    pub kind: ActionErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, thiserror::Error)]
pub enum ActionErrorKind {
    #[error("account {account_id} already exists")]
    AccountAlreadyExists { account_id: AccountId },
    #[error("account {account_id} does not exist")]
    AccountDoesNotExist { account_id: AccountId },
    /// Also a transfer to an implicit account that does not exist (NEAR would create it).
    #[error("{predecessor_id} may not create {account_id}: only its parent may create a sub-account, top-level accounts come only through the registrar, implicit accounts not at all")]
    CreateAccountNotAllowed { account_id: AccountId, predecessor_id: AccountId },
    /// No longer made (refusals to create an implicit account are `CreateAccountNotAllowed`);
    /// kept so stored outcomes keep their borsh tags, and shown to JSON clients under NEAR's
    /// `AccountDoesNotExist`.
    #[error("implicit account {account_id} cannot be created on this chain")]
    #[serde(rename = "AccountDoesNotExist", skip_deserializing)]
    ImplicitAccountNotAllowed { account_id: AccountId },
    #[error("{actor_id} may not act on {account_id}")]
    ActorNoPermission { account_id: AccountId, actor_id: AccountId },
    #[error("key {public_key} already exists on {account_id}")]
    AddKeyAlreadyExists { account_id: AccountId, public_key: PublicKey },
    #[error("key {public_key} does not exist on {account_id}")]
    DeleteKeyDoesNotExist { account_id: AccountId, public_key: PublicKey },
    #[error("{account_id} has {balance} but needs {cost}")]
    NotEnoughBalance {
        account_id: AccountId,
        #[serde(with = "u128_string")]
        balance: Balance,
        #[serde(with = "u128_string")]
        cost: Balance,
    },
    #[error("{account_id} holds locked stake and cannot be deleted")]
    DeleteAccountStaking { account_id: AccountId },
    #[error("no native module is deployed at {account_id}")]
    NoModule { account_id: AccountId },
    /// Shown to JSON clients in NEAR's shape, `{"FunctionCallError":{"ExecutionError":"..."}}`
    /// (near-api-js raises it as a `ContractExecutionError` with that message).
    #[error("module call failed: {message}")]
    #[serde(serialize_with = "function_call::serialize", deserialize_with = "function_call::deserialize")]
    FunctionCallError { message: String },
    #[error("balance overflow")]
    BalanceOverflow,
    /// The account is a member of the treasury (members are named by account id, so a
    /// recreated account would inherit the seat). Appended last: borsh tags stay stable.
    #[error("{account_id} is a member of the treasury {treasury_id}: remove the member by a treasury request before deleting the account")]
    DeleteAccountTreasuryMember { account_id: AccountId, treasury_id: AccountId },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_actions_has_near_json_shape() {
        let e = TxExecutionError::InvalidTxError(InvalidTxError::ActionsValidation(
            ActionsValidationError::TotalNumberOfActionsExceeded { total_number_of_actions: 101, limit: 100 },
        ));
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"InvalidTxError": {"ActionsValidation": {"TotalNumberOfActionsExceeded": {"total_number_of_actions": 101, "limit": 100}}}})
        );
    }

    #[test]
    fn a_module_failure_has_near_json_shape_and_reads_back() {
        let kind = ActionErrorKind::FunctionCallError { message: "NotAdmin: x".into() };
        let e = TxExecutionError::ActionError(ActionError { index: 0, kind: kind.clone() });
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v["ActionError"]["kind"],
            serde_json::json!({"FunctionCallError": {"ExecutionError": "NotAdmin: x"}})
        );
        assert_eq!(serde_json::from_value::<TxExecutionError>(v).unwrap(), e);
        assert_eq!(borsh::from_slice::<ActionErrorKind>(&crate::to_borsh(&kind)).unwrap(), kind);
    }

    #[test]
    fn invalid_nonce_has_near_json_shape() {
        let e = TxExecutionError::InvalidTxError(InvalidTxError::InvalidNonce { tx_nonce: 5, ak_nonce: 7 });
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"InvalidTxError": {"InvalidNonce": {"tx_nonce": 5, "ak_nonce": 7}}})
        );
    }

    #[test]
    fn access_key_refusals_are_nested_as_near_nests_them() {
        let json = |e: InvalidTxError| serde_json::to_value(TxExecutionError::InvalidTxError(e)).unwrap();
        let id = |s: &str| -> AccountId { s.parse().unwrap() };
        assert_eq!(
            json(InvalidTxError::RequiresFullAccess),
            serde_json::json!({"InvalidTxError": {"InvalidAccessKeyError": "RequiresFullAccess"}})
        );
        assert_eq!(
            json(InvalidTxError::DepositWithFunctionCall),
            serde_json::json!({"InvalidTxError": {"InvalidAccessKeyError": "DepositWithFunctionCall"}})
        );
        assert_eq!(
            json(InvalidTxError::MethodNameMismatch { method_name: "burn".into() }),
            serde_json::json!({"InvalidTxError": {"InvalidAccessKeyError": {"MethodNameMismatch": {"method_name": "burn"}}}})
        );
        assert_eq!(
            json(InvalidTxError::ReceiverMismatch { tx_receiver: id("bob.acme"), ak_receiver: id("app.acme") }),
            serde_json::json!({"InvalidTxError": {"InvalidAccessKeyError": {"ReceiverMismatch": {"tx_receiver": "bob.acme", "ak_receiver": "app.acme"}}}})
        );
        let key = PublicKey([1; 32]);
        assert_eq!(
            json(InvalidTxError::AccessKeyNotFound { account_id: id("bob.acme"), public_key: key }),
            serde_json::json!({"InvalidTxError": {"InvalidAccessKeyError": {"AccessKeyNotFound": {"account_id": "bob.acme", "public_key": key.to_string()}}}})
        );
        // Stored outcomes of the old implicit-account refusal show NEAR's name too.
        let old =
            ActionError { index: 0, kind: ActionErrorKind::ImplicitAccountNotAllowed { account_id: id("bob.acme") } };
        assert_eq!(
            serde_json::to_value(TxExecutionError::ActionError(old)).unwrap(),
            serde_json::json!({"ActionError": {"index": 0, "kind": {"AccountDoesNotExist": {"account_id": "bob.acme"}}}})
        );
    }
}
