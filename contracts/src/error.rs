use chain_types::{AccountId, Balance};

/// Why a module call failed. Shown to clients as the FunctionCallError message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModuleError {
    #[error("method `{method}` does not exist on module {module}")]
    MethodNotFound { module: &'static str, method: String },
    #[error("invalid arguments: {0}")]
    InvalidArgs(String),
    #[error("{0}")]
    Rejected(String),
    #[error("{account_id} has {balance}, needs {needed}")]
    NotEnoughBalance { account_id: AccountId, balance: Balance, needed: Balance },
    #[error("account {0} does not exist")]
    AccountDoesNotExist(AccountId),
    #[error("account {0} already exists")]
    AccountAlreadyExists(AccountId),
}
