//! The [`contracts::Host`] a module call sees, over the transaction's overlay.
//!
//! The rules modules cannot bend live here: only the registrar's host creates top-level
//! accounts; a sub-account only by its parent; keys only on the current account or on an
//! account created earlier in the same transaction; stake only by the treasury's host.

use std::collections::BTreeSet;

use chain_types::{is_implicit, AccessKey, Account, AccountId, ActionErrorKind, Balance, BlockHeight, PublicKey};
use contracts::{AtomicFn, Host, ModuleError, NativeModule};

use super::error::ActionFailure;
use super::{BlockContext, Overlay, Runtime};
use crate::store::{StateKey, StoreError};

/// Deepest chain of nested module calls (treasury -> registrar is 2).
pub(super) const MAX_CALL_DEPTH: usize = 4;

/// What a call runs with and on.
pub(super) struct CallFrame {
    pub current: AccountId,
    pub predecessor: AccountId,
    pub signer_key: PublicKey,
    pub deposit: Balance,
}

pub(super) struct ModuleHost<'o, 'a> {
    rt: &'o Runtime,
    ov: &'o mut Overlay<'a>,
    ctx: &'o BlockContext<'o>,
    frame: CallFrame,
    logs: &'o mut Vec<String>,
    /// Accounts created so far in this transaction (they may be given keys).
    created: &'o mut BTreeSet<AccountId>,
    depth: usize,
    /// A store failure seen during the call; turns the call into a node fault.
    fault: Option<StoreError>,
}

/// The module deployed on `account`, if any.
pub(super) fn module_of(
    rt: &Runtime,
    ov: &Overlay<'_>,
    account: &AccountId,
) -> Result<Option<std::sync::Arc<dyn NativeModule>>, StoreError> {
    let name = ov.get(&StateKey::module(account))?;
    Ok(name.as_deref().and_then(|n| std::str::from_utf8(n).ok()).and_then(|n| rt.modules.get(n).cloned()))
}

/// Whether `account` is a member (by account id) of the treasury, as the treasury module
/// reads its own config.
pub(super) fn is_treasury_member(
    rt: &Runtime,
    ov: &mut Overlay<'_>,
    ctx: &BlockContext<'_>,
    account: &AccountId,
) -> Result<bool, ActionFailure> {
    let (mut logs, mut created) = (Vec::new(), BTreeSet::new());
    let host = ModuleHost::new(rt, ov, ctx, super::system_frame(&rt.treasury), &mut logs, &mut created);
    let member = contracts::treasury::is_account_member(&host, account);
    host.finish()?;
    member.map_err(|e| ActionErrorKind::FunctionCallError { message: format!("treasury config: {e}") }.into())
}

impl<'o, 'a> ModuleHost<'o, 'a> {
    pub(super) fn new(
        rt: &'o Runtime,
        ov: &'o mut Overlay<'a>,
        ctx: &'o BlockContext<'o>,
        frame: CallFrame,
        logs: &'o mut Vec<String>,
        created: &'o mut BTreeSet<AccountId>,
    ) -> Self {
        ModuleHost { rt, ov, ctx, frame, logs, created, depth: 1, fault: None }
    }

    /// Ends the call, surfacing any store failure it met.
    pub(super) fn finish(self) -> Result<(), ActionFailure> {
        match self.fault {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Records a store failure; the module sees a generic error and the transaction then
    /// fails as a node fault, not as the module's.
    fn note<T>(&mut self, r: Result<T, StoreError>) -> Result<T, ModuleError> {
        r.map_err(|e| {
            let m = ModuleError::Rejected(format!("store failure: {e}"));
            self.fault.get_or_insert(e);
            m
        })
    }

    fn read_account(&mut self, id: &AccountId) -> Result<Account, ModuleError> {
        let r = self.ov.get_borsh::<Account>(&StateKey::account(id));
        self.note(r)?.ok_or_else(|| ModuleError::AccountDoesNotExist(id.clone()))
    }

    fn may_manage_keys(&self, account: &AccountId) -> Result<(), ModuleError> {
        if account == &self.frame.current || self.created.contains(account) {
            Ok(())
        } else {
            Err(ModuleError::Rejected(format!(
                "{} may change keys only of itself or of an account it just created, not of {account}",
                self.frame.current
            )))
        }
    }

    /// Runs `f` in an overlay layer: kept if it succeeds, dropped (with its logs) if not.
    fn layered<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, ModuleError>) -> Result<T, ModuleError> {
        self.ov.begin();
        let mark = self.logs.len();
        let r = f(self);
        match &r {
            Ok(_) if self.fault.is_none() => self.ov.commit(),
            _ => {
                self.ov.discard();
                self.logs.truncate(mark);
            }
        }
        r
    }
}

impl Host for ModuleHost<'_, '_> {
    fn current_account(&self) -> &AccountId {
        &self.frame.current
    }
    fn predecessor(&self) -> &AccountId {
        &self.frame.predecessor
    }
    fn signer_public_key(&self) -> &PublicKey {
        &self.frame.signer_key
    }
    fn attached_deposit(&self) -> Balance {
        self.frame.deposit
    }
    fn block_height(&self) -> BlockHeight {
        self.ctx.height
    }
    fn chain_id(&self) -> &str {
        self.ctx.chain_id
    }
    fn storage_read(&self, key: &[u8]) -> Option<Vec<u8>> {
        // Reads cannot record a fault through `&self`; a failing read is also seen by the
        // store on commit, which stops the node.
        self.ov.get(&StateKey::module_data(&self.frame.current, key)).ok().flatten()
    }
    fn storage_write(&mut self, key: &[u8], value: &[u8]) {
        let k = StateKey::module_data(&self.frame.current, key);
        self.ov.set(k, value.to_vec());
    }
    fn storage_remove(&mut self, key: &[u8]) {
        let k = StateKey::module_data(&self.frame.current, key);
        self.ov.remove(k);
    }
    fn balance_of(&self, account: &AccountId) -> Option<Balance> {
        self.ov.get_borsh::<Account>(&StateKey::account(account)).ok().flatten().map(|a| a.amount)
    }
    fn transfer(&mut self, to: &AccountId, amount: Balance) -> Result<(), ModuleError> {
        let from_id = self.frame.current.clone();
        let mut from = self.read_account(&from_id)?;
        if is_implicit(to) {
            return Err(ModuleError::Rejected(format!("implicit account {to} cannot be created by a transfer")));
        }
        self.read_account(to)?;
        from.amount = from.amount.checked_sub(amount).ok_or(ModuleError::NotEnoughBalance {
            account_id: from_id.clone(),
            balance: from.amount,
            needed: amount,
        })?;
        self.ov.set_borsh(StateKey::account(&from_id), &from);
        // Read after the debit in case `to` is the current account.
        let mut dest = self.read_account(to)?;
        dest.amount =
            dest.amount.checked_add(amount).ok_or_else(|| ModuleError::Rejected("balance overflow".into()))?;
        self.ov.set_borsh(StateKey::account(to), &dest);
        Ok(())
    }
    fn create_account(&mut self, id: &AccountId, key: Option<PublicKey>, balance: Balance) -> Result<(), ModuleError> {
        let r = self.ov.get(&StateKey::account(id));
        if self.note(r)?.is_some() {
            return Err(ModuleError::AccountAlreadyExists(id.clone()));
        }
        if is_implicit(id) {
            return Err(ModuleError::Rejected(format!("implicit account {id} cannot be created on this chain")));
        }
        let current = &self.frame.current;
        if id.is_top_level() && current != &self.rt.registrar {
            return Err(ModuleError::Rejected(format!(
                "only the registrar {} creates top-level accounts such as {id}",
                self.rt.registrar
            )));
        }
        if !id.is_top_level() && !id.is_sub_account_of(current) {
            return Err(ModuleError::Rejected(format!("{id} can only be created by its parent account")));
        }
        self.layered(|h| {
            h.ov.set_borsh(StateKey::account(id), &Account::default());
            if balance > 0 {
                h.transfer(id, balance)?;
            }
            if let Some(key) = key {
                h.ov.set_borsh(StateKey::access_key(id, &key), &AccessKey::full_access());
            }
            Ok(())
        })?;
        self.created.insert(id.clone());
        Ok(())
    }
    fn add_key(&mut self, account: &AccountId, key: PublicKey, access: AccessKey) -> Result<(), ModuleError> {
        self.may_manage_keys(account)?;
        self.read_account(account)?;
        let k = StateKey::access_key(account, &key);
        let r = self.ov.get(&k);
        if self.note(r)?.is_some() {
            return Err(ModuleError::Rejected(format!("{account} already has key {key}")));
        }
        self.ov.set_borsh(k, &access);
        Ok(())
    }
    fn delete_key(&mut self, account: &AccountId, key: &PublicKey) -> Result<(), ModuleError> {
        self.may_manage_keys(account)?;
        let k = StateKey::access_key(account, key);
        let r = self.ov.get(&k);
        if self.note(r)?.is_none() {
            return Err(ModuleError::Rejected(format!("{account} has no key {key}")));
        }
        self.ov.remove(k);
        Ok(())
    }
    fn call(
        &mut self,
        receiver: &AccountId,
        method: &str,
        args: &[u8],
        deposit: Balance,
    ) -> Result<Vec<u8>, ModuleError> {
        if self.depth >= MAX_CALL_DEPTH {
            return Err(ModuleError::Rejected(format!("nested calls go at most {MAX_CALL_DEPTH} deep")));
        }
        if receiver == &self.frame.current {
            return Err(ModuleError::Rejected("a module cannot call itself".into()));
        }
        let r = module_of(self.rt, &*self.ov, receiver);
        let module = self.note(r)?.ok_or_else(|| ModuleError::Rejected(format!("{receiver} runs no module")))?;
        self.layered(|h| {
            h.transfer(receiver, deposit)?;
            let frame = CallFrame {
                current: receiver.clone(),
                predecessor: h.frame.current.clone(),
                signer_key: h.frame.signer_key,
                deposit,
            };
            let mut nested = ModuleHost {
                rt: h.rt,
                ov: &mut *h.ov,
                ctx: h.ctx,
                frame,
                logs: &mut *h.logs,
                created: &mut *h.created,
                depth: h.depth + 1,
                fault: None,
            };
            let r = module.call(&mut nested, method, args);
            if let Some(e) = nested.fault.take() {
                h.fault.get_or_insert(e);
            }
            r.map_err(|e| ModuleError::Rejected(format!("{receiver}.{method}: {e}")))
        })
    }
    fn atomically(&mut self, f: AtomicFn<'_>) -> Result<Vec<u8>, ModuleError> {
        self.layered(|h| f(h))
    }
    fn set_locked(&mut self, account: &AccountId, locked: Balance) -> Result<(), ModuleError> {
        if self.frame.current != self.rt.treasury {
            return Err(ModuleError::Rejected("only the treasury sets stake".into()));
        }
        let mut acc = self.read_account(account)?;
        acc.locked = locked;
        self.ov.set_borsh(StateKey::account(account), &acc);
        Ok(())
    }
    fn log(&mut self, message: String) {
        self.logs.push(message);
    }
}
