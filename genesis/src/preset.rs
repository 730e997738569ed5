//! `genesis new`: a complete genesis plus every key it names, for a preset.

use std::path::{Path, PathBuf};

use chain_types::{AccountId, Balance, SecretKey};
use serde::{Deserialize, Serialize};

use crate::schema::*;
use crate::validate::PROFESSIONAL_MIN_VALIDATORS;
use crate::{GenesisError, KeyFile, NetworkKeyFile};

/// One token = 10^24 units, as NEAR.
const TOKEN: u128 = 1_000_000_000_000_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// One or a few validators with local key files, funded demo accounts.
    #[default]
    Development,
    /// At least four validators; validators must sign through Vault.
    Professional,
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "development" | "dev" => Ok(Preset::Development),
            "professional" | "prod" => Ok(Preset::Professional),
            other => Err(format!("unknown preset `{other}`: use development or professional")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewGenesisOptions {
    pub validators: usize,
    pub preset: Preset,
    pub chain_id: String,
    /// Validator i listens for peers on `/ip4/{host}/tcp/{base_port + i}`.
    pub host: String,
    pub base_port: u16,
    pub genesis_time_ms: u64,
}

/// A validator's keys, as written under `validators/<name>/`.
#[derive(Debug, Clone)]
pub struct GeneratedValidator {
    pub consensus: KeyFile,
    pub network: NetworkKeyFile,
}

/// Everything `genesis new` produces.
#[derive(Debug, Clone)]
pub struct Generated {
    pub genesis: Genesis,
    pub validators: Vec<GeneratedValidator>,
    pub accounts: Vec<KeyFile>,
}

fn id(s: &str) -> Result<AccountId, GenesisError> {
    s.parse().map_err(|e| GenesisError::Options(format!("account id `{s}`: {e}")))
}

/// Builds a genesis and its keys. Fails if the options break the preset's rules.
pub fn generate(opts: &NewGenesisOptions) -> Result<Generated, GenesisError> {
    let n = opts.validators;
    if n == 0 {
        return Err(GenesisError::Options("--validators must be at least 1".into()));
    }
    if opts.preset == Preset::Professional && n < PROFESSIONAL_MIN_VALIDATORS {
        return Err(GenesisError::Options(format!(
            "the professional preset needs at least {PROFESSIONAL_MIN_VALIDATORS} validators"
        )));
    }
    if usize::from(opts.base_port) + n > usize::from(u16::MAX) {
        return Err(GenesisError::Options("--base-port + --validators exceeds 65535".into()));
    }
    let master = id("acme")?;
    let validators = (0..n)
        .map(|i| {
            Ok(GeneratedValidator {
                consensus: KeyFile::new(id(&format!("v{i}.acme"))?, SecretKey::generate()),
                network: NetworkKeyFile::new(SecretKey::generate()),
            })
        })
        .collect::<Result<Vec<_>, GenesisError>>()?;
    let users = ["alice.acme", "bob.acme", "carol.acme"].map(id);
    let users: Vec<AccountId> = users.into_iter().collect::<Result<_, _>>()?;
    let mut accounts = vec![KeyFile::new(master.clone(), SecretKey::generate())];
    accounts.extend(users.iter().map(|u| KeyFile::new(u.clone(), SecretKey::generate())));

    let user_balance = 1_000_000 * TOKEN;
    let total_supply = 1_000_000_000 * TOKEN;
    let total_stake = 10_000_000 * TOKEN;
    let treasury_balance = total_supply - total_stake - user_balance * accounts.len() as u128;

    let professional = opts.preset == Preset::Professional;
    let genesis = Genesis {
        chain_id: opts.chain_id.clone(),
        preset: opts.preset,
        genesis_time_ms: opts.genesis_time_ms,
        workspace: WorkspaceSpec {
            name: "Acme workspace".into(),
            master_account: master,
            account_id: id("workspace")?,
            limits: Default::default(),
        },
        organizations: vec![Organization {
            id: "acme".into(),
            name: "Acme Corp".into(),
            members: accounts.iter().map(|k| k.account_id.clone()).collect(),
            admins: Vec::new(),
        }],
        validators: validators
            .iter()
            .enumerate()
            .map(|(i, v)| ValidatorSpec {
                account_id: v.consensus.account_id.clone(),
                organization: "acme".into(),
                consensus_key: v.consensus.public_key,
                peer_id: v.network.peer_id.clone(),
                address: format!("/ip4/{}/tcp/{}", opts.host, usize::from(opts.base_port) + i),
            })
            .collect(),
        treasury: TreasurySpec::new(
            id("treasury")?,
            users.iter().map(|u| TreasuryMember::Account { account_id: u.clone() }).collect(),
            2,
            treasury_balance,
        ),
        registrar: RegistrarSpec { account_id: id("registrar")? },
        accounts: accounts
            .iter()
            .map(|k| AccountSpec { account_id: k.account_id.clone(), balance: user_balance, keys: vec![k.public_key] })
            .collect(),
        total_supply,
        total_stake,
        epoch_length: if professional { 1000 } else { 100 },
        consensus: ConsensusParams {
            max_block_interval_ms: if professional { 5000 } else { 1000 },
            min_block_interval_ms: 0,
            timeout_propose_ms: 1000,
            timeout_vote_ms: 500,
            timeout_delta_ms: 500,
            timeout_max_ms: 120_000,
            max_clock_drift_ms: DEFAULT_MAX_CLOCK_DRIFT_MS,
        },
        transaction_validity_blocks: if professional { 600 } else { 1200 },
        limits: Limits {
            max_tx_bytes: 64 * 1024,
            // A sanity cap: blocks are sized by bytes and cost (about 1,000 transfers).
            max_block_transactions: 4000,
            mempool_capacity: 100_000,
            mempool_per_account: DEFAULT_MEMPOOL_PER_ACCOUNT,
            max_block_bytes: DEFAULT_MAX_BLOCK_BYTES,
            mempool_bytes: DEFAULT_MEMPOOL_BYTES,
            max_block_cost: DEFAULT_MAX_BLOCK_COST,
        },
    };
    let problems = crate::validate(&genesis);
    if !problems.is_empty() {
        return Err(GenesisError::Invalid(problems));
    }
    Ok(Generated { genesis, validators, accounts })
}

impl Generated {
    /// Adds `count` accounts `{prefix}{i}.{master}` (i from 0) with a fresh full-access key
    /// each and `balance` taken from the treasury, so the total supply is unchanged. For
    /// load generation.
    pub fn add_funded_accounts(&mut self, prefix: &str, count: usize, balance: Balance) -> Result<(), GenesisError> {
        let needed = balance
            .checked_mul(count as u128)
            .filter(|n| *n <= self.genesis.treasury.balance)
            .ok_or_else(|| GenesisError::Options(format!("the treasury cannot fund {count} accounts of {balance}")))?;
        self.genesis.treasury.balance -= needed;
        let master = self.genesis.workspace.master_account.clone();
        for i in 0..count {
            let key = KeyFile::new(id(&format!("{prefix}{i}.{master}"))?, SecretKey::generate());
            self.genesis.accounts.push(AccountSpec {
                account_id: key.account_id.clone(),
                balance,
                keys: vec![key.public_key],
            });
            self.accounts.push(key);
        }
        Ok(())
    }

    /// Writes `genesis.json`, `validators/<account>/{consensus_key,network_key}.json` and
    /// `accounts/<account>.json` under `dir`. Refuses to overwrite an existing genesis.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, GenesisError> {
        let genesis_path = dir.join("genesis.json");
        if genesis_path.exists() {
            return Err(GenesisError::Options(format!(
                "{} already exists; choose another --out",
                genesis_path.display()
            )));
        }
        let mkdir =
            |p: &Path| std::fs::create_dir_all(p).map_err(|source| GenesisError::Write { path: p.to_owned(), source });
        for v in &self.validators {
            let vdir = dir.join("validators").join(v.consensus.account_id.as_str());
            mkdir(&vdir)?;
            v.consensus.save(&vdir.join("consensus_key.json"))?;
            v.network.save(&vdir.join("network_key.json"))?;
        }
        let adir = dir.join("accounts");
        mkdir(&adir)?;
        for a in &self.accounts {
            a.save(&adir.join(format!("{}.json", a.account_id)))?;
        }
        std::fs::write(&genesis_path, self.genesis.to_json_pretty() + "\n")
            .map_err(|source| GenesisError::Write { path: genesis_path.clone(), source })?;
        Ok(genesis_path)
    }
}
