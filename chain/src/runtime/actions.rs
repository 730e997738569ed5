//! The actions' effects. Called inside an overlay layer the caller discards on failure.
//!
//! `DeleteAccount` is refused for an account holding stake (`DeleteAccountStaking`) and for
//! an account that is a treasury member (`DeleteAccountTreasuryMember`): members are named
//! by account id, so a parent recreating the id would otherwise inherit the seat.

use std::collections::BTreeSet;

use chain_types::{is_implicit, Account, AccountId, Action, ActionErrorKind, Balance, PublicKey, SignedTransaction};

use super::error::ActionFailure;
use super::host::{is_treasury_member, module_of, CallFrame, ModuleHost};
use super::{BlockContext, Overlay, Runtime};
use crate::store::StateKey;

/// Applies every action of `tx`; on failure returns the failing action's index.
pub(super) fn apply_actions(
    rt: &Runtime,
    ov: &mut Overlay<'_>,
    ctx: &BlockContext<'_>,
    tx: &SignedTransaction,
    cost: Balance,
    logs: &mut Vec<String>,
) -> Result<Vec<u8>, (u64, ActionFailure)> {
    let t = &tx.transaction;
    debit(ov, &t.signer_id, cost).map_err(|e| (0, e))?;
    // The actor starts as the signer and becomes the receiver once CreateAccount made it,
    // so a parent can create a sub-account and give it keys in one transaction (as NEAR).
    let mut actor = t.signer_id.clone();
    let mut value = Vec::new();
    let mut created = BTreeSet::new();
    for (i, action) in t.actions.iter().enumerate() {
        let mut env = TxEnv { rt, ctx, signer_key: t.public_key, created: &mut created, logs: &mut *logs };
        value = apply_action(&mut env, ov, &mut actor, &t.receiver_id, action).map_err(|e| (i as u64, e))?;
    }
    Ok(value)
}

fn account(ov: &Overlay<'_>, id: &AccountId) -> Result<Account, ActionFailure> {
    ov.get_borsh(&StateKey::account(id))?.ok_or_else(|| missing(id))
}

fn missing(id: &AccountId) -> ActionFailure {
    ActionErrorKind::AccountDoesNotExist { account_id: id.clone() }.into()
}

/// Creating `receiver` (by CreateAccount, or by a transfer to an implicit account that does
/// not exist, which creates it on NEAR) is refused: NEAR's variant for it, which clients name.
fn not_creatable(receiver: &AccountId, actor: &AccountId) -> ActionFailure {
    ActionErrorKind::CreateAccountNotAllowed { account_id: receiver.clone(), predecessor_id: actor.clone() }.into()
}

fn debit(ov: &mut Overlay<'_>, id: &AccountId, amount: Balance) -> Result<(), ActionFailure> {
    let mut acc = account(ov, id)?;
    acc.amount = acc.amount.checked_sub(amount).ok_or_else(|| ActionErrorKind::NotEnoughBalance {
        account_id: id.clone(),
        balance: acc.amount,
        cost: amount,
    })?;
    ov.set_borsh(StateKey::account(id), &acc);
    Ok(())
}

pub(super) fn credit(ov: &mut Overlay<'_>, id: &AccountId, amount: Balance) -> Result<(), ActionFailure> {
    let mut acc = account(ov, id)?;
    acc.amount = acc.amount.checked_add(amount).ok_or(ActionErrorKind::BalanceOverflow)?;
    ov.set_borsh(StateKey::account(id), &acc);
    Ok(())
}

fn require_actor(actor: &AccountId, receiver: &AccountId) -> Result<(), ActionFailure> {
    if actor != receiver {
        return Err(ActionErrorKind::ActorNoPermission { account_id: receiver.clone(), actor_id: actor.clone() }.into());
    }
    Ok(())
}

/// What every action of one transaction shares.
struct TxEnv<'e> {
    rt: &'e Runtime,
    ctx: &'e BlockContext<'e>,
    signer_key: PublicKey,
    /// Accounts created so far by the transaction's module calls.
    created: &'e mut BTreeSet<AccountId>,
    logs: &'e mut Vec<String>,
}

fn apply_action(
    env: &mut TxEnv<'_>,
    ov: &mut Overlay<'_>,
    actor: &mut AccountId,
    receiver: &AccountId,
    action: &Action,
) -> Result<Vec<u8>, ActionFailure> {
    match action {
        Action::CreateAccount(_) => {
            if ov.get(&StateKey::account(receiver))?.is_some() {
                return Err(ActionErrorKind::AccountAlreadyExists { account_id: receiver.clone() }.into());
            }
            if is_implicit(receiver) || receiver.is_top_level() || !receiver.is_sub_account_of(actor) {
                return Err(not_creatable(receiver, actor));
            }
            ov.set_borsh(StateKey::account(receiver), &Account::default());
            *actor = receiver.clone();
        }
        Action::Transfer(t) => {
            if is_implicit(receiver) && ov.get(&StateKey::account(receiver))?.is_none() {
                return Err(not_creatable(receiver, actor));
            }
            credit(ov, receiver, t.deposit)?
        }
        Action::AddKey(add) => {
            require_actor(actor, receiver)?;
            account(ov, receiver)?;
            let key = StateKey::access_key(receiver, &add.public_key);
            if ov.get(&key)?.is_some() {
                return Err(ActionErrorKind::AddKeyAlreadyExists {
                    account_id: receiver.clone(),
                    public_key: add.public_key,
                }
                .into());
            }
            ov.set_borsh(key, &add.access_key);
        }
        Action::DeleteKey(del) => {
            require_actor(actor, receiver)?;
            let key = StateKey::access_key(receiver, &del.public_key);
            if ov.get(&key)?.is_none() {
                return Err(ActionErrorKind::DeleteKeyDoesNotExist {
                    account_id: receiver.clone(),
                    public_key: del.public_key,
                }
                .into());
            }
            ov.remove(key);
        }
        Action::DeleteAccount(del) => {
            require_actor(actor, receiver)?;
            let acc = account(ov, receiver)?;
            if acc.locked > 0 {
                return Err(ActionErrorKind::DeleteAccountStaking { account_id: receiver.clone() }.into());
            }
            if is_treasury_member(env.rt, ov, env.ctx, receiver)? {
                return Err(ActionErrorKind::DeleteAccountTreasuryMember {
                    account_id: receiver.clone(),
                    treasury_id: env.rt.treasury.clone(),
                }
                .into());
            }
            if &del.beneficiary_id == receiver {
                return Err(ActionErrorKind::ActorNoPermission {
                    account_id: del.beneficiary_id.clone(),
                    actor_id: actor.clone(),
                }
                .into());
            }
            credit(ov, &del.beneficiary_id, acc.amount)?;
            for prefix in StateKey::owned_prefixes(receiver) {
                for key in ov.keys_with_prefix(&prefix)? {
                    ov.remove(key);
                }
            }
        }
        Action::FunctionCall(call) => {
            credit(ov, receiver, call.deposit)?;
            let module = module_of(env.rt, ov, receiver)?
                .ok_or_else(|| ActionErrorKind::NoModule { account_id: receiver.clone() })?;
            let frame = CallFrame {
                current: receiver.clone(),
                predecessor: actor.clone(),
                signer_key: env.signer_key,
                deposit: call.deposit,
            };
            let mut host = ModuleHost::new(env.rt, ov, env.ctx, frame, env.logs, env.created);
            let result = module.call(&mut host, &call.method_name, &call.args);
            host.finish()?;
            return result.map_err(|e| ActionErrorKind::FunctionCallError { message: e.to_string() }.into());
        }
        Action::Stake(_) | Action::DeployContract(_) | Action::Delegate(_) => {
            // Refused by validation before execution; unreachable for a validated transaction.
            return Err(
                ActionErrorKind::FunctionCallError { message: format!("{} is not supported", action.name()) }.into()
            );
        }
    }
    Ok(Vec::new())
}
