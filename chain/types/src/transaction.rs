//! Transactions and actions, borsh-identical to nearcore (tags of BRIEF section 4).

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::{sha256, to_borsh, AccountId, Balance, CryptoHash, Nonce, PublicKey, SecretKey, Signature};

/// The unsigned body of a transaction. Signed over `sha256(borsh(self))`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Transaction {
    pub signer_id: AccountId,
    pub public_key: PublicKey,
    pub nonce: Nonce,
    pub receiver_id: AccountId,
    /// A recent block's hash; the transaction is valid only within the genesis validity window.
    pub block_hash: CryptoHash,
    pub actions: Vec<Action>,
}

impl Transaction {
    /// The transaction hash: sha256 of the borsh encoding, which is also the signed message.
    pub fn hash(&self) -> CryptoHash {
        sha256(&to_borsh(self))
    }

    pub fn sign(self, key: &SecretKey) -> SignedTransaction {
        let signature = key.sign(self.hash().as_bytes());
        SignedTransaction { transaction: self, signature }
    }
}

/// A transaction with its signature, as wallets submit it (base64 of this borsh).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedTransaction {
    pub transaction: Transaction,
    pub signature: Signature,
}

impl SignedTransaction {
    pub fn hash(&self) -> CryptoHash {
        self.transaction.hash()
    }

    /// sha3-256 of the signed transaction's borsh: its leaf in a block's `tx_root`, and how
    /// a proposal names it. Unlike [`SignedTransaction::hash`] it covers the signature, so it
    /// names one signed copy.
    pub fn digest(&self) -> CryptoHash {
        crate::sha3_256(&to_borsh(self))
    }

    /// True when the signature is the signer key's over the transaction hash.
    pub fn verify_signature(&self) -> bool {
        let hash = self.hash();
        self.transaction.public_key.verify(hash.as_bytes(), &self.signature)
    }
}

/// Verifies the signatures of all `txs` (with their `hashes`, in the same order) as one
/// ed25519 batch, about twice as fast per signature as one by one. False if any key or
/// signature is bad; check one by one to find which.
pub fn verify_signatures_batch(txs: &[&SignedTransaction], hashes: &[CryptoHash]) -> bool {
    if txs.len() != hashes.len() {
        return false;
    }
    if txs.is_empty() {
        return true;
    }
    let Some(keys) = txs.iter().map(|t| t.transaction.public_key.verifying_key()).collect::<Option<Vec<_>>>() else {
        return false;
    };
    let signatures: Vec<ed25519_dalek::Signature> =
        txs.iter().map(|t| ed25519_dalek::Signature::from_bytes(&t.signature.0)).collect();
    let messages: Vec<&[u8]> = hashes.iter().map(|h| h.as_bytes().as_slice()).collect();
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}

/// Every NEAR action, tagged 0..=8 in this order.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Action {
    CreateAccount(CreateAccountAction),
    DeployContract(DeployContractAction),
    FunctionCall(Box<FunctionCallAction>),
    Transfer(TransferAction),
    Stake(Box<StakeAction>),
    AddKey(Box<AddKeyAction>),
    DeleteKey(Box<DeleteKeyAction>),
    DeleteAccount(DeleteAccountAction),
    Delegate(Box<SignedDelegateAction>),
}

impl Action {
    /// The action's NEAR name, for error messages.
    pub fn name(&self) -> &'static str {
        match self {
            Action::CreateAccount(_) => "CreateAccount",
            Action::DeployContract(_) => "DeployContract",
            Action::FunctionCall(_) => "FunctionCall",
            Action::Transfer(_) => "Transfer",
            Action::Stake(_) => "Stake",
            Action::AddKey(_) => "AddKey",
            Action::DeleteKey(_) => "DeleteKey",
            Action::DeleteAccount(_) => "DeleteAccount",
            Action::Delegate(_) => "Delegate",
        }
    }

    /// Tokens this action moves out of the signer.
    pub fn deposit(&self) -> Balance {
        match self {
            Action::FunctionCall(f) => f.deposit,
            Action::Transfer(t) => t.deposit,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CreateAccountAction {}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DeployContractAction {
    pub code: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct FunctionCallAction {
    pub method_name: String,
    pub args: Vec<u8>,
    pub gas: u64,
    pub deposit: Balance,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TransferAction {
    pub deposit: Balance,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct StakeAction {
    pub stake: Balance,
    pub public_key: PublicKey,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AddKeyAction {
    pub public_key: PublicKey,
    pub access_key: AccessKey,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DeleteKeyAction {
    pub public_key: PublicKey,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DeleteAccountAction {
    pub beneficiary_id: AccountId,
}

/// NEP-366 meta transaction body. Decoded for wire compatibility; execution refuses it.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DelegateAction {
    pub sender_id: AccountId,
    pub receiver_id: AccountId,
    pub actions: Vec<Action>,
    pub nonce: Nonce,
    pub max_block_height: u64,
    pub public_key: PublicKey,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedDelegateAction {
    pub delegate_action: DelegateAction,
    pub signature: Signature,
}

/// An access key: its nonce and what it may sign.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct AccessKey {
    pub nonce: Nonce,
    pub permission: AccessKeyPermission,
}

impl AccessKey {
    pub fn full_access() -> Self {
        AccessKey { nonce: 0, permission: AccessKeyPermission::FullAccess }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum AccessKeyPermission {
    FunctionCall(FunctionCallPermission),
    FullAccess,
}

/// May sign one FunctionCall with zero deposit to `receiver_id`, calling one of
/// `method_names` (any method when empty); gas fees come out of `allowance` when set.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct FunctionCallPermission {
    #[serde(with = "crate::views::option_u128_string")]
    pub allowance: Option<Balance>,
    pub receiver_id: AccountId,
    pub method_names: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn account() -> impl Strategy<Value = AccountId> {
        "[a-z0-9]{2,12}(\\.[a-z0-9]{1,8})?".prop_map(|s| s.parse().unwrap())
    }

    fn key() -> impl Strategy<Value = PublicKey> {
        any::<[u8; 32]>().prop_map(PublicKey)
    }

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![
            Just(Action::CreateAccount(CreateAccountAction {})),
            proptest::collection::vec(any::<u8>(), 0..16)
                .prop_map(|code| Action::DeployContract(DeployContractAction { code })),
            ("[a-z_]{1,10}", proptest::collection::vec(any::<u8>(), 0..32), any::<u64>(), any::<u128>()).prop_map(
                |(method_name, args, gas, deposit)| Action::FunctionCall(Box::new(FunctionCallAction {
                    method_name,
                    args,
                    gas,
                    deposit
                }))
            ),
            any::<u128>().prop_map(|deposit| Action::Transfer(TransferAction { deposit })),
            (any::<u128>(), key())
                .prop_map(|(stake, public_key)| Action::Stake(Box::new(StakeAction { stake, public_key }))),
            (
                key(),
                any::<u64>(),
                proptest::option::of(any::<u128>()),
                account(),
                proptest::collection::vec("[a-z]{1,6}", 0..3)
            )
                .prop_map(|(public_key, nonce, allowance, receiver_id, method_names)| {
                    let permission = AccessKeyPermission::FunctionCall(FunctionCallPermission {
                        allowance,
                        receiver_id,
                        method_names,
                    });
                    Action::AddKey(Box::new(AddKeyAction { public_key, access_key: AccessKey { nonce, permission } }))
                }),
            key().prop_map(|public_key| Action::DeleteKey(Box::new(DeleteKeyAction { public_key }))),
            account().prop_map(|beneficiary_id| Action::DeleteAccount(DeleteAccountAction { beneficiary_id })),
        ]
    }

    fn transaction() -> impl Strategy<Value = Transaction> {
        (account(), key(), any::<u64>(), account(), any::<[u8; 32]>(), proptest::collection::vec(action(), 0..4))
            .prop_map(|(signer_id, public_key, nonce, receiver_id, hash, actions)| Transaction {
                signer_id,
                public_key,
                nonce,
                receiver_id,
                block_hash: CryptoHash(hash),
                actions,
            })
    }

    proptest! {
        #[test]
        fn borsh_round_trip_and_truncation_fails(tx in transaction(), sig in any::<[u8; 32]>(), cut in any::<prop::sample::Index>()) {
            let signed = SignedTransaction { transaction: tx, signature: Signature([sig, sig].concat().try_into().unwrap()) };
            let bytes = borsh::to_vec(&signed).unwrap();
            prop_assert_eq!(&borsh::from_slice::<SignedTransaction>(&bytes).unwrap(), &signed);
            let cut = cut.index(bytes.len());
            prop_assert!(borsh::from_slice::<SignedTransaction>(&bytes[..cut]).is_err());
        }

        #[test]
        fn signing_verifies_and_any_change_breaks_it(tx in transaction(), seed in any::<[u8; 32]>(), nonce_delta in 1u64..1000) {
            let sk = SecretKey::from_seed(seed);
            let mut tx = tx;
            tx.public_key = sk.public_key();
            let signed = tx.sign(&sk);
            prop_assert!(signed.verify_signature());
            let mut tampered = signed.clone();
            tampered.transaction.nonce = tampered.transaction.nonce.wrapping_add(nonce_delta);
            prop_assert!(!tampered.verify_signature());
        }
    }
}
