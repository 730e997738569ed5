use chain_types::{ActionErrorKind, InvalidTxError};

use crate::store::StoreError;

/// Why applying a transaction stopped. `Store` is a node fault, never a transaction's.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Invalid(#[from] InvalidTxError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Failure inside an action: the action's fault, or a node fault.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ActionFailure {
    #[error(transparent)]
    Kind(#[from] ActionErrorKind),
    #[error(transparent)]
    Store(#[from] StoreError),
}
