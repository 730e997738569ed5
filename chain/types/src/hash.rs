//! 32-byte hashes: sha256 for transactions (NEAR), sha3-256 for blocks and state.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde_with::{DeserializeFromStr, SerializeDisplay};
use sha2::Digest as _;

/// A 32-byte digest, shown and parsed as base58 (the NEAR text form).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    BorshSerialize,
    BorshDeserialize,
    SerializeDisplay,
    DeserializeFromStr,
)]
pub struct CryptoHash(pub [u8; 32]);

/// borsh encoding into memory. Writing to a `Vec` cannot fail and no type of this chain has a
/// fallible serializer, so the encoding is always complete.
pub fn to_borsh<T: BorshSerialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let _infallible = value.serialize(&mut out);
    out
}

/// sha256 of `data`: the NEAR transaction hash and signed message.
pub fn sha256(data: &[u8]) -> CryptoHash {
    CryptoHash(sha2::Sha256::digest(data).into())
}

/// sha3-256 of `data`: block, header and state hashing.
pub fn sha3_256(data: &[u8]) -> CryptoHash {
    CryptoHash(sha3::Sha3_256::digest(data).into())
}

impl CryptoHash {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for CryptoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).into_string())
    }
}

impl fmt::Debug for CryptoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CryptoHash({self})")
    }
}

/// Why a base58 hash did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    #[error("hash is not valid base58: {0}")]
    Base58(String),
    #[error("hash must be 32 bytes, found {found}")]
    Length { found: usize },
}

impl FromStr for CryptoHash {
    type Err = HashParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = bs58::decode(s).into_vec().map_err(|e| HashParseError::Base58(e.to_string()))?;
        let found = bytes.len();
        let arr: [u8; 32] = bytes.try_into().map_err(|_| HashParseError::Length { found })?;
        Ok(CryptoHash(arr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base58_round_trip_and_length_check() {
        let h = sha3_256(b"abc");
        assert_eq!(h.to_string().parse::<CryptoHash>(), Ok(h));
        assert_eq!("3mJr7AoUXx2Wqd".parse::<CryptoHash>(), Err(HashParseError::Length { found: 10 }));
        assert!(matches!("0OIl".parse::<CryptoHash>(), Err(HashParseError::Base58(_))));
    }

    #[test]
    fn sha3_is_not_sha256() {
        assert_ne!(sha3_256(b"x"), sha256(b"x"));
    }
}
