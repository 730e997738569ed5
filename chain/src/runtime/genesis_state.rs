//! The state a genesis file describes.

use chain_types::{to_borsh, AccessKey};
use genesis::Genesis;

use crate::store::{StateChanges, StateKey};

/// Every state entry at height 0: accounts (validators' stake as `locked`) and their
/// full-access keys.
pub fn genesis_changes(g: &Genesis) -> StateChanges {
    let mut changes = StateChanges::new();
    for (id, account, keys) in g.initial_accounts() {
        changes.insert(StateKey::account(&id), Some(to_borsh(&account)));
        for key in keys {
            changes.insert(StateKey::access_key(&id, &key), Some(to_borsh(&AccessKey::full_access())));
        }
    }
    changes
}
