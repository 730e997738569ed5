//! Whether a transaction may be applied against current state (NEAR's rules, BRIEF §4).

use chain_types::{
    AccessKey, AccessKeyPermission, Account, Action, ActionsValidationError, Balance, InvalidTxError,
    SignedTransaction, MAX_ACTIONS_PER_TRANSACTION,
};

use super::{ApplyError, BlockContext, Overlay};
use crate::store::StateKey;

/// Largest nonce accepted: 2^53 - 1, so clients can carry it as a JSON number.
pub const MAX_NONCE: u64 = (1 << 53) - 1;

/// A transaction that passed every check, with what it costs its signer.
#[derive(Debug)]
pub struct Verified {
    pub signer: Account,
    pub access_key: AccessKey,
    pub cost: Balance,
}

/// Checks that need no state: size, actions supported, nonce range, signature.
pub fn check_stateless(tx: &SignedTransaction, max_tx_bytes: u64, check_signature: bool) -> Result<(), InvalidTxError> {
    let size = borsh::object_length(tx).map(|s| s as u64).unwrap_or(u64::MAX);
    if size > max_tx_bytes {
        return Err(InvalidTxError::TransactionSizeExceeded { size, limit: max_tx_bytes });
    }
    let t = &tx.transaction;
    if t.actions.is_empty() {
        return Err(InvalidTxError::EmptyActions);
    }
    let total_number_of_actions = t.actions.len() as u64;
    if total_number_of_actions > MAX_ACTIONS_PER_TRANSACTION {
        return Err(InvalidTxError::ActionsValidation(ActionsValidationError::TotalNumberOfActionsExceeded {
            total_number_of_actions,
            limit: MAX_ACTIONS_PER_TRANSACTION,
        }));
    }
    if let Some(a) =
        t.actions.iter().find(|a| matches!(a, Action::Stake(_) | Action::DeployContract(_) | Action::Delegate(_)))
    {
        return Err(InvalidTxError::UnsupportedAction { action: a.name().into() });
    }
    if t.nonce > MAX_NONCE {
        return Err(InvalidTxError::NonceTooLarge { tx_nonce: t.nonce, upper_bound: MAX_NONCE });
    }
    if check_signature && !tx.verify_signature() {
        return Err(InvalidTxError::InvalidSignature);
    }
    Ok(())
}

/// Checks against state: window, signer, key, nonce, permission, balance.
pub fn check_stateful(ov: &Overlay<'_>, ctx: &BlockContext, tx: &SignedTransaction) -> Result<Verified, ApplyError> {
    let t = &tx.transaction;
    match ctx.block_height_of(&t.block_hash) {
        Some(h) if h.saturating_add(ctx.validity_blocks) >= ctx.height => {}
        _ => return Err(InvalidTxError::Expired.into()),
    }
    let signer: Account = ov
        .get_borsh(&StateKey::account(&t.signer_id))?
        .ok_or_else(|| InvalidTxError::SignerDoesNotExist { signer_id: t.signer_id.clone() })?;
    let access_key: AccessKey = ov.get_borsh(&StateKey::access_key(&t.signer_id, &t.public_key))?.ok_or_else(|| {
        InvalidTxError::AccessKeyNotFound { account_id: t.signer_id.clone(), public_key: t.public_key }
    })?;
    if t.nonce <= access_key.nonce {
        return Err(InvalidTxError::InvalidNonce { tx_nonce: t.nonce, ak_nonce: access_key.nonce }.into());
    }
    if let AccessKeyPermission::FunctionCall(perm) = &access_key.permission {
        let [Action::FunctionCall(call)] = t.actions.as_slice() else {
            return Err(InvalidTxError::RequiresFullAccess.into());
        };
        if call.deposit > 0 {
            return Err(InvalidTxError::DepositWithFunctionCall.into());
        }
        if t.receiver_id != perm.receiver_id {
            return Err(InvalidTxError::ReceiverMismatch {
                tx_receiver: t.receiver_id.clone(),
                ak_receiver: perm.receiver_id.clone(),
            }
            .into());
        }
        if !perm.method_names.is_empty() && !perm.method_names.contains(&call.method_name) {
            return Err(InvalidTxError::MethodNameMismatch { method_name: call.method_name.clone() }.into());
        }
    }
    let cost =
        t.actions.iter().try_fold(0u128, |acc, a| acc.checked_add(a.deposit())).ok_or(InvalidTxError::CostOverflow)?;
    if cost > signer.amount {
        return Err(
            InvalidTxError::NotEnoughBalance { signer_id: t.signer_id.clone(), balance: signer.amount, cost }.into()
        );
    }
    Ok(Verified { signer, access_key, cost })
}
