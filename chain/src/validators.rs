//! Which validators decide each height, read from the treasury's staking schedule in state.
//!
//! The set that decides height `h` is the schedule's `current` set in the state after block
//! `h - 1` (a change applies after the last block of an epoch, see `contracts::staking`).
//! The set for the next height is cached and refreshed on every commit; older heights read
//! the schedule at their parent's state version.

use std::sync::Arc;

use chain_types::{validators_hash, AccountId, BlockHeight, CryptoHash};
use consensus::{Validator, ValidatorSet};
use contracts::staking::{ValidatorSchedule, SCHEDULE_KEY};
use parking_lot::RwLock;
use tokio::sync::watch;

use crate::store::{StateChanges, StateKey, Store, StoreError};

/// The validator set of the next height and the schedule it comes from.
#[derive(Debug)]
pub struct Validators {
    treasury: AccountId,
    /// (height it decides, set).
    next: RwLock<(BlockHeight, Arc<ValidatorSet>)>,
    schedule: watch::Sender<Arc<ValidatorSchedule>>,
}

fn decode(bytes: Option<Vec<u8>>) -> Result<ValidatorSchedule, StoreError> {
    let bytes = bytes.ok_or_else(|| StoreError::Tree("the treasury holds no validator schedule".into()))?;
    borsh::from_slice(&bytes).map_err(|e| StoreError::Tree(format!("corrupt validator schedule: {e}")))
}

/// The consensus view of a schedule's current set.
fn current_set(schedule: &ValidatorSchedule) -> Result<ValidatorSet, StoreError> {
    ValidatorSet::new(
        schedule
            .current
            .iter()
            .map(|v| Validator { account_id: v.account_id.clone(), consensus_key: v.consensus_key })
            .collect(),
    )
    .ok_or_else(|| StoreError::Tree("the validator schedule has an empty current set".into()))
}

/// A set's `next_bp_hash` (see [`chain_types::validators_hash`]).
pub fn set_hash(set: &ValidatorSet) -> CryptoHash {
    validators_hash(set.validators().iter().map(|v| (&v.account_id, &v.consensus_key)))
}

/// The `next_bp_hash` named by state `changes` that write the treasury's schedule; `None`
/// when they leave it alone.
pub fn next_bp_hash_in(changes: &StateChanges, treasury: &AccountId) -> Result<Option<CryptoHash>, StoreError> {
    match changes.get(&StateKey::module_data(treasury, SCHEDULE_KEY)) {
        Some(bytes) => Ok(Some(set_hash(&current_set(&decode(bytes.clone())?)?))),
        None => Ok(None),
    }
}

impl Validators {
    /// Reads the schedule at the store's head.
    pub fn load(store: &Store, treasury: AccountId) -> Result<Self, StoreError> {
        let head = store.head()?.unwrap_or(0);
        let schedule = decode(store.state(&StateKey::module_data(&treasury, SCHEDULE_KEY))?)?;
        let set = Arc::new(current_set(&schedule)?);
        let (tx, _) = watch::channel(Arc::new(schedule));
        Ok(Validators { treasury, next: RwLock::new((head + 1, set)), schedule: tx })
    }

    /// The set that decides `height`. Heights past the next one get the next one's set
    /// (the best knowledge until the blocks in between are known).
    pub fn at(&self, store: &Store, height: BlockHeight) -> Result<Arc<ValidatorSet>, StoreError> {
        let (next_height, next) = self.next.read().clone();
        if height >= next_height {
            return Ok(next);
        }
        let Some(parent) = store.block(height.saturating_sub(1))? else { return Ok(next) };
        Ok(Arc::new(current_set(&self.schedule_at(store, parent.jmt_version)?)?))
    }

    /// The schedule as of tree `version` (a block's post-state).
    pub fn schedule_at(&self, store: &Store, version: u64) -> Result<ValidatorSchedule, StoreError> {
        decode(store.state_at(&StateKey::module_data(&self.treasury, SCHEDULE_KEY), version)?)
    }

    /// The `next_bp_hash` of a block on the head with these state `changes`: the set its
    /// post-state names for the height after it.
    pub fn next_bp_hash(&self, changes: &StateChanges) -> Result<CryptoHash, StoreError> {
        Ok(next_bp_hash_in(changes, &self.treasury)?.unwrap_or_else(|| set_hash(&self.next())))
    }

    /// The next height's set.
    pub fn next(&self) -> Arc<ValidatorSet> {
        self.next.read().1.clone()
    }

    /// Re-reads the schedule after a commit; subscribers hear of a changed schedule.
    pub fn refresh(&self, store: &Store) -> Result<(), StoreError> {
        let head = store.head()?.unwrap_or(0);
        let schedule = decode(store.state(&StateKey::module_data(&self.treasury, SCHEDULE_KEY))?)?;
        if **self.schedule.borrow() != schedule {
            let set = Arc::new(current_set(&schedule)?);
            if set.validators() != self.next().validators() {
                tracing::info!(
                    target: "chain::staking",
                    height = head + 1,
                    validators = set.len(),
                    "validator set changed"
                );
            }
            *self.next.write() = (head + 1, set);
            self.schedule.send_replace(Arc::new(schedule));
        } else {
            self.next.write().0 = head + 1;
        }
        Ok(())
    }

    /// The schedule as of the head, as it changes (current and pending sets with their
    /// network addresses: whom to connect to).
    pub fn subscribe(&self) -> watch::Receiver<Arc<ValidatorSchedule>> {
        self.schedule.subscribe()
    }
}
