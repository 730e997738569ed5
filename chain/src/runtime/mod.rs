//! Transaction execution over state: validation (typed `InvalidTxError`s), then the actions
//! of BRIEF §4 applied atomically.
//!
//! # Invariants
//! - A transaction that fails validation changes nothing.
//! - A valid transaction always bumps its access key's nonce to `tx.nonce`; its actions then
//!   apply all together or not at all (a failed action rolls back every action and deposit).
//! - Only the registrar module creates top-level accounts; a `CreateAccount` action creates
//!   `x.y` only when signed by `y`; implicit ids are never created.
//! - Execution is deterministic: it reads only state, the transaction and the block context.

mod actions;
mod error;
mod genesis_state;
mod host;
mod overlay;
mod verify;

use chain_types::{BlockHeight, CryptoHash, ExecutionStatus, InvalidTxError, SignedTransaction, TxExecutionError};
use contracts::ModuleRegistry;

pub use error::ApplyError;
pub use genesis_state::genesis_changes;
pub use overlay::Overlay;
pub use verify::{check_stateful, check_stateless, Verified, MAX_NONCE};

use crate::store::{StateChanges, StateKey, Store, StoreError};

/// The block a transaction executes in.
#[derive(Debug, Clone, Copy)]
pub struct BlockContext<'a> {
    pub chain_id: &'a str,
    pub height: BlockHeight,
    pub timestamp_ms: u64,
    pub validity_blocks: u64,
    pub store: &'a Store,
}

impl BlockContext<'_> {
    /// Height of a committed block, `None` if unknown (or unreadable: treated as expired).
    pub fn block_height_of(&self, hash: &CryptoHash) -> Option<BlockHeight> {
        self.store.height_of(hash).ok().flatten()
    }
}

/// What a transaction did, before it is tied to a block hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxResult {
    pub status: ExecutionStatus,
    pub logs: Vec<String>,
}

/// Applies transactions; holds what is the same for every block.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub modules: ModuleRegistry,
    pub max_tx_bytes: u64,
}

impl Runtime {
    /// Applies `txs` in order on top of the store's head state. `check_signatures` is false
    /// only for transactions whose signatures the mempool already verified.
    pub fn apply_block(
        &self,
        ctx: &BlockContext<'_>,
        txs: &[SignedTransaction],
        check_signatures: bool,
    ) -> Result<(StateChanges, Vec<TxResult>), StoreError> {
        let mut ov = Overlay::new(ctx.store);
        let mut results = Vec::with_capacity(txs.len());
        for tx in txs {
            results.push(self.apply_tx(&mut ov, ctx, tx, check_signatures)?);
        }
        Ok((ov.into_changes(), results))
    }

    /// Applies one transaction on the overlay. Only a store failure is an `Err`.
    pub fn apply_tx(
        &self,
        ov: &mut Overlay<'_>,
        ctx: &BlockContext<'_>,
        tx: &SignedTransaction,
        check_signature: bool,
    ) -> Result<TxResult, StoreError> {
        let invalid = |e: InvalidTxError| TxResult {
            status: ExecutionStatus::Failure(TxExecutionError::InvalidTxError(e)),
            logs: Vec::new(),
        };
        if let Err(e) = check_stateless(tx, self.max_tx_bytes, check_signature) {
            return Ok(invalid(e));
        }
        let verified = match check_stateful(ov, ctx, tx) {
            Ok(v) => v,
            Err(ApplyError::Invalid(e)) => return Ok(invalid(e)),
            Err(ApplyError::Store(e)) => return Err(e),
        };
        let t = &tx.transaction;
        let mut key = verified.access_key;
        key.nonce = t.nonce;
        ov.set_borsh(StateKey::access_key(&t.signer_id, &t.public_key), &key);

        let mut logs = Vec::new();
        ov.begin();
        match actions::apply_actions(self, ov, ctx, tx, verified.cost, &mut logs) {
            Ok(value) => {
                ov.commit();
                Ok(TxResult { status: ExecutionStatus::SuccessValue(value), logs })
            }
            Err((index, error::ActionFailure::Kind(kind))) => {
                ov.discard();
                let err = chain_types::ActionError { index, kind };
                Ok(TxResult { status: ExecutionStatus::Failure(TxExecutionError::ActionError(err)), logs: Vec::new() })
            }
            Err((_, error::ActionFailure::Store(e))) => Err(e),
        }
    }
}
