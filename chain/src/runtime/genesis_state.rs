//! The state a genesis file describes.

use chain_types::AccessKey;
use genesis::Genesis;

use crate::store::{StateChanges, StateKey};

/// Every state entry at height 0: accounts (validators' stake as `locked`) and their
/// full-access keys.
pub fn genesis_changes(g: &Genesis) -> StateChanges {
    let mut changes = StateChanges::new();
    for (id, account, keys) in g.initial_accounts() {
        changes.insert(StateKey::account(&id), Some(borsh::to_vec(&account).unwrap_or_default()));
        for key in keys {
            changes.insert(
                StateKey::access_key(&id, &key),
                Some(borsh::to_vec(&AccessKey::full_access()).unwrap_or_default()),
            );
        }
    }
    changes
}
