//! Transactions that must be refused as a whole: typed reason, no state change, nonce kept.

use chain_types::{
    Action, CryptoHash, DeployContractAction, ExecutionStatus, InvalidTxError, SecretKey, TxExecutionError,
};

use crate::harness::{id, transfer, TestChain};

fn invalid(status: &ExecutionStatus) -> &InvalidTxError {
    match status {
        ExecutionStatus::Failure(TxExecutionError::InvalidTxError(e)) => e,
        other => panic!("expected an invalid transaction, got {other:?}"),
    }
}

/// Runs `tx` and checks it was refused with no effect at all.
fn refused(chain: &mut TestChain, tx: chain_types::SignedTransaction) -> InvalidTxError {
    let root = chain.root();
    let alice = chain.account("alice.acme");
    let r = chain.run(tx);
    assert_eq!(chain.root(), root, "a refused transaction must not change state");
    assert_eq!(chain.account("alice.acme"), alice);
    invalid(&r.status).clone()
}

#[test]
fn tampered_signature() {
    let mut c = TestChain::new();
    let mut tx = c.tx("alice.acme", "bob.acme", vec![transfer(5)]);
    tx.signature.0[0] ^= 1;
    assert_eq!(refused(&mut c, tx), InvalidTxError::InvalidSignature);
}

#[test]
fn a_used_nonce_reports_both_nonces() {
    // (The same transaction again cannot reach the runtime: a block holding a transaction
    // that has an outcome is invalid, see `mempool_signatures`.)
    let mut c = TestChain::new();
    let tx = c.tx("alice.acme", "bob.acme", vec![transfer(5)]);
    assert!(matches!(c.run(tx.clone()).status, ExecutionStatus::SuccessValue(_)));
    let key = c.key("alice.acme");
    let mut other = tx.transaction.clone();
    other.actions = vec![transfer(6)];
    assert_eq!(refused(&mut c, other.sign(&key)), InvalidTxError::InvalidNonce { tx_nonce: 1, ak_nonce: 1 });
}

#[test]
fn nonce_gaps_allowed_but_never_backwards() {
    let mut c = TestChain::new();
    let key = c.key("alice.acme");
    let mut tx = c.tx("alice.acme", "bob.acme", vec![transfer(1)]);
    tx.transaction.nonce = 10;
    let tx = tx.transaction.sign(&key);
    assert!(matches!(c.run(tx).status, ExecutionStatus::SuccessValue(_)));
    assert_eq!(c.access_key("alice.acme", &key.public_key()).unwrap().nonce, 10);
    let mut back = c.tx("alice.acme", "bob.acme", vec![transfer(1)]);
    back.transaction.nonce = 5;
    let back = back.transaction.sign(&key);
    assert_eq!(refused(&mut c, back), InvalidTxError::InvalidNonce { tx_nonce: 5, ak_nonce: 10 });
    let mut huge = c.tx("alice.acme", "bob.acme", vec![transfer(1)]);
    huge.transaction.nonce = 1 << 53;
    let huge = huge.transaction.sign(&key);
    assert!(matches!(refused(&mut c, huge), InvalidTxError::NonceTooLarge { .. }));
}

#[test]
fn unknown_signer_and_unknown_key() {
    let mut c = TestChain::new();
    let stranger = SecretKey::from_seed([42; 32]);
    let tx = c.tx_with_key("nobody.acme", &stranger, "bob.acme", vec![transfer(1)]);
    assert_eq!(refused(&mut c, tx), InvalidTxError::SignerDoesNotExist { signer_id: id("nobody.acme") });
    let tx = c.tx_with_key("alice.acme", &stranger, "bob.acme", vec![transfer(1)]);
    assert_eq!(
        refused(&mut c, tx),
        InvalidTxError::AccessKeyNotFound { account_id: id("alice.acme"), public_key: stranger.public_key() }
    );
}

#[test]
fn transfer_beyond_balance() {
    let mut c = TestChain::new();
    let balance = c.balance("alice.acme");
    let tx = c.tx("alice.acme", "bob.acme", vec![transfer(balance), transfer(1)]);
    assert_eq!(
        refused(&mut c, tx),
        InvalidTxError::NotEnoughBalance { signer_id: id("alice.acme"), balance, cost: balance + 1 }
    );
}

#[test]
fn block_hash_outside_validity_window() {
    let mut c = TestChain::new();
    c.generated.genesis.transaction_validity_blocks = 2;
    let key = c.key("alice.acme");
    let mut tx = c.tx("alice.acme", "bob.acme", vec![transfer(1)]);
    tx.transaction.block_hash = CryptoHash([7; 32]);
    let unknown = tx.transaction.clone().sign(&key);
    assert_eq!(refused(&mut c, unknown), InvalidTxError::Expired);
    let old = c.tx("alice.acme", "bob.acme", vec![transfer(1)]);
    c.block(vec![]);
    c.block(vec![]);
    assert_eq!(refused(&mut c, old), InvalidTxError::Expired);
}

#[test]
fn unsupported_and_empty_actions() {
    let mut c = TestChain::new();
    let tx = c.tx("alice.acme", "alice.acme", vec![Action::DeployContract(DeployContractAction { code: vec![0] })]);
    assert_eq!(refused(&mut c, tx), InvalidTxError::UnsupportedAction { action: "DeployContract".into() });
    let tx = c.tx("alice.acme", "bob.acme", vec![]);
    assert_eq!(refused(&mut c, tx), InvalidTxError::EmptyActions);
}
