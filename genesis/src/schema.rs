//! The genesis JSON schema (BRIEF section 8).

use std::path::Path;

use chain_types::{u128_string, Account, AccountId, Balance, CryptoHash, PublicKey};
use serde::{Deserialize, Serialize};

pub use contracts::staking::split_stake;
use contracts::staking::{ValidatorInfo, ValidatorSchedule};

use crate::{GenesisError, Problem};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    pub chain_id: String,
    /// `development` or `professional`; the professional preset requires at least four
    /// validators and Vault-backed signing.
    pub preset: crate::Preset,
    /// Milliseconds since the Unix epoch; the genesis block's timestamp.
    pub genesis_time_ms: u64,
    pub workspace: WorkspaceSpec,
    pub organizations: Vec<Organization>,
    pub validators: Vec<ValidatorSpec>,
    pub treasury: TreasurySpec,
    pub registrar: RegistrarSpec,
    /// Other accounts funded at genesis, each with full-access keys.
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
    #[serde(with = "u128_string")]
    pub total_supply: Balance,
    #[serde(with = "u128_string")]
    pub total_stake: Balance,
    /// Blocks per epoch; validator-set changes apply at epoch boundaries.
    pub epoch_length: u64,
    pub consensus: ConsensusParams,
    /// A transaction's `block_hash` must be one of the last this many blocks.
    pub transaction_validity_blocks: u64,
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSpec {
    pub name: String,
    /// The workspace's master account, a TLA.
    pub master_account: AccountId,
    /// The account running the workspace module (organizations, roles, invitations,
    /// credentials), `workspace` unless named.
    #[serde(default = "default_workspace_account")]
    pub account_id: AccountId,
    /// Per-organization limits (users, credentials, pending invitations, request rate and
    /// connections per node); each has a default.
    #[serde(default)]
    pub limits: contracts::workspace::state::WorkspaceLimits,
}

fn default_workspace_account() -> AccountId {
    AccountId::try_from("workspace".to_owned()).unwrap_or_else(|_| unreachable!("a valid account id"))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub id: String,
    pub name: String,
    /// Accounts belonging to the organization.
    #[serde(default)]
    pub members: Vec<AccountId>,
    /// The members that administer it (invite users, set roles, manage credentials); the
    /// first member when none is named. The other members start with the `member` role.
    #[serde(default)]
    pub admins: Vec<AccountId>,
}

impl Organization {
    /// The organization as the workspace module stores it at genesis, with the genesis
    /// validators that name it as their `organization`.
    pub fn seeded(&self, validators: &[ValidatorSpec]) -> contracts::workspace::state::Organization {
        use contracts::workspace::state::Role;
        let admins: Vec<&AccountId> =
            if self.admins.is_empty() { self.members.iter().take(1).collect() } else { self.admins.iter().collect() };
        let members = self
            .members
            .iter()
            .chain(self.admins.iter())
            .map(|m| (m.clone(), if admins.contains(&m) { Role::Admin } else { Role::Member }))
            .collect();
        contracts::workspace::state::Organization {
            id: self.id.clone(),
            name: self.name.clone(),
            members,
            validators: validators.iter().filter(|v| v.organization == self.id).map(|v| v.account_id.clone()).collect(),
            joined_at: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSpec {
    pub account_id: AccountId,
    pub organization: String,
    /// Key the validator signs proposals and votes with.
    pub consensus_key: PublicKey,
    /// libp2p peer id of the validator's network key.
    pub peer_id: String,
    /// Where peers reach it, as a multiaddr (`/ip4/.../tcp/...` or `/dns/.../tcp/...`).
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreasurySpec {
    pub account_id: AccountId,
    pub members: Vec<TreasuryMember>,
    pub confirmations: u32,
    #[serde(with = "u128_string")]
    pub balance: Balance,
    /// Most live requests one member may have proposed.
    #[serde(default = "default_active_requests_limit")]
    pub active_requests_limit: u32,
    /// Blocks after which an unexecuted request expires.
    #[serde(default = "default_request_lifetime_blocks")]
    pub request_lifetime_blocks: u64,
    /// Blocks after which a request's proposer alone may delete it (others, and the
    /// proposer before, need deletion votes from `confirmations` members).
    #[serde(default = "default_delete_cooldown_blocks")]
    pub delete_cooldown_blocks: u64,
}

fn default_active_requests_limit() -> u32 {
    12
}

/// About a day at one block per second.
fn default_request_lifetime_blocks() -> u64 {
    86_400
}

/// About ten minutes at one block per second.
fn default_delete_cooldown_blocks() -> u64 {
    600
}

impl TreasurySpec {
    pub fn new(account_id: AccountId, members: Vec<TreasuryMember>, confirmations: u32, balance: Balance) -> Self {
        TreasurySpec {
            account_id,
            members,
            confirmations,
            balance,
            active_requests_limit: default_active_requests_limit(),
            request_lifetime_blocks: default_request_lifetime_blocks(),
            delete_cooldown_blocks: default_delete_cooldown_blocks(),
        }
    }
}

/// A multisig member: a key on the treasury account, or another account (multisig2 shape).
pub use contracts::treasury::MultisigMember as TreasuryMember;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrarSpec {
    pub account_id: AccountId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    pub account_id: AccountId,
    #[serde(with = "u128_string")]
    pub balance: Balance,
    pub keys: Vec<PublicKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusParams {
    /// Longest time without a block: an empty block is produced after it.
    pub max_block_interval_ms: u64,
    /// Shortest time between blocks while transactions wait.
    pub min_block_interval_ms: u64,
    pub timeout_propose_ms: u64,
    pub timeout_vote_ms: u64,
    /// Added per round to each timeout, up to `timeout_max_ms`.
    pub timeout_delta_ms: u64,
    /// Timeouts stop growing here: at least a minute, so a slow network that needs long
    /// rounds still gets them.
    pub timeout_max_ms: u64,
    /// How far ahead of a validator's clock a proposed block's timestamp may be. The default
    /// ([`DEFAULT_MAX_CLOCK_DRIFT_MS`]) is not serialized, so older genesis files keep their hash.
    #[serde(default = "default_max_clock_drift_ms", skip_serializing_if = "is_default_max_clock_drift_ms")]
    pub max_clock_drift_ms: u64,
}

/// Allowed clock drift when the genesis file names none.
pub const DEFAULT_MAX_CLOCK_DRIFT_MS: u64 = 5_000;

fn default_max_clock_drift_ms() -> u64 {
    DEFAULT_MAX_CLOCK_DRIFT_MS
}

fn is_default_max_clock_drift_ms(v: &u64) -> bool {
    *v == DEFAULT_MAX_CLOCK_DRIFT_MS
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_tx_bytes: u64,
    pub max_block_transactions: u64,
    pub mempool_capacity: u64,
    /// Most transactions one signer account may have pending in a node's mempool. The
    /// default ([`DEFAULT_MEMPOOL_PER_ACCOUNT`]) is not serialized, so genesis files written
    /// before this field existed keep their hash.
    #[serde(default = "default_mempool_per_account", skip_serializing_if = "is_default_mempool_per_account")]
    pub mempool_per_account: u64,
    /// Largest block (borsh bytes), checked on every proposal received. The default
    /// ([`DEFAULT_MAX_BLOCK_BYTES`]) is not serialized, so older genesis files keep their hash.
    #[serde(default = "default_max_block_bytes", skip_serializing_if = "is_default_max_block_bytes")]
    pub max_block_bytes: u64,
    /// Bytes (borsh) of pending transactions a node's mempool holds at most. The default
    /// ([`DEFAULT_MEMPOOL_BYTES`]) is not serialized, so older genesis files keep their hash.
    #[serde(default = "default_mempool_bytes", skip_serializing_if = "is_default_mempool_bytes")]
    pub mempool_bytes: u64,
    /// Most cost units one block may hold (`chain_types::SignedTransaction::cost`, about a
    /// microsecond of a validator's CPU each): blocks are sized by what their transactions
    /// cost, checked on every proposal received. The default ([`DEFAULT_MAX_BLOCK_COST`]) is
    /// not serialized, so older genesis files keep their hash.
    #[serde(default = "default_max_block_cost", skip_serializing_if = "is_default_max_block_cost")]
    pub max_block_cost: u64,
}

/// Block cost limit when the genesis file names none: about 120 ms of one validator's work
/// (some 1,000 transfers, or 400 function calls).
pub const DEFAULT_MAX_BLOCK_COST: u64 = 120_000;

fn default_max_block_cost() -> u64 {
    DEFAULT_MAX_BLOCK_COST
}

fn is_default_max_block_cost(v: &u64) -> bool {
    *v == DEFAULT_MAX_BLOCK_COST
}

/// Mempool size in bytes when the genesis file names none.
pub const DEFAULT_MEMPOOL_BYTES: u64 = 128 * 1024 * 1024;

fn default_mempool_bytes() -> u64 {
    DEFAULT_MEMPOOL_BYTES
}

fn is_default_mempool_bytes(v: &u64) -> bool {
    *v == DEFAULT_MEMPOOL_BYTES
}

/// Block size limit when the genesis file names none.
pub const DEFAULT_MAX_BLOCK_BYTES: u64 = 8 * 1024 * 1024;

fn default_max_block_bytes() -> u64 {
    DEFAULT_MAX_BLOCK_BYTES
}

fn is_default_max_block_bytes(v: &u64) -> bool {
    *v == DEFAULT_MAX_BLOCK_BYTES
}

/// Pending transactions per signer account when the genesis file names no limit.
pub const DEFAULT_MEMPOOL_PER_ACCOUNT: u64 = 256;

fn default_mempool_per_account() -> u64 {
    DEFAULT_MEMPOOL_PER_ACCOUNT
}

fn is_default_mempool_per_account(v: &u64) -> bool {
    *v == DEFAULT_MEMPOOL_PER_ACCOUNT
}

impl Genesis {
    /// Reads, parses and validates a genesis file.
    pub fn load(path: &Path) -> Result<Genesis, GenesisError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| GenesisError::Read { path: path.to_owned(), source })?;
        Self::from_json(&text)
    }

    /// Parses and validates genesis JSON. A type error names its field; semantic problems
    /// are all reported together.
    pub fn from_json(text: &str) -> Result<Genesis, GenesisError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let genesis: Genesis = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            GenesisError::Parse {
                field: if field == "." { "(document)".into() } else { field },
                message: e.into_inner().to_string(),
            }
        })?;
        let problems = crate::validate(&genesis);
        if problems.is_empty() {
            Ok(genesis)
        } else {
            Err(GenesisError::Invalid(problems))
        }
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Deterministic content hash (see the crate docs).
    pub fn hash(&self) -> CryptoHash {
        crate::canonical::hash(self)
    }

    /// Stake of each validator in set order: equal shares, remainder to the first ones.
    pub fn validator_stakes(&self) -> Vec<Balance> {
        split_stake(self.total_stake, self.validators.len())
    }

    /// The treasury module's configuration at genesis.
    pub fn treasury_config(&self) -> contracts::treasury::Config {
        let t = &self.treasury;
        contracts::treasury::Config {
            members: t.members.clone(),
            num_confirmations: t.confirmations,
            active_requests_limit: t.active_requests_limit,
            request_lifetime_blocks: t.request_lifetime_blocks,
            delete_cooldown_blocks: t.delete_cooldown_blocks,
            registrar: self.registrar.account_id.clone(),
            workspace: self.workspace.account_id.clone(),
        }
    }

    /// The validator set at genesis, with the total stake it shares.
    pub fn validator_schedule(&self) -> ValidatorSchedule {
        ValidatorSchedule {
            total_stake: self.total_stake,
            current: self
                .validators
                .iter()
                .map(|v| ValidatorInfo {
                    account_id: v.account_id.clone(),
                    consensus_key: v.consensus_key,
                    peer_id: v.peer_id.clone(),
                    address: v.address.clone(),
                })
                .collect(),
            pending: None,
        }
    }

    /// Every account that exists at genesis with its state and full-access keys.
    pub fn initial_accounts(&self) -> Vec<(AccountId, Account, Vec<PublicKey>)> {
        let mut out = Vec::new();
        let plain = |amount| Account { amount, locked: 0, storage_usage: 0 };
        out.push((self.treasury.account_id.clone(), plain(self.treasury.balance), Vec::new()));
        out.push((self.registrar.account_id.clone(), plain(0), Vec::new()));
        out.push((self.workspace.account_id.clone(), plain(0), Vec::new()));
        for (v, stake) in self.validators.iter().zip(self.validator_stakes()) {
            out.push((v.account_id.clone(), Account { amount: 0, locked: stake, storage_usage: 0 }, Vec::new()));
        }
        for a in &self.accounts {
            out.push((a.account_id.clone(), plain(a.balance), a.keys.clone()));
        }
        out
    }
}

impl Problem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { field: field.into(), message: message.into() }
    }
}
