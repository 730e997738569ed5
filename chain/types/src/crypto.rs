//! ed25519 keys and signatures in NEAR's borsh (`u8` key type 0 + raw bytes) and text
//! (`ed25519:<base58>`) forms. Other key types (secp256k1 = 1) are refused with a clear error.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde_with::{DeserializeFromStr, SerializeDisplay};

const ED25519_TAG: u8 = 0;
const ED25519_PREFIX: &str = "ed25519:";

/// Why a key or signature did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyParseError {
    #[error("unsupported key type `{found}`, only ed25519 is accepted")]
    UnsupportedKeyType { found: String },
    #[error("invalid base58 in key data: {0}")]
    Base58(String),
    #[error("expected {expected} bytes of key data, found {found}")]
    Length { expected: usize, found: usize },
    #[error("secret key's public half does not match its seed")]
    MismatchedSecretKey,
}

fn parse_ed25519<const N: usize>(s: &str) -> Result<[u8; N], KeyParseError> {
    let data = match s.split_once(':') {
        Some(("ed25519", data)) => data,
        Some((other, _)) => return Err(KeyParseError::UnsupportedKeyType { found: other.into() }),
        None => s,
    };
    let bytes = bs58::decode(data).into_vec().map_err(|e| KeyParseError::Base58(e.to_string()))?;
    let found = bytes.len();
    bytes.try_into().map_err(|_| KeyParseError::Length { expected: N, found })
}

fn write_tagged<W: Write>(w: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(&[ED25519_TAG])?;
    w.write_all(bytes)
}

fn read_tagged<R: Read, const N: usize>(r: &mut R) -> std::io::Result<[u8; N]> {
    let tag = u8::deserialize_reader(r)?;
    if tag != ED25519_TAG {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("unsupported key type {tag}, only ed25519 (0) is accepted"),
        ));
    }
    let mut out = [0u8; N];
    r.read_exact(&mut out)?;
    Ok(out)
}

/// `Display` as `ed25519:<base58>`; serde goes through `Display` / `FromStr`.
macro_rules! ed25519_text {
    ($ty:ty) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{ED25519_PREFIX}{}", bs58::encode(self.text_bytes()).into_string())
            }
        }
    };
}

/// Text, `Debug`, `FromStr` and NEAR borsh (tag 0 + raw bytes) for a public byte-array type.
macro_rules! ed25519_bytes {
    ($ty:ident, $n:literal) => {
        impl $ty {
            fn text_bytes(&self) -> &[u8] {
                &self.0
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($ty), "({})"), self)
            }
        }

        impl FromStr for $ty {
            type Err = KeyParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_ed25519::<$n>(s).map($ty)
            }
        }

        impl BorshSerialize for $ty {
            fn serialize<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
                write_tagged(w, &self.0)
            }
        }

        impl BorshDeserialize for $ty {
            fn deserialize_reader<R: Read>(r: &mut R) -> std::io::Result<Self> {
                read_tagged::<R, $n>(r).map($ty)
            }
        }

        ed25519_text!($ty);
    };
}

/// An ed25519 public key. Holds the raw 32 bytes as sent; whether they are a valid curve point
/// is decided when a signature is verified (as NEAR does).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, SerializeDisplay, DeserializeFromStr)]
pub struct PublicKey(pub [u8; 32]);

ed25519_bytes!(PublicKey, 32);

impl PublicKey {
    /// Verifies `sig` over `message`. False for a malformed key or a wrong signature.
    pub fn verify(&self, message: &[u8], sig: &Signature) -> bool {
        VerifyingKey::from_bytes(&self.0)
            .map(|vk| vk.verify(message, &ed25519_dalek::Signature::from_bytes(&sig.0)).is_ok())
            .unwrap_or(false)
    }

    /// The dalek verifying key, if the bytes are a valid point (for batch verification).
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        VerifyingKey::from_bytes(&self.0).ok()
    }
}

/// An ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, SerializeDisplay, DeserializeFromStr)]
pub struct Signature(pub [u8; 64]);

ed25519_bytes!(Signature, 64);

/// An ed25519 secret key. Text form is NEAR's: `ed25519:` + base58(seed || public key).
/// `Debug` never prints key material.
#[derive(Clone, SerializeDisplay, DeserializeFromStr)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SecretKey(SigningKey::from_bytes(&seed))
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        SecretKey(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// The 32-byte seed the key is derived from (secret).
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }

    fn text_bytes(&self) -> [u8; 64] {
        self.0.to_keypair_bytes()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public: {})", self.public_key())
    }
}

impl FromStr for SecretKey {
    type Err = KeyParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = parse_ed25519::<64>(s)?;
        SigningKey::from_keypair_bytes(&bytes).map(SecretKey).map_err(|_| KeyParseError::MismatchedSecretKey)
    }
}

ed25519_text!(SecretKey);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_sign_verify() {
        let sk = SecretKey::from_seed([7; 32]);
        let pk = sk.public_key();
        assert_eq!(sk.to_string().parse::<SecretKey>().unwrap().public_key(), pk);
        assert_eq!(pk.to_string().parse::<PublicKey>(), Ok(pk));
        let sig = sk.sign(b"msg");
        assert!(pk.verify(b"msg", &sig));
        assert!(!pk.verify(b"other", &sig));
        assert_eq!(sig.to_string().parse::<Signature>(), Ok(sig));
    }

    #[test]
    fn refuses_other_key_types_and_lengths() {
        assert_eq!(
            "secp256k1:abc".parse::<PublicKey>(),
            Err(KeyParseError::UnsupportedKeyType { found: "secp256k1".into() })
        );
        assert!(matches!("ed25519:2".parse::<PublicKey>(), Err(KeyParseError::Length { .. })));
        assert!(borsh::from_slice::<PublicKey>(&[1; 33]).is_err());
        assert!(borsh::from_slice::<PublicKey>(&[0; 32]).is_err(), "truncated key");
    }

    #[test]
    fn debug_hides_secret() {
        let sk = SecretKey::from_seed([9; 32]);
        let secret_text = sk.to_string();
        assert!(!format!("{sk:?}").contains(&secret_text[8..]));
    }
}
