use std::collections::BTreeMap;
use std::sync::Arc;

use chain_types::{AccountId, Balance, BlockHeight};

use crate::ModuleError;

/// What a module may see and do. Implemented by the runtime over the transaction's overlay.
pub trait Host {
    /// The account the module is deployed on.
    fn current_account(&self) -> &AccountId;
    /// Who called: the transaction signer, or the module that made a nested call.
    fn predecessor(&self) -> &AccountId;
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
    pub fn register(&mut self, module: Arc<dyn NativeModule>) {
        self.modules.insert(module.name(), module);
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn NativeModule>> {
        self.modules.get(name)
    }
}
