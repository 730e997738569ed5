//! What members propose: multisig2's request shape with a closed set of actions.

use base64::Engine as _;
use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::{u128_string, AccountId, Balance, CryptoHash, FunctionCallPermission, PublicKey};
use serde::{Deserialize, Serialize};

use crate::staking::ValidatorInfo;
use crate::ModuleError;

/// Most actions in one request.
pub const MAX_ACTIONS: usize = 16;

/// A member: a key on the treasury account (signing as the treasury) or another account.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(untagged)]
pub enum MultisigMember {
    AccessKey { public_key: PublicKey },
    Account { account_id: AccountId },
}

impl std::fmt::Display for MultisigMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MultisigMember::AccessKey { public_key } => write!(f, "key {public_key}"),
            MultisigMember::Account { account_id } => write!(f, "account {account_id}"),
        }
    }
}

/// The actions a request may carry. There is no generic escape hatch: anything else fails
/// to parse.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum MultiSigRequestAction {
    Transfer {
        #[serde(with = "u128_string")]
        amount: Balance,
    },
    /// Creates the receiver: a top-level id through the registrar, a sub-account of the
    /// treasury directly. Later actions of the request may give it keys.
    CreateAccount,
    /// A key for an account this request created (the treasury's own keys are its members).
    AddKey {
        public_key: PublicKey,
        /// Function-call permission; full access when absent.
        #[serde(default)]
        permission: Option<FunctionCallPermission>,
    },
    DeleteKey {
        public_key: PublicKey,
    },
    /// A call to a native module (the registrar, ...); never to the treasury itself.
    FunctionCall {
        method_name: String,
        #[serde(with = "base64_bytes")]
        args: Vec<u8>,
        #[serde(with = "u128_string")]
        deposit: Balance,
        #[serde(with = "u64_string_or_number")]
        gas: u64,
    },
    AddMember {
        member: MultisigMember,
    },
    DeleteMember {
        member: MultisigMember,
    },
    SetNumConfirmations {
        num_confirmations: u32,
    },
    SetActiveRequestsLimit {
        active_requests_limit: u32,
    },
    /// A validator for `organization`'s node, recorded in the workspace module.
    AddValidator {
        validator: ValidatorInfo,
        organization: String,
    },
    RemoveValidator {
        account_id: AccountId,
    },
    /// A validator replaced by another for the same organization.
    ReplaceValidator {
        account_id: AccountId,
        validator: ValidatorInfo,
    },
    /// Removes an organization from the workspace (its users' roles and credentials end)
    /// and its validators from the set at the next epoch boundary.
    RemoveOrganization {
        org_id: String,
    },
}

impl MultiSigRequestAction {
    /// Config and validator-set changes: each must be a request's only action and address
    /// the treasury itself.
    pub fn is_config_change(&self) -> bool {
        use MultiSigRequestAction::*;
        matches!(
            self,
            AddMember { .. }
                | DeleteMember { .. }
                | SetNumConfirmations { .. }
                | SetActiveRequestsLimit { .. }
                | AddValidator { .. }
                | RemoveValidator { .. }
                | ReplaceValidator { .. }
                | RemoveOrganization { .. }
        )
    }
}

/// multisig2's request: a receiver and the actions to run against it.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiSigRequest {
    pub receiver_id: AccountId,
    pub actions: Vec<MultiSigRequestAction>,
}

impl MultiSigRequest {
    /// The rules that need no state: some actions, not too many, config changes alone and
    /// addressed to the treasury, no keys on the treasury, no calls into the treasury.
    pub fn check_shape(&self, treasury: &AccountId) -> Result<(), ModuleError> {
        let reject = |m: String| Err(ModuleError::Rejected(m));
        if self.actions.is_empty() {
            return reject("a request needs at least one action".into());
        }
        if self.actions.len() > MAX_ACTIONS {
            return reject(format!("a request has at most {MAX_ACTIONS} actions"));
        }
        let to_self = &self.receiver_id == treasury;
        for a in &self.actions {
            if a.is_config_change() {
                if self.actions.len() != 1 {
                    return reject("a config or validator change must be the request's only action".into());
                }
                if !to_self {
                    return reject(format!("a config or validator change must have receiver_id {treasury}"));
                }
                continue;
            }
            if to_self {
                let what = match a {
                    MultiSigRequestAction::AddKey { .. } | MultiSigRequestAction::DeleteKey { .. } => {
                        "the treasury's keys are its member keys: use AddMember / DeleteMember"
                    }
                    MultiSigRequestAction::FunctionCall { .. } => "the treasury cannot call itself",
                    MultiSigRequestAction::Transfer { .. } => "a transfer from the treasury to itself",
                    _ => "the treasury already exists",
                };
                return reject(what.into());
            }
        }
        Ok(())
    }

    /// What members approve: sha256 over chain id, treasury id, request id and the request.
    pub fn hash(&self, chain_id: &str, treasury: &AccountId, request_id: u32) -> CryptoHash {
        chain_types::sha256(&chain_types::to_borsh(&(chain_id, treasury, request_id, self)))
    }
}

mod base64_bytes {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("args are not base64: {e}")))
    }
}

/// multisig2 sends gas as a decimal string (`U64`); a plain number is accepted too.
mod u64_string_or_number {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(u64),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match <Either as Deserialize>::deserialize(d)? {
            Either::Number(n) => Ok(n),
            Either::Text(s) => s.parse().map_err(|_| serde::de::Error::custom(format!("`{s}` is not a decimal u64"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<MultiSigRequest, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn multisig2_shapes_parse_and_round_trip() {
        let r = parse(json!({"receiver_id": "registrar", "actions": [
            {"type": "Transfer", "amount": "5"},
            {"type": "FunctionCall", "method_name": "create_account", "args": "e30=", "deposit": "7", "gas": "100000000000000"},
        ]}))
        .unwrap();
        assert_eq!(r.actions[0], MultiSigRequestAction::Transfer { amount: 5 });
        let MultiSigRequestAction::FunctionCall { args, gas, .. } = &r.actions[1] else { panic!() };
        assert_eq!((args.as_slice(), *gas), (&b"{}"[..], 100_000_000_000_000));
        let back: MultiSigRequest = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let member = parse(json!({"receiver_id": "treasury", "actions": [
            {"type": "AddMember", "member": {"account_id": "dave.acme"}}]}))
        .unwrap();
        assert!(member.actions[0].is_config_change());
    }

    #[test]
    fn unknown_actions_and_bad_fields_are_refused() {
        assert!(parse(json!({"receiver_id": "x.acme", "actions": [{"type": "DeployContract", "code": ""}]})).is_err());
        assert!(parse(json!({"receiver_id": "x.acme", "actions": [{"type": "Transfer", "amount": 5}]})).is_err());
        assert!(parse(json!({"receiver_id": "x.acme", "actions": [{"type": "FunctionCall", "method_name": "m",
            "args": "***", "deposit": "0", "gas": "1"}]}))
        .is_err());
        assert!(parse(json!({"receiver_id": "x.acme", "actions": [], "extra": 1})).is_err());
    }

    #[test]
    fn shape_rules() {
        let treasury: AccountId = "treasury".parse().unwrap();
        let req = |receiver: &str, actions: serde_json::Value| {
            parse(json!({"receiver_id": receiver, "actions": actions})).unwrap().check_shape(&treasury)
        };
        assert!(req("bob.acme", json!([])).is_err(), "empty");
        assert!(req("bob.acme", json!([{"type": "SetNumConfirmations", "num_confirmations": 1}])).is_err());
        assert!(req(
            "treasury",
            json!([{"type": "SetNumConfirmations", "num_confirmations": 1}, {"type": "Transfer", "amount": "1"}])
        )
        .is_err());
        assert!(req("treasury", json!([{"type": "SetNumConfirmations", "num_confirmations": 1}])).is_ok());
        assert!(req("treasury", json!([{"type": "Transfer", "amount": "1"}])).is_err());
        assert!(req("treasury", json!([{"type": "DeleteKey", "public_key": format!("ed25519:{}", "1".repeat(32))}]))
            .is_err());
        assert!(req("bob.acme", json!([{"type": "Transfer", "amount": "1"}])).is_ok());
    }

    #[test]
    fn hash_covers_chain_treasury_id_and_actions() {
        let t: AccountId = "treasury".parse().unwrap();
        let r = parse(json!({"receiver_id": "bob.acme", "actions": [{"type": "Transfer", "amount": "1"}]})).unwrap();
        let base = r.hash("c", &t, 0);
        assert_ne!(base, r.hash("d", &t, 0));
        assert_ne!(base, r.hash("c", &"treasury2".parse().unwrap(), 0));
        assert_ne!(base, r.hash("c", &t, 1));
        let mut r2 = r.clone();
        r2.actions[0] = MultiSigRequestAction::Transfer { amount: 2 };
        assert_ne!(base, r2.hash("c", &t, 0));
    }
}
