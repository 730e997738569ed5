//! The light client's inputs as the node's JSON-RPC answers carry them: each answer has a
//! `chain` object (or `state_proof` for `query`) with base64 borsh of this chain's header,
//! commit certificate and proofs.

use base64::Engine as _;
use borsh::BorshDeserialize;
use chain_types::merkle::MerklePath;
use chain_types::{AccountId, BlockHeader, CommitCertificate, PublicKey, SignedTransaction};
use serde_json::Value;

use crate::LightClientError;

/// A header with the certificate that finalized it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifiedHeader {
    pub header: BlockHeader,
    pub certificate: CommitCertificate,
}

/// `next_light_client_block`: a certified header and the set deciding the height after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LightClientBlock {
    pub certified: CertifiedHeader,
    pub next_bps: Vec<(AccountId, PublicKey)>,
}

/// `light_client_proof`: a transaction and its outcome under a certified header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionProof {
    pub certified: CertifiedHeader,
    pub transaction: SignedTransaction,
    pub tx_index: usize,
    pub tx_path: MerklePath,
    /// borsh of `(tx_hash, signer_id, receiver_id, status, logs)`: sha3 of it is the leaf.
    pub outcome: Vec<u8>,
    pub outcome_path: MerklePath,
}

/// One state entry and its Jellyfish Merkle proof (borsh `SparseMerkleProof<Sha3_256>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEntryProof {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
    pub proof: Vec<u8>,
}

/// `query` with `include_proof`: entries proven against the `prev_state_root` of the
/// certified header of the block after the one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateProofSet {
    pub root_block: CertifiedHeader,
    pub entries: Vec<StateEntryProof>,
}

fn malformed(what: impl std::fmt::Display) -> LightClientError {
    LightClientError::Malformed(what.to_string())
}

fn bytes(v: &Value, field: &str) -> Result<Vec<u8>, LightClientError> {
    let text = v.get(field).and_then(Value::as_str).ok_or_else(|| malformed(format!("`{field}` is missing")))?;
    base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| malformed(format!("`{field}`: {e}")))
}

fn borsh_field<T: BorshDeserialize>(v: &Value, field: &str) -> Result<T, LightClientError> {
    borsh::from_slice(&bytes(v, field)?).map_err(|e| malformed(format!("`{field}`: {e}")))
}

fn json_field<T: serde::de::DeserializeOwned>(v: &Value, field: &str) -> Result<T, LightClientError> {
    let raw = v.get(field).cloned().ok_or_else(|| malformed(format!("`{field}` is missing")))?;
    serde_json::from_value(raw).map_err(|e| malformed(format!("`{field}`: {e}")))
}

fn certified(v: &Value) -> Result<CertifiedHeader, LightClientError> {
    Ok(CertifiedHeader { header: borsh_field(v, "header")?, certificate: borsh_field(v, "certificate")? })
}

fn chain(answer: &Value) -> Result<&Value, LightClientError> {
    answer.get("chain").ok_or_else(|| malformed("the answer has no `chain` object"))
}

impl LightClientBlock {
    /// From a `next_light_client_block` answer; `None` for the empty answer (nothing newer).
    pub fn from_answer(answer: &Value) -> Result<Option<Self>, LightClientError> {
        if answer.as_object().is_some_and(serde_json::Map::is_empty) {
            return Ok(None);
        }
        let c = chain(answer)?;
        Ok(Some(LightClientBlock { certified: certified(c)?, next_bps: borsh_field(c, "next_bps")? }))
    }
}

impl ExecutionProof {
    /// From a `light_client_proof` answer.
    pub fn from_answer(answer: &Value) -> Result<Self, LightClientError> {
        let c = chain(answer)?;
        Ok(ExecutionProof {
            certified: certified(c)?,
            transaction: borsh_field(c, "transaction")?,
            tx_index: json_field(c, "tx_index")?,
            tx_path: json_field(c, "tx_path")?,
            outcome: bytes(c, "outcome")?,
            outcome_path: json_field(c, "outcome_path")?,
        })
    }
}

impl StateProofSet {
    /// From a `query` answer given `include_proof: true`.
    pub fn from_answer(answer: &Value) -> Result<Self, LightClientError> {
        let p = answer.get("state_proof").ok_or_else(|| malformed("the answer has no `state_proof`"))?;
        let entries = p
            .get("entries")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("`state_proof.entries` is missing"))?
            .iter()
            .map(|e| {
                let value = match e.get("value") {
                    Some(Value::Null) | None => None,
                    Some(_) => Some(bytes(e, "value")?),
                };
                Ok(StateEntryProof { key: bytes(e, "key")?, value, proof: bytes(e, "proof")? })
            })
            .collect::<Result<_, LightClientError>>()?;
        Ok(StateProofSet { root_block: certified(p)?, entries })
    }
}
