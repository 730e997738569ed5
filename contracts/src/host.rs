use std::collections::BTreeMap;
use std::sync::Arc;

use chain_types::{AccessKey, AccountId, Balance, BlockHeight, PublicKey};

use crate::ModuleError;

/// A nested unit of work run by [`Host::atomically`].
pub type AtomicFn<'f> = &'f mut dyn FnMut(&mut dyn Host) -> Result<Vec<u8>, ModuleError>;

/// What a module may see and do. Implemented by the runtime over the transaction's overlay.
///
/// The runtime, not the module, enforces who may do what: only the registrar's host creates
/// top-level accounts, only the treasury's host sets stake, keys are added only to the
/// current account or to an account created earlier in the same transaction.
pub trait Host {
    /// The account the module is deployed on.
    fn current_account(&self) -> &AccountId;
    /// Who called: the transaction signer, or the module that made a nested call.
    fn predecessor(&self) -> &AccountId;
    /// The key that signed the transaction (the same through nested calls).
    fn signer_public_key(&self) -> &PublicKey;
    /// Tokens attached to the call, already credited to the current account.
    fn attached_deposit(&self) -> Balance;
    fn block_height(&self) -> BlockHeight;
    fn chain_id(&self) -> &str;
    fn storage_read(&self, key: &[u8]) -> Option<Vec<u8>>;
    fn storage_write(&mut self, key: &[u8], value: &[u8]);
    fn storage_remove(&mut self, key: &[u8]);
    /// Spendable balance of any account, `None` if it does not exist.
    fn balance_of(&self, account: &AccountId) -> Option<Balance>;
    /// Moves tokens from the current account to an existing account.
    fn transfer(&mut self, to: &AccountId, amount: Balance) -> Result<(), ModuleError>;
    /// Creates `id` holding `balance` (taken from the current account), with a full-access
    /// `key` when given. A top-level id only from the registrar; otherwise only a
    /// sub-account of the current account. Never an implicit id or an existing account.
    fn create_account(&mut self, id: &AccountId, key: Option<PublicKey>, balance: Balance) -> Result<(), ModuleError>;
    /// Adds an access key to the current account, or to an account this transaction created.
    fn add_key(&mut self, account: &AccountId, key: PublicKey, access: AccessKey) -> Result<(), ModuleError>;
    /// Deletes an access key, with the same rule as [`Host::add_key`].
    fn delete_key(&mut self, account: &AccountId, key: &PublicKey) -> Result<(), ModuleError>;
    /// Calls `method` of the module on `receiver` synchronously, attaching `deposit` from the
    /// current account; the callee's predecessor is the current account. If it fails, all it
    /// did (and the deposit) is rolled back and its error returned.
    fn call(
        &mut self,
        receiver: &AccountId,
        method: &str,
        args: &[u8],
        deposit: Balance,
    ) -> Result<Vec<u8>, ModuleError>;
    /// Runs `f` so that its changes and logs apply together, or (on `Err`) not at all.
    fn atomically(&mut self, f: AtomicFn<'_>) -> Result<Vec<u8>, ModuleError>;
    /// Sets an account's locked stake. Only the treasury's host allows it.
    fn set_locked(&mut self, account: &AccountId, locked: Balance) -> Result<(), ModuleError>;
    fn log(&mut self, message: String);
}

/// A native module. `call` may change state through the host; `view` may not.
pub trait NativeModule: Send + Sync {
    fn name(&self) -> &'static str;
    fn call(&self, host: &mut dyn Host, method: &str, args: &[u8]) -> Result<Vec<u8>, ModuleError>;
    fn view(&self, host: &dyn Host, method: &str, args: &[u8]) -> Result<Vec<u8>, ModuleError>;
}

/// Module implementations by name; which account runs which module is chain state.
#[derive(Clone, Default)]
pub struct ModuleRegistry {
    modules: BTreeMap<&'static str, Arc<dyn NativeModule>>,
}

impl std::fmt::Debug for ModuleRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.modules.keys()).finish()
    }
}

impl ModuleRegistry {
    /// The chain's own modules: treasury, registrar and workspace.
    pub fn standard() -> Self {
        let mut r = ModuleRegistry::default();
        r.register(Arc::new(crate::Treasury));
        r.register(Arc::new(crate::Registrar));
        r.register(Arc::new(crate::Workspace));
        r
    }

    pub fn register(&mut self, module: Arc<dyn NativeModule>) {
        self.modules.insert(module.name(), module);
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn NativeModule>> {
        self.modules.get(name)
    }
}
