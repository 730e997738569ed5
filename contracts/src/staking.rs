//! The validator set and its stake, kept in the treasury's storage.
//!
//! The treasury funds a constant total stake, divided equally over the current validators
//! (shown as each validator account's `locked`). A set change decided by a treasury request
//! is kept as `pending` and applied by the runtime at the end of the last block of the epoch
//! ([`end_epoch`]): from the next height the new set decides blocks and the total stake is
//! re-divided over it. A removed validator's `locked` drops to 0; stake is never spendable.

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::{AccountId, Balance, PublicKey};
use serde::{Deserialize, Serialize};

use crate::{Host, ModuleError};

/// Treasury storage key of the [`ValidatorSchedule`].
pub const SCHEDULE_KEY: &[u8] = b"validators";

/// Most validators a set may hold (validator indexes are u16 on the wire).
pub const MAX_VALIDATORS: usize = u16::MAX as usize;

/// A validator: its account (which holds the stake), consensus key and network identity.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorInfo {
    pub account_id: AccountId,
    pub consensus_key: PublicKey,
    /// libp2p peer id of its network key.
    pub peer_id: String,
    /// Where peers reach it, as a multiaddr.
    pub address: String,
}

/// One change to the validator set, as a treasury request carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidatorChange {
    Add(ValidatorInfo),
    Remove(AccountId),
    Replace(AccountId, ValidatorInfo),
}

/// The current set, the set decided for the next epoch (if any) and the stake they share.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ValidatorSchedule {
    #[serde(with = "chain_types::u128_string")]
    pub total_stake: Balance,
    pub current: Vec<ValidatorInfo>,
    pub pending: Option<Vec<ValidatorInfo>>,
}

impl ValidatorSchedule {
    /// The set the next epoch will start with.
    pub fn next(&self) -> &[ValidatorInfo] {
        self.pending.as_deref().unwrap_or(&self.current)
    }

    /// The next set with `change` applied, refused if it would break a rule: never empty,
    /// no account, consensus key, peer id or address twice, valid peer ids and addresses.
    pub fn with_change(&self, change: &ValidatorChange) -> Result<Vec<ValidatorInfo>, ModuleError> {
        let mut set = self.next().to_vec();
        let position = |set: &[ValidatorInfo], id: &AccountId| {
            set.iter()
                .position(|v| &v.account_id == id)
                .ok_or_else(|| ModuleError::Rejected(format!("{id} is not a validator")))
        };
        match change {
            ValidatorChange::Add(v) => set.push(v.clone()),
            ValidatorChange::Remove(id) => {
                let i = position(&set, id)?;
                set.remove(i);
            }
            ValidatorChange::Replace(id, v) => {
                let i = position(&set, id)?;
                set[i] = v.clone();
            }
        }
        check_set(&set)?;
        Ok(set)
    }

    /// Each current validator's stake, in set order.
    pub fn stakes(&self) -> Vec<Balance> {
        split_stake(self.total_stake, self.current.len())
    }
}

fn check_set(set: &[ValidatorInfo]) -> Result<(), ModuleError> {
    if set.is_empty() {
        return Err(ModuleError::Rejected("the validator set cannot be empty".into()));
    }
    if set.len() > MAX_VALIDATORS {
        return Err(ModuleError::Rejected(format!("at most {MAX_VALIDATORS} validators")));
    }
    for (i, v) in set.iter().enumerate() {
        if v.consensus_key.verifying_key().is_none() {
            return Err(ModuleError::Rejected(format!("consensus key {} is not a valid ed25519 key", v.consensus_key)));
        }
        if !is_peer_id_like(&v.peer_id) {
            return Err(ModuleError::Rejected(format!("`{}` is not a libp2p peer id", v.peer_id)));
        }
        if !is_multiaddr_like(&v.address) {
            return Err(ModuleError::Rejected(format!(
                "`{}` is not a multiaddr like /ip4/1.2.3.4/tcp/30333 or /dns/host/tcp/30333",
                v.address
            )));
        }
        for w in &set[..i] {
            let clash = if w.account_id == v.account_id {
                Some(format!("account {}", v.account_id))
            } else if w.consensus_key == v.consensus_key {
                Some(format!("consensus key {}", v.consensus_key))
            } else if w.peer_id == v.peer_id {
                Some(format!("peer id {}", v.peer_id))
            } else if w.address == v.address {
                Some(format!("address {}", v.address))
            } else {
                None
            };
            if let Some(what) = clash {
                return Err(ModuleError::Rejected(format!("{what} is already in the validator set")));
            }
        }
    }
    Ok(())
}

/// A base58 libp2p peer id of an ed25519 key (`12D3KooW...`) or a sha256 multihash (`Qm...`).
pub fn is_peer_id_like(p: &str) -> bool {
    (p.starts_with("12D3KooW") || p.starts_with("Qm"))
        && (40..=60).contains(&p.len())
        && p.bytes().all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'))
}

/// `/ip4|ip6|dns|dns4|dns6/<host>/tcp|udp/<port>[/...]`.
pub fn is_multiaddr_like(a: &str) -> bool {
    let parts: Vec<&str> = a.split('/').collect();
    parts.len() >= 5
        && parts[0].is_empty()
        && matches!(parts[1], "ip4" | "ip6" | "dns" | "dns4" | "dns6")
        && !parts[2].is_empty()
        && matches!(parts[3], "tcp" | "udp")
        && parts[4].parse::<u16>().is_ok()
}

/// Splits `total` into `n` shares that differ by at most one unit and add up to `total`.
pub fn split_stake(total: Balance, n: usize) -> Vec<Balance> {
    if n == 0 {
        return Vec::new();
    }
    let n128 = n as u128;
    let (share, rest) = (total / n128, total % n128);
    (0..n128).map(|i| share + u128::from(i < rest)).collect()
}

/// Reads the schedule from the treasury's storage.
pub fn read(host: &dyn Host) -> Result<ValidatorSchedule, ModuleError> {
    let bytes = host
        .storage_read(SCHEDULE_KEY)
        .ok_or_else(|| ModuleError::Rejected("the treasury holds no validator schedule".into()))?;
    borsh::from_slice(&bytes).map_err(|e| ModuleError::Rejected(format!("corrupt validator schedule: {e}")))
}

pub(crate) fn write(host: &mut dyn Host, schedule: &ValidatorSchedule) {
    host.storage_write(SCHEDULE_KEY, &chain_types::to_borsh(schedule));
}

/// Records `change` for the next epoch boundary. The validator's account must exist.
pub(crate) fn propose(host: &mut dyn Host, change: &ValidatorChange) -> Result<String, ModuleError> {
    let mut schedule = read(host)?;
    if let ValidatorChange::Add(v) | ValidatorChange::Replace(_, v) = change {
        if host.balance_of(&v.account_id).is_none() {
            return Err(ModuleError::AccountDoesNotExist(v.account_id.clone()));
        }
    }
    let next = schedule.with_change(change)?;
    let summary = format!(
        "validator set from the next epoch: {}",
        next.iter().map(|v| v.account_id.as_str()).collect::<Vec<_>>().join(", ")
    );
    schedule.pending = Some(next);
    write(host, &schedule);
    Ok(summary)
}

/// Called by the runtime with the treasury's host after the last block of an epoch: a
/// pending set becomes current and the total stake is re-divided equally over it. Pending
/// validators whose account was deleted meanwhile are left out; if none is left, the
/// current set stays. Returns the new set when it changed.
pub fn end_epoch(host: &mut dyn Host) -> Result<Option<Vec<ValidatorInfo>>, ModuleError> {
    let mut schedule = read(host)?;
    let Some(next) = schedule.pending.take() else { return Ok(None) };
    let next: Vec<ValidatorInfo> = next.into_iter().filter(|v| host.balance_of(&v.account_id).is_some()).collect();
    if next.is_empty() {
        host.log("the pending validator set lost all its accounts; the current set stays".into());
        write(host, &schedule);
        return Ok(None);
    }
    for old in &schedule.current {
        if !next.iter().any(|v| v.account_id == old.account_id) {
            host.set_locked(&old.account_id, 0)?;
        }
    }
    for (v, stake) in next.iter().zip(split_stake(schedule.total_stake, next.len())) {
        host.set_locked(&v.account_id, stake)?;
    }
    schedule.current = next;
    write(host, &schedule);
    Ok(Some(schedule.current.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_types::SecretKey;

    fn v(i: u8) -> ValidatorInfo {
        ValidatorInfo {
            account_id: format!("v{i}.acme").parse().unwrap(),
            consensus_key: SecretKey::from_seed([i; 32]).public_key(),
            peer_id: format!("12D3KooW{}", char::from(b'a' + i).to_string().repeat(44)),
            address: format!("/ip4/127.0.0.1/tcp/{}", 30000 + u16::from(i)),
        }
    }

    fn schedule(n: u8) -> ValidatorSchedule {
        ValidatorSchedule { total_stake: 100, current: (0..n).map(v).collect(), pending: None }
    }

    #[test]
    fn stake_split_is_exact() {
        assert_eq!(split_stake(10, 4), vec![3, 3, 2, 2]);
        assert_eq!(split_stake(12, 4).iter().sum::<u128>(), 12);
        assert!(split_stake(5, 0).is_empty());
    }

    #[test]
    fn changes_keep_the_set_valid() {
        let s = schedule(2);
        assert_eq!(s.with_change(&ValidatorChange::Add(v(2))).unwrap().len(), 3);
        assert!(s.with_change(&ValidatorChange::Add(v(1))).is_err(), "duplicate");
        let mut same_key = v(3);
        same_key.consensus_key = v(0).consensus_key;
        assert!(s.with_change(&ValidatorChange::Add(same_key)).is_err(), "duplicate key");
        let mut bad_addr = v(3);
        bad_addr.address = "127.0.0.1:30000".into();
        assert!(s.with_change(&ValidatorChange::Add(bad_addr)).is_err());
        let one = schedule(1);
        assert!(one.with_change(&ValidatorChange::Remove(v(0).account_id)).is_err(), "never empty");
        assert!(s.with_change(&ValidatorChange::Remove(v(5).account_id)).is_err(), "unknown");
        let replaced = s.with_change(&ValidatorChange::Replace(v(1).account_id, v(4))).unwrap();
        assert_eq!(replaced[1], v(4));
    }

    #[test]
    fn changes_stack_on_the_pending_set() {
        let mut s = schedule(2);
        s.pending = Some(s.with_change(&ValidatorChange::Add(v(2))).unwrap());
        assert_eq!(s.with_change(&ValidatorChange::Add(v(3))).unwrap().len(), 4);
    }
}
