//! The treasury's storage: its configuration, the request counter and the requests.

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::{AccountId, BlockHeight, CryptoHash};
use serde::{Deserialize, Serialize};

use super::request::{MultiSigRequest, MultisigMember};
use crate::{Host, ModuleError};

const CONFIG_KEY: &[u8] = b"config";
const NONCE_KEY: &[u8] = b"nonce";
const REQUEST_PREFIX: &[u8] = b"req/";
const PENDING_KEY: &[u8] = b"pending";
const DELETE_VOTES_PREFIX: &[u8] = b"del/";

/// Members, threshold and limits. `1 <= num_confirmations <= members.len()` always holds.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Config {
    pub members: Vec<MultisigMember>,
    pub num_confirmations: u32,
    /// Most pending (unexpired) requests one member may have proposed.
    pub active_requests_limit: u32,
    /// A request not executed within this many blocks of being added expires (and is
    /// dropped the next time the module touches the pending list).
    pub request_lifetime_blocks: u64,
    /// Blocks after which a request's proposer alone may delete it; before that (and for
    /// anyone else) deletion takes `num_confirmations` deletion votes.
    pub delete_cooldown_blocks: u64,
    /// The registrar that top-level `CreateAccount` actions go through.
    pub registrar: AccountId,
    /// The workspace module that validators' organizations are recorded in.
    pub workspace: AccountId,
}

impl Config {
    pub fn is_member(&self, m: &MultisigMember) -> bool {
        self.members.contains(m)
    }

    /// How many of `votes` (confirmations or deletion votes) come from current members.
    pub fn count_members(&self, votes: &[MultisigMember]) -> usize {
        votes.iter().filter(|m| self.is_member(m)).count()
    }

    /// Whether that many current members' votes reach the threshold.
    pub fn reached(&self, votes: usize) -> bool {
        votes >= self.num_confirmations as usize
    }

    /// The threshold rule, checked at genesis and after every change.
    pub fn check(&self) -> Result<(), ModuleError> {
        let n = self.members.len();
        if self.num_confirmations == 0 || self.num_confirmations as usize > n {
            return Err(ModuleError::Rejected(format!(
                "confirmations must be between 1 and the number of members ({n}), not {}",
                self.num_confirmations
            )));
        }
        if self.active_requests_limit == 0 {
            return Err(ModuleError::Rejected("the active request limit must be at least 1".into()));
        }
        Ok(())
    }
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    /// Ran on its last confirmation at `height`; what each action reported.
    Executed {
        height: BlockHeight,
        logs: Vec<String>,
    },
    /// Ran on its last confirmation at `height` and failed: nothing of it applied.
    Failed {
        height: BlockHeight,
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RequestRecord {
    pub request: MultiSigRequest,
    pub hash: CryptoHash,
    pub proposer: MultisigMember,
    pub added_at: BlockHeight,
    pub confirmations: Vec<MultisigMember>,
    pub status: RequestStatus,
}

impl RequestRecord {
    pub fn expires_after(&self, config: &Config) -> BlockHeight {
        self.added_at.saturating_add(config.request_lifetime_blocks)
    }

    pub fn is_expired(&self, config: &Config, height: BlockHeight) -> bool {
        height > self.expires_after(config)
    }

    /// Confirmations from those who are members now.
    pub fn current_confirmations(&self, config: &Config) -> usize {
        config.count_members(&self.confirmations)
    }
}

fn decode<T: BorshDeserialize>(bytes: &[u8], what: &str) -> Result<T, ModuleError> {
    borsh::from_slice(bytes).map_err(|e| ModuleError::Rejected(format!("corrupt treasury {what}: {e}")))
}

pub fn config(host: &dyn Host) -> Result<Config, ModuleError> {
    config_if_any(host)?.ok_or_else(|| ModuleError::Rejected("the treasury is not configured".into()))
}

/// The config, `None` on an account whose treasury was never configured.
pub fn config_if_any(host: &dyn Host) -> Result<Option<Config>, ModuleError> {
    host.storage_read(CONFIG_KEY).map(|b| decode(&b, "config")).transpose()
}

pub fn write_config(host: &mut dyn Host, config: &Config) -> Result<(), ModuleError> {
    config.check()?;
    host.storage_write(CONFIG_KEY, &chain_types::to_borsh(config));
    Ok(())
}

/// The id the next request gets.
pub fn nonce(host: &dyn Host) -> Result<u32, ModuleError> {
    host.storage_read(NONCE_KEY).map(|b| decode(&b, "nonce")).transpose().map(|n| n.unwrap_or(0))
}

pub fn set_nonce(host: &mut dyn Host, nonce: u32) {
    host.storage_write(NONCE_KEY, &nonce.to_le_bytes());
}

fn request_key(id: u32) -> Vec<u8> {
    let mut k = REQUEST_PREFIX.to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

pub fn request(host: &dyn Host, id: u32) -> Result<RequestRecord, ModuleError> {
    let bytes = host.storage_read(&request_key(id)).ok_or_else(|| ModuleError::Rejected(format!("no request {id}")))?;
    decode(&bytes, "request")
}

pub fn write_request(host: &mut dyn Host, id: u32, record: &RequestRecord) {
    host.storage_write(&request_key(id), &chain_types::to_borsh(record));
}

/// Removes a request and its deletion votes (it must also leave the pending list).
pub fn remove_request(host: &mut dyn Host, id: u32) {
    host.storage_remove(&request_key(id));
    clear_delete_votes(host, id);
}

fn delete_votes_key(id: u32) -> Vec<u8> {
    let mut k = DELETE_VOTES_PREFIX.to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Members who voted to delete a pending request, in vote order. Kept apart from the
/// request record so records keep their layout.
pub fn delete_votes(host: &dyn Host, id: u32) -> Result<Vec<MultisigMember>, ModuleError> {
    host.storage_read(&delete_votes_key(id))
        .map(|b| decode(&b, "deletion votes"))
        .transpose()
        .map(Option::unwrap_or_default)
}

pub fn set_delete_votes(host: &mut dyn Host, id: u32, votes: &[MultisigMember]) {
    host.storage_write(&delete_votes_key(id), &chain_types::to_borsh(votes));
}

pub fn clear_delete_votes(host: &mut dyn Host, id: u32) {
    host.storage_remove(&delete_votes_key(id));
}

/// Ids of the requests not yet executed, deleted or failed, in id order. May still hold
/// expired ones: use [`super::pending::live_ids`] to read it when acting.
pub fn pending_ids(host: &dyn Host) -> Result<Vec<u32>, ModuleError> {
    host.storage_read(PENDING_KEY).map(|b| decode(&b, "pending list")).transpose().map(Option::unwrap_or_default)
}

pub fn set_pending_ids(host: &mut dyn Host, ids: &[u32]) {
    host.storage_write(PENDING_KEY, &chain_types::to_borsh(ids));
}

/// The treasury's storage at genesis.
pub fn initial_state(config: &Config) -> Result<crate::StorageEntries, ModuleError> {
    config.check()?;
    Ok(vec![(CONFIG_KEY.to_vec(), chain_types::to_borsh(config)), (NONCE_KEY.to_vec(), 0u32.to_le_bytes().to_vec())])
}
