//! The registrar: the one way to create a top-level account, and it obeys only the treasury.
//!
//! `create_account {"new_account_id": "acme2", "new_public_key": "ed25519:..."}` creates the
//! account with the attached deposit as its balance and the key (optional) as a full-access
//! key. Refused unless the predecessor is the treasury, the id is top-level (no dot), not
//! implicit and does not exist yet.

use chain_types::{is_implicit, AccountId, PublicKey};
use serde::Deserialize;

use crate::{Host, ModuleError, NativeModule};

/// Registrar storage key of the treasury account id it obeys (UTF-8).
pub const TREASURY_KEY: &[u8] = b"treasury";

#[derive(Debug)]
pub struct Registrar;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAccountArgs {
    new_account_id: AccountId,
    #[serde(default)]
    new_public_key: Option<PublicKey>,
}

/// The registrar's storage at genesis.
pub fn initial_state(treasury: &AccountId) -> crate::StorageEntries {
    vec![(TREASURY_KEY.to_vec(), treasury.as_bytes().to_vec())]
}

fn treasury(host: &dyn Host) -> Result<AccountId, ModuleError> {
    host.storage_read(TREASURY_KEY)
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ModuleError::Rejected("the registrar has no treasury configured".into()))
}

impl NativeModule for Registrar {
    fn name(&self) -> &'static str {
        "registrar"
    }

    fn call(&self, host: &mut dyn Host, method: &str, args: &[u8]) -> Result<Vec<u8>, ModuleError> {
        if method != "create_account" {
            return Err(ModuleError::MethodNotFound { module: "registrar", method: method.into() });
        }
        let args: CreateAccountArgs = crate::json_args(args)?;
        let treasury = treasury(host)?;
        if host.predecessor() != &treasury {
            return Err(ModuleError::Rejected(format!(
                "only the treasury {treasury} may create top-level accounts, not {}",
                host.predecessor()
            )));
        }
        let id = &args.new_account_id;
        if !id.is_top_level() {
            return Err(ModuleError::Rejected(format!(
                "{id} is not a top-level account; sub-accounts are created by their parent"
            )));
        }
        if is_implicit(id) {
            return Err(ModuleError::Rejected(format!("implicit account {id} cannot be created on this chain")));
        }
        let deposit = host.attached_deposit();
        host.create_account(id, args.new_public_key, deposit)?;
        host.log(format!("created top-level account {id} with {deposit}"));
        Ok(b"true".to_vec())
    }

    fn view(&self, host: &dyn Host, method: &str, _args: &[u8]) -> Result<Vec<u8>, ModuleError> {
        match method {
            "get_treasury" => crate::json_value(&treasury(host)?),
            other => Err(ModuleError::MethodNotFound { module: "registrar", method: other.into() }),
        }
    }
}
