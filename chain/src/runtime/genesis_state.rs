//! The state a genesis file describes.

use chain_types::{to_borsh, AccessKey};
use contracts::treasury::{member_access_key, MultisigMember};
use contracts::{registrar, staking, treasury, workspace, ModuleError};
use genesis::Genesis;

use crate::store::{StateChanges, StateKey};

/// Every state entry at height 0: accounts (validators' stake as `locked`) and their
/// full-access keys; the treasury module (its config, the validator schedule, one
/// function-call key per key member), the registrar module and the workspace module (its
/// config and the genesis organizations with their members' roles).
pub fn genesis_changes(g: &Genesis) -> Result<StateChanges, ModuleError> {
    let mut changes = StateChanges::new();
    for (id, account, keys) in g.initial_accounts() {
        changes.insert(StateKey::account(&id), Some(to_borsh(&account)));
        for key in keys {
            changes.insert(StateKey::access_key(&id, &key), Some(to_borsh(&AccessKey::full_access())));
        }
    }
    let (treasury_id, registrar_id) = (&g.treasury.account_id, &g.registrar.account_id);
    changes.insert(StateKey::module(treasury_id), Some(b"treasury".to_vec()));
    changes.insert(StateKey::module(registrar_id), Some(b"registrar".to_vec()));
    let config = g.treasury_config();
    for m in &config.members {
        if let MultisigMember::AccessKey { public_key } = m {
            let key = StateKey::access_key(treasury_id, public_key);
            changes.insert(key, Some(to_borsh(&member_access_key(treasury_id))));
        }
    }
    for (k, v) in treasury::initial_state(&config)? {
        changes.insert(StateKey::module_data(treasury_id, &k), Some(v));
    }
    changes.insert(StateKey::module_data(treasury_id, staking::SCHEDULE_KEY), Some(to_borsh(&g.validator_schedule())));
    for (k, v) in registrar::initial_state(treasury_id) {
        changes.insert(StateKey::module_data(registrar_id, &k), Some(v));
    }
    let workspace_id = &g.workspace.account_id;
    changes.insert(StateKey::module(workspace_id), Some(b"workspace".to_vec()));
    let config =
        workspace::state::WorkspaceConfig { treasury: treasury_id.clone(), limits: g.workspace.limits.clone() };
    let organizations: Vec<_> = g.organizations.iter().map(|o| o.seeded(&g.validators)).collect();
    for (k, v) in workspace::state::initial_state(&config, &organizations) {
        changes.insert(StateKey::module_data(workspace_id, &k), Some(v));
    }
    Ok(changes)
}
