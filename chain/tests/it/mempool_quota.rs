//! The mempool's per-account bounds at admission: a quota on one signer's pending
//! transactions, and its pending deposits checked against its balance at the head. Both free
//! up as blocks commit.

use std::sync::Arc;
use std::time::Duration;

use chain::consensus::run;
use chain::mempool::Pending;
use chain::node::Node;
use chain_types::{AccountId, Balance, CryptoHash, InvalidTxError, SignedTransaction, Transaction};
use genesis::Generated;
use kms::{LocalSigner, Signer};
use rpc::{BlockRef, Finality, NodeApi, SubmitError};
use tokio::sync::watch;

use crate::harness::{id, one_validator, open_node, transfer};

const QUOTA: u64 = 3;

fn chain() -> Generated {
    let mut g = one_validator("quota-test", genesis::unix_time_ms());
    g.genesis.limits.mempool_per_account = QUOTA;
    g
}

fn recent(node: &Node) -> CryptoHash {
    node.block(BlockRef::Finality(Finality::Final)).unwrap().hash()
}

/// `signer` (its genesis key) pays `deposit` to acme with `nonce`.
fn pay(g: &Generated, node: &Node, signer: &str, nonce: u64, deposit: Balance) -> SignedTransaction {
    let k = g.accounts.iter().find(|a| a.account_id.as_str() == signer).unwrap();
    Transaction {
        signer_id: k.account_id.clone(),
        public_key: k.public_key,
        nonce,
        receiver_id: id("acme"),
        block_hash: recent(node),
        actions: vec![transfer(deposit)],
    }
    .sign(&k.secret_key)
}

fn balance(node: &Node, account: &AccountId) -> Balance {
    node.account(account, BlockRef::Finality(Finality::Final)).unwrap().0.unwrap().amount
}

#[test]
fn the_quota_is_a_genesis_limit_whose_default_keeps_older_files_valid() {
    let g = one_validator("quota-test", 1_700_000_000_000).genesis;
    assert_eq!(g.limits.mempool_per_account, genesis::DEFAULT_MEMPOOL_PER_ACCOUNT);
    let mut json = serde_json::to_value(&g).unwrap();
    assert!(json["limits"].get("mempool_per_account").is_none(), "the default is not written");
    let parse = |v: &serde_json::Value| genesis::Genesis::from_json(&v.to_string());
    assert_eq!(parse(&json).unwrap().hash(), g.hash(), "a file without the field");
    json["limits"]["mempool_per_account"] = genesis::DEFAULT_MEMPOOL_PER_ACCOUNT.into();
    assert_eq!(parse(&json).unwrap().hash(), g.hash(), "the default spelled out hashes the same");
    json["limits"]["mempool_per_account"] = 0.into();
    let err = parse(&json).unwrap_err().to_string();
    assert!(err.contains("limits.mempool_per_account"), "{err}");
}

#[test]
fn one_account_past_its_quota_is_refused_while_another_gets_in() {
    let g = chain();
    let dir = tempfile::tempdir().unwrap();
    let node = open_node(&g, dir.path(), None);
    for nonce in 1..=QUOTA {
        node.submit(pay(&g, &node, "alice.acme", nonce, 1)).unwrap();
    }
    let full = SubmitError::MempoolFull { capacity: QUOTA as usize };
    let next = node.submit(pay(&g, &node, "alice.acme", QUOTA + 1, 1));
    assert_eq!(next.unwrap_err().to_string(), full.to_string());
    let gap = node.submit(pay(&g, &node, "alice.acme", 1_000, 1));
    assert!(
        matches!(gap, Err(SubmitError::MempoolFull { capacity }) if capacity == QUOTA as usize),
        "a nonce gap does not help"
    );
    node.submit(pay(&g, &node, "bob.acme", 1, 1)).expect("another account still gets in");
    assert_eq!(node.mempool().len(), QUOTA as usize + 1);
    assert_eq!(node.mempool().pending(&id("alice.acme")), Pending { count: QUOTA as usize, cost: QUOTA as u128 });
}

#[test]
fn pending_spend_beyond_the_balance_is_refused() {
    let g = chain();
    let dir = tempfile::tempdir().unwrap();
    let node = open_node(&g, dir.path(), None);
    let alice = id("alice.acme");
    let held = balance(&node, &alice);
    node.submit(pay(&g, &node, "alice.acme", 1, held - 10)).unwrap();
    let over = node.submit(pay(&g, &node, "alice.acme", 2, 11));
    let expected = InvalidTxError::NotEnoughBalance { signer_id: alice.clone(), balance: held, cost: held + 1 };
    assert!(matches!(&over, Err(SubmitError::Invalid(e)) if *e == expected), "{over:?}");
    node.submit(pay(&g, &node, "alice.acme", 3, 10)).expect("exactly the balance");
    node.submit(pay(&g, &node, "bob.acme", 1, 10)).expect("bob's balance is his own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_blocks_free_the_quota_and_the_pending_spend() {
    let g = chain();
    let dir = tempfile::tempdir().unwrap();
    let key = g.validators[0].consensus.secret_key.clone();
    let node: Arc<Node> = open_node(&g, dir.path(), Some(&key));
    let alice = id("alice.acme");
    let held = balance(&node, &alice);
    node.submit(pay(&g, &node, "alice.acme", 1, held - 2)).unwrap();
    node.submit(pay(&g, &node, "alice.acme", 2, 1)).unwrap();
    node.submit(pay(&g, &node, "alice.acme", 3, 1)).unwrap();
    assert!(matches!(node.submit(pay(&g, &node, "alice.acme", 4, 0)), Err(SubmitError::MempoolFull { .. })));

    // The validator commits them.
    let (stop, stop_rx) = watch::channel(false);
    let signer: Arc<dyn Signer> = Arc::new(LocalSigner::new(key));
    let driven = node.clone();
    let wal = dir.path().join("wal");
    let task = tokio::spawn(async move { run(driven, Some(signer), &wal, None, stop_rx).await });
    let mut heads = node.subscribe_head();
    tokio::time::timeout(Duration::from_secs(30), heads.wait_for(|h| *h >= 1)).await.unwrap().unwrap();
    assert!(node.mempool().is_empty());
    assert_eq!(node.mempool().pending(&alice), Pending::default(), "commit frees the account's slots and spend");
    assert_eq!(balance(&node, &alice), 0);

    // Slots are free again, and the spend is now checked against the balance after the block.
    let broke = node.submit(pay(&g, &node, "alice.acme", 4, 1));
    assert!(
        matches!(&broke, Err(SubmitError::Invalid(InvalidTxError::NotEnoughBalance { balance: 0, cost: 1, .. }))),
        "{broke:?}"
    );
    for nonce in 5..5 + QUOTA {
        node.submit(pay(&g, &node, "alice.acme", nonce, 0)).expect("the quota freed up");
    }
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
}
