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

use std::collections::BTreeSet;

use chain_types::{
    AccountId, BlockHeight, CryptoHash, ExecutionStatus, InvalidTxError, PublicKey, SignedTransaction,
    StateChangeCause, StateChangeRecord, TxExecutionError,
};
use contracts::ModuleRegistry;
use genesis::Genesis;
use host::{CallFrame, ModuleHost};

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

/// The frame of a call the chain itself makes (epoch end, views): no signer, no deposit.
fn system_frame(account: &AccountId) -> CallFrame {
    CallFrame { current: account.clone(), predecessor: account.clone(), signer_key: PublicKey([0; 32]), deposit: 0 }
}

/// What a transaction did, before it is tied to a block hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxResult {
    pub status: ExecutionStatus,
    pub logs: Vec<String>,
}

/// A block's transactions applied: the merged state writes, each transaction's result, and
/// every write with its cause in the order made (a key written twice appears twice).
#[derive(Debug, Clone)]
pub struct AppliedBlock {
    pub changes: StateChanges,
    pub results: Vec<TxResult>,
    pub records: Vec<StateChangeRecord>,
}

/// Applies transactions; holds what is the same for every block.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub modules: ModuleRegistry,
    pub max_tx_bytes: u64,
    /// The treasury account: the only host allowed to set stake.
    pub treasury: AccountId,
    /// The registrar account: the only host allowed to create top-level accounts.
    pub registrar: AccountId,
    /// Blocks per epoch; a pending validator set is applied after each epoch's last block.
    pub epoch_length: u64,
}

/// Why a view call gave no result.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("account {0} does not exist")]
    UnknownAccount(AccountId),
    #[error("account {0} runs no module")]
    NoModule(AccountId),
    #[error(transparent)]
    Module(#[from] contracts::ModuleError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Runtime {
    /// The runtime of the chain `g` describes, dispatching to `modules`.
    pub fn new(g: &Genesis, modules: ModuleRegistry) -> Self {
        Runtime {
            modules,
            max_tx_bytes: g.limits.max_tx_bytes,
            treasury: g.treasury.account_id.clone(),
            registrar: g.registrar.account_id.clone(),
            epoch_length: g.epoch_length,
        }
    }

    /// Whether `height` is the last block of an epoch.
    pub fn ends_epoch(&self, height: BlockHeight) -> bool {
        self.epoch_length > 0 && height.is_multiple_of(self.epoch_length)
    }

    /// Runs a module's read-only `method` against the state as of tree `version` (the head's
    /// when `None`).
    pub fn view(
        &self,
        ctx: &BlockContext<'_>,
        version: Option<u64>,
        account: &AccountId,
        method: &str,
        args: &[u8],
    ) -> Result<Vec<u8>, ViewError> {
        let ov = match version {
            Some(v) => Overlay::at_version(ctx.store, v),
            None => Overlay::new(ctx.store),
        };
        self.view_on(ov, ctx, account, method, args).0
    }

    /// As [`Runtime::view`] at tree `version`, returning the state keys the call read (what a
    /// proof of its answer must cover).
    pub fn view_reads(
        &self,
        ctx: &BlockContext<'_>,
        version: u64,
        account: &AccountId,
        method: &str,
        args: &[u8],
    ) -> Result<Vec<Vec<u8>>, ViewError> {
        let ov = Overlay::at_version(ctx.store, version).record_reads();
        let (result, reads) = self.view_on(ov, ctx, account, method, args);
        result.map(|_| reads)
    }

    fn view_on(
        &self,
        mut ov: Overlay<'_>,
        ctx: &BlockContext<'_>,
        account: &AccountId,
        method: &str,
        args: &[u8],
    ) -> (Result<Vec<u8>, ViewError>, Vec<Vec<u8>>) {
        let result = (|| {
            if ov.get(&StateKey::account(account))?.is_none() {
                return Err(ViewError::UnknownAccount(account.clone()));
            }
            let module = host::module_of(self, &ov, account)?.ok_or_else(|| ViewError::NoModule(account.clone()))?;
            let (mut logs, mut created) = (Vec::new(), BTreeSet::new());
            let host = ModuleHost::new(self, &mut ov, ctx, system_frame(account), &mut logs, &mut created);
            Ok(module.view(&host, method, args)?)
        })();
        (result, ov.reads())
    }

    /// After the last block of an epoch: the treasury's pending validator set, if any,
    /// becomes current and the stake is re-divided (BRIEF section 3).
    fn end_epoch(&self, ov: &mut Overlay<'_>, ctx: &BlockContext<'_>) -> Result<(), StoreError> {
        let (mut logs, mut created) = (Vec::new(), BTreeSet::new());
        let mut host = ModuleHost::new(self, ov, ctx, system_frame(&self.treasury), &mut logs, &mut created);
        let result = contracts::staking::end_epoch(&mut host);
        if let Err(error::ActionFailure::Store(e)) = host.finish() {
            return Err(e);
        }
        match result {
            Ok(Some(set)) => tracing::info!(
                target: "chain::staking",
                height = ctx.height,
                validators = set.len(),
                set = ?set.iter().map(|v| v.account_id.as_str()).collect::<Vec<_>>(),
                "validator set changes from the next height"
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(target: "chain::staking", height = ctx.height, error = %e, "epoch end"),
        }
        Ok(())
    }

    /// Applies `txs` in order on top of the store's head state. `check_signatures` is false
    /// only for transactions whose signatures the mempool already verified.
    pub fn apply_block(
        &self,
        ctx: &BlockContext<'_>,
        txs: &[SignedTransaction],
        check_signatures: bool,
    ) -> Result<AppliedBlock, StoreError> {
        let mut ov = Overlay::new(ctx.store);
        let mut results = Vec::with_capacity(txs.len());
        let mut records = Vec::new();
        for tx in txs {
            ov.begin();
            results.push(self.apply_tx(&mut ov, ctx, tx, check_signatures)?);
            let (hash, t) = (tx.hash(), &tx.transaction);
            let nonce_key = StateKey::access_key(&t.signer_id, &t.public_key);
            records.extend(ov.open_layer().iter().map(|(key, value)| StateChangeRecord {
                cause: if *key == nonce_key {
                    StateChangeCause::TransactionProcessing { tx_hash: hash }
                } else {
                    StateChangeCause::ReceiptProcessing { receipt_hash: hash }
                },
                key: key.clone(),
                value: value.clone(),
            }));
            ov.commit();
        }
        if self.ends_epoch(ctx.height) {
            ov.begin();
            self.end_epoch(&mut ov, ctx)?;
            records.extend(ov.open_layer().iter().map(|(key, value)| StateChangeRecord {
                cause: StateChangeCause::ValidatorAccountsUpdate,
                key: key.clone(),
                value: value.clone(),
            }));
            ov.commit();
        }
        Ok(AppliedBlock { changes: ov.into_changes(), results, records })
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
