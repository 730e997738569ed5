//! Account state and the number types and serde helpers the JSON forms share.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Token amounts (yocto units), u128 as in NEAR; shown as decimal strings in JSON.
pub type Balance = u128;
/// Access-key nonces. Clients keep them below 2^53 (JSON numbers).
pub type Nonce = u64;
pub type BlockHeight = u64;

/// An account as stored in state.
#[derive(Debug, Clone, PartialEq, Eq, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Account {
    #[serde(with = "u128_string")]
    pub amount: Balance,
    /// Stake held for a validator; not spendable.
    #[serde(with = "u128_string")]
    pub locked: Balance,
    pub storage_usage: u64,
}

/// Serialises a u128 as a decimal string (NEAR's JSON form for amounts).
pub mod u128_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        s.parse().map_err(|_| serde::de::Error::custom(format!("`{s}` is not a decimal u128")))
    }
}

/// `Option<u128>` as an optional decimal string.
pub mod option_u128_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u128>, D::Error> {
        let s = <Option<String> as Deserialize>::deserialize(d)?;
        s.map(|s| s.parse().map_err(|_| serde::de::Error::custom(format!("`{s}` is not a decimal u128")))).transpose()
    }
}
