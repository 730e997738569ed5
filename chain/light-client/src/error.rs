use chain_types::{BlockHeight, CertificateError, CryptoHash};

/// Why a header or proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LightClientError {
    #[error("block {height} is in epoch {epoch}, whose validator set this client does not know (it knows epochs {known_from}..={known_to})")]
    UnknownEpoch { height: BlockHeight, epoch: u64, known_from: u64, known_to: u64 },
    #[error("the certificate of block {height} does not hold: {source}")]
    Certificate { height: BlockHeight, source: CertificateError },
    #[error("block {height}: the listed next validators hash to {listed}, the header commits to {committed}")]
    NextSetMismatch { height: BlockHeight, listed: CryptoHash, committed: CryptoHash },
    #[error("block {height} changes the validator set before its epoch's last block")]
    SetChangedMidEpoch { height: BlockHeight },
    #[error("block {height} is not newer than the client's head {head}")]
    NotNewer { height: BlockHeight, head: BlockHeight },
    #[error("the transaction is not at position {index} under the header's tx_root")]
    TransactionNotIncluded { index: usize },
    #[error("the outcome is not at position {index} under the header's outcome_root")]
    OutcomeNotIncluded { index: usize },
    #[error("asked about transaction {asked}, the proof is of {proven}")]
    OtherTransaction { asked: CryptoHash, proven: CryptoHash },
    #[error("the outcome is of transaction {outcome}, not {transaction}")]
    OutcomeOfAnotherTransaction { transaction: CryptoHash, outcome: CryptoHash },
    #[error("the state proof does not hold against root {root}: {detail}")]
    StateProof { root: CryptoHash, detail: String },
    #[error("malformed answer: {0}")]
    Malformed(String),
}
