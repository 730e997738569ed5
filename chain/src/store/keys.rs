//! State key layout. Account ids never contain 0x00, so `id ++ 0x00` ends a prefix exactly.

use chain_types::{AccountId, PublicKey};

const ACCOUNT: u8 = b'a';
const ACCESS_KEY: u8 = b'k';
const MODULE: u8 = b'm';
const MODULE_DATA: u8 = b'd';
const SEP: u8 = 0;

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
