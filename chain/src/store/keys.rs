//! State key layout. Account ids never contain 0x00, so `id ++ 0x00` ends a prefix exactly.

use chain_types::{AccountId, PublicKey};

const ACCOUNT: u8 = b'a';
const ACCESS_KEY: u8 = b'k';
const MODULE: u8 = b'm';
const MODULE_DATA: u8 = b'd';
const SEP: u8 = 0;

/// A state key read back: whose it is and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedKey {
    Account(AccountId),
    AccessKey(AccountId, PublicKey),
    Module(AccountId),
    ModuleData(AccountId, Vec<u8>),
}

/// Builders for state keys.
#[derive(Debug)]
pub struct StateKey;

impl StateKey {
    fn with_account(tag: u8, account: &AccountId) -> Vec<u8> {
        let mut k = Vec::with_capacity(2 + account.len() + 33);
        k.push(tag);
        k.extend_from_slice(account.as_bytes());
        k.push(SEP);
        k
    }

    /// borsh `Account`
    pub fn account(account: &AccountId) -> Vec<u8> {
        Self::with_account(ACCOUNT, account)
    }

    /// borsh `AccessKey`
    pub fn access_key(account: &AccountId, key: &PublicKey) -> Vec<u8> {
        let mut k = Self::access_keys_prefix(account);
        k.extend_from_slice(&key.0);
        k
    }

    pub fn access_keys_prefix(account: &AccountId) -> Vec<u8> {
        Self::with_account(ACCESS_KEY, account)
    }

    /// Name of the native module deployed on the account (UTF-8).
    pub fn module(account: &AccountId) -> Vec<u8> {
        Self::with_account(MODULE, account)
    }

    /// A module's own storage entry.
    pub fn module_data(account: &AccountId, key: &[u8]) -> Vec<u8> {
        let mut k = Self::module_data_prefix(account);
        k.extend_from_slice(key);
        k
    }

    pub fn module_data_prefix(account: &AccountId) -> Vec<u8> {
        Self::with_account(MODULE_DATA, account)
    }

    /// What `key` is, `None` for a key no builder here makes.
    pub fn parse(key: &[u8]) -> Option<ParsedKey> {
        let (&tag, rest) = key.split_first()?;
        let end = rest.iter().position(|b| *b == SEP)?;
        let account: AccountId = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
        let tail = &rest[end + 1..];
        match tag {
            ACCOUNT if tail.is_empty() => Some(ParsedKey::Account(account)),
            ACCESS_KEY => Some(ParsedKey::AccessKey(account, PublicKey(tail.try_into().ok()?))),
            MODULE if tail.is_empty() => Some(ParsedKey::Module(account)),
            MODULE_DATA => Some(ParsedKey::ModuleData(account, tail.to_vec())),
            _ => None,
        }
    }

    /// Every prefix under which an account owns state (for DeleteAccount).
    pub fn owned_prefixes(account: &AccountId) -> [Vec<u8>; 4] {
        [
            Self::account(account),
            Self::access_keys_prefix(account),
            Self::module(account),
            Self::module_data_prefix(account),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_parses_back_to_what_built_it() {
        let id: AccountId = "alice.acme".parse().unwrap();
        let pk = PublicKey([7; 32]);
        assert_eq!(StateKey::parse(&StateKey::account(&id)), Some(ParsedKey::Account(id.clone())));
        assert_eq!(StateKey::parse(&StateKey::access_key(&id, &pk)), Some(ParsedKey::AccessKey(id.clone(), pk)));
        assert_eq!(StateKey::parse(&StateKey::module(&id)), Some(ParsedKey::Module(id.clone())));
        assert_eq!(
            StateKey::parse(&StateKey::module_data(&id, b"k\0x")),
            Some(ParsedKey::ModuleData(id.clone(), b"k\0x".to_vec()))
        );
        assert_eq!(StateKey::parse(b"zalice.acme\0"), None);
        assert_eq!(StateKey::parse(b"a"), None);
    }
}
