//! The node's membership (the organization it belongs to) and the workspace's credentials
//! as the RPC gate reads them: from the workspace module's state as of the latest block, on
//! every request, so a credential revoked in a block is refused from that block on.
//!
//! # Invariants
//! - A configured membership that contradicts the organization this node's validator
//!   belongs to (in genesis or in the workspace module) stops start-up.
//! - Without a configured membership, a node takes its validator's organization as of the
//!   latest block (so a node that joins gets it once the treasury adds its validator); a node
//!   that is no validator has none: every chain credential is answered 403.

use std::sync::Arc;

use parking_lot::Mutex;

use chain_types::{AccountId, PublicKey};
use contracts::workspace::state::{self as ws, Credential, CredentialRole, Organization, WorkspaceConfig};
use rpc::access::{ChainCredential, MembershipCredentials, Role};
use rpc::{BlockRef, Finality};

use crate::node::Node;
use crate::store::StateKey;

#[derive(Debug)]
pub struct WorkspaceCredentials {
    node: Arc<Node>,
    workspace: AccountId,
    configured: Option<String>,
    /// Without a configured membership: the validator's organization as of a height, worked
    /// out again when the head moves (a node that joins gets its membership once the treasury
    /// adds its validator).
    derived: Mutex<(Option<u64>, Option<String>)>,
}

impl WorkspaceCredentials {
    /// Refuses a configured membership that contradicts the organization of this node's
    /// validator; logs the membership it starts with.
    pub fn open(node: Arc<Node>, configured: Option<&str>) -> anyhow::Result<Self> {
        let workspace = node.genesis().workspace.account_id.clone();
        let own = validator_organization(&node)?;
        if let (Some(c), Some((validator, org))) = (configured, &own) {
            if c != org {
                anyhow::bail!(
                    "rpc.access.membership is `{c}`, but this node's validator {validator} belongs to organization `{org}`"
                );
            }
        }
        let me = WorkspaceCredentials {
            node,
            workspace,
            configured: configured.map(str::to_owned),
            derived: Mutex::new((None, None)),
        };
        match me.membership() {
            None => tracing::info!(
                target: "chain",
                "no membership (not configured, and this node's validator is in no organization yet): only the local credentials file is accepted until it is"
            ),
            Some(m) => match me.read::<Organization>(&ws::org_key(&m)) {
                Ok(Some(_)) => {
                    tracing::info!(target: "chain", membership = %m, "workspace credentials of this membership are accepted")
                }
                Ok(None) => tracing::warn!(
                    target: "chain",
                    membership = %m,
                    "membership is no organization on chain as of the head (yet); its credentials are refused until it is"
                ),
                Err(e) => anyhow::bail!("reading the workspace: {e}"),
            },
        }
        Ok(me)
    }

    fn read<T: borsh::BorshDeserialize>(&self, key: &[u8]) -> Result<Option<T>, String> {
        let stored = self.node.resolve(BlockRef::Finality(Finality::Final)).map_err(|e| e.to_string())?;
        let key = StateKey::module_data(&self.workspace, key);
        let bytes = self.node.store().state_at(&key, stored.jmt_version).map_err(|e| e.to_string())?;
        bytes.map(|b| borsh::from_slice(&b).map_err(|e| format!("corrupt workspace entry: {e}"))).transpose()
    }
}

/// This node's validator account and the organization it belongs to, if it is a validator
/// (genesis validators by their `organization`, later ones by the workspace module).
fn validator_organization(node: &Node) -> anyhow::Result<Option<(AccountId, String)>> {
    let Some(key) = node.validator_key() else { return Ok(None) };
    let genesis = node.genesis();
    if let Some(v) = genesis.validators.iter().find(|v| v.consensus_key == key) {
        return Ok(Some((v.account_id.clone(), v.organization.clone())));
    }
    let schedule = node.subscribe_validators().borrow().clone();
    let Some(account) = account_of(&schedule, &key) else { return Ok(None) };
    let stored = node.resolve(BlockRef::Finality(Finality::Final))?;
    let read = |k: &[u8]| -> anyhow::Result<Option<Vec<u8>>> {
        let key = StateKey::module_data(&genesis.workspace.account_id, k);
        Ok(node.store().state_at(&key, stored.jmt_version)?)
    };
    let ids: Vec<String> = match read(ws::ORG_INDEX_KEY)? {
        Some(b) => borsh::from_slice(&b)?,
        None => Vec::new(),
    };
    for id in ids {
        if let Some(b) = read(&ws::org_key(&id))? {
            let org: Organization = borsh::from_slice(&b)?;
            if org.validators.contains(&account) {
                return Ok(Some((account, org.id)));
            }
        }
    }
    Ok(None)
}

fn account_of(schedule: &contracts::staking::ValidatorSchedule, key: &PublicKey) -> Option<AccountId> {
    schedule.current.iter().chain(schedule.next()).find(|v| &v.consensus_key == key).map(|v| v.account_id.clone())
}

impl MembershipCredentials for WorkspaceCredentials {
    fn membership(&self) -> Option<String> {
        if let Some(c) = &self.configured {
            return Some(c.clone());
        }
        let head = self.node.store().head().ok().flatten();
        let mut derived = self.derived.lock();
        if derived.0 != head || head.is_none() {
            let found = validator_organization(&self.node).unwrap_or_else(|e| {
                tracing::error!(target: "chain", error = %e, "working out this node's membership failed");
                None
            });
            let org = found.map(|(_, org)| org);
            if org != derived.1 {
                tracing::info!(target: "chain", membership = ?org, "membership from this node's validator");
            }
            *derived = (head, org);
        }
        derived.1.clone()
    }

    fn lookup(&self, username: &str) -> Result<Option<ChainCredential>, String> {
        let Some(org_id) = self.read::<String>(&ws::credential_owner_key(username))? else { return Ok(None) };
        let Some(c) = self.read::<Credential>(&ws::credential_key(&org_id, username))? else { return Ok(None) };
        let config: WorkspaceConfig = self.read(ws::CONFIG_KEY)?.ok_or("the workspace has no config")?;
        Ok(Some(ChainCredential {
            org_id: c.org_id,
            role: match c.role {
                CredentialRole::Read => Role::Read,
                CredentialRole::Submit => Role::Submit,
                CredentialRole::Admin => Role::Admin,
            },
            password_sha256: c.password_sha256.0,
            revoked_at: c.revoked_at,
            requests_per_sec: config.limits.requests_per_sec_per_node,
            max_connections: config.limits.max_connections_per_node,
        }))
    }
}
