//! The [`contracts::Host`] a module call sees, over the transaction's overlay.

use chain_types::{Account, AccountId, Balance, BlockHeight};
use contracts::{Host, ModuleError};

use super::error::ActionFailure;
use super::{BlockContext, Overlay};
use crate::store::{StateKey, StoreError};

pub(super) struct ModuleHost<'o, 'a> {
    ov: &'o mut Overlay<'a>,
    ctx: &'o BlockContext<'o>,
    current: AccountId,
    predecessor: AccountId,
    deposit: Balance,
    logs: &'o mut Vec<String>,
    /// A store failure seen during the call; turns the call into a node fault.
    fault: Option<StoreError>,
}

impl<'o, 'a> ModuleHost<'o, 'a> {
    pub(super) fn new(
        ov: &'o mut Overlay<'a>,
        ctx: &'o BlockContext<'o>,
        current: AccountId,
        predecessor: AccountId,
        deposit: Balance,
        logs: &'o mut Vec<String>,
    ) -> Self {
        ModuleHost { ov, ctx, current, predecessor, deposit, logs, fault: None }
    }

    /// Ends the call, surfacing any store failure it met.
    pub(super) fn finish(self) -> Result<(), ActionFailure> {
        match self.fault {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    fn note<T>(&mut self, r: Result<T, StoreError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.fault.get_or_insert(e);
                None
            }
        }
    }
}

impl Host for ModuleHost<'_, '_> {
    fn current_account(&self) -> &AccountId {
        &self.current
    }
    fn predecessor(&self) -> &AccountId {
        &self.predecessor
    }
    fn attached_deposit(&self) -> Balance {
        self.deposit
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
        self.ov.get(&StateKey::module_data(&self.current, key)).ok().flatten()
    }
    fn storage_write(&mut self, key: &[u8], value: &[u8]) {
        let k = StateKey::module_data(&self.current, key);
        self.ov.set(k, value.to_vec());
    }
    fn storage_remove(&mut self, key: &[u8]) {
        let k = StateKey::module_data(&self.current, key);
        self.ov.remove(k);
    }
    fn balance_of(&self, account: &AccountId) -> Option<Balance> {
        self.ov.get_borsh::<Account>(&StateKey::account(account)).ok().flatten().map(|a| a.amount)
    }
    fn transfer(&mut self, to: &AccountId, amount: Balance) -> Result<(), ModuleError> {
        let from_key = StateKey::account(&self.current);
        let r = self.ov.get_borsh::<Account>(&from_key);
        let mut from = self.note(r).flatten().ok_or_else(|| ModuleError::AccountDoesNotExist(self.current.clone()))?;
        let r = self.ov.get_borsh::<Account>(&StateKey::account(to));
        let mut dest = self.note(r).flatten().ok_or_else(|| ModuleError::AccountDoesNotExist(to.clone()))?;
        from.amount = from.amount.checked_sub(amount).ok_or(ModuleError::NotEnoughBalance {
            account_id: self.current.clone(),
            balance: from.amount,
            needed: amount,
        })?;
        self.ov.set_borsh(from_key, &from);
        // Re-read after the debit in case `to` is the current account.
        if to == &self.current {
            dest = from;
        }
        dest.amount =
            dest.amount.checked_add(amount).ok_or_else(|| ModuleError::Rejected("balance overflow".into()))?;
        self.ov.set_borsh(StateKey::account(to), &dest);
        Ok(())
    }
    fn log(&mut self, message: String) {
        self.logs.push(message);
    }
}
