//! Reopening the store: head, roots and history survive; the node refuses a foreign genesis.

use chain::node::Node;
use chain::store::{StateKey, Store};
use chain_types::Account;
use contracts::ModuleRegistry;

use crate::harness::{id, transfer, TestChain};

#[test]
fn reopen_keeps_head_root_and_history() {
    let mut c = TestChain::new();
    let start = c.balance("alice.acme");
    for _ in 0..3 {
        let tx = c.tx("alice.acme", "bob.acme", vec![transfer(10)]);
        c.run(tx);
    }
    c.block(vec![]);
    let head = c.head();
    let path = c.dir.path().join("db");
    let TestChain { dir, store, generated, .. } = c;
    drop(store);

    let store = Store::open(&path).expect("reopen");
    let again = store.head_block().unwrap().unwrap();
    assert_eq!(again, head);
    // A header carries the root its block starts from: the parent's.
    let parent = store.block(head.block.header.height - 1).unwrap().unwrap();
    assert_eq!(store.root_at(parent.jmt_version).unwrap(), head.block.header.prev_state_root);

    // History: alice's balance as of block 1 (one transfer) and as of the head (three).
    let at = |h: u64| -> u128 {
        let b = store.block(h).unwrap().unwrap();
        let bytes = store.state_at(&StateKey::account(&id("alice.acme")), b.jmt_version).unwrap().unwrap();
        borsh::from_slice::<Account>(&bytes).unwrap().amount
    };
    assert_eq!(at(1), start - 10);
    assert_eq!(at(head.block.header.height), start - 30);
    assert_eq!(at(0), start);
    drop(store);

    Node::open(&path, generated.genesis.clone(), ModuleRegistry::default(), None).expect("node opens on its own store");
    let mut other = generated.genesis.clone();
    other.epoch_length += 1; // not in the genesis block header: caught by the genesis file hash
    let err = Node::open(&path, other, ModuleRegistry::default(), None).expect_err("foreign genesis");
    assert!(err.to_string().contains("genesis"), "{err}");
    drop(dir);
}

#[test]
fn evidence_is_kept_once_and_survives_reopen() {
    use chain_types::{CryptoHash, Equivocation, VoteKind, VoteSignBytes};
    let c = TestChain::new();
    let sk = c.generated.validators[0].consensus.secret_key.clone();
    let vote = |b: Option<u8>| VoteSignBytes {
        chain_id: c.generated.genesis.chain_id.clone(),
        kind: VoteKind::Precommit,
        height: 4,
        round: 2,
        block_hash: b.map(|b| CryptoHash([b; 32])),
    };
    let evidence = Equivocation::Votes {
        validator: 0,
        public_key: sk.public_key(),
        first: vote(Some(1)),
        first_signature: sk.sign(&vote(Some(1)).to_bytes()),
        second: vote(Some(2)),
        second_signature: sk.sign(&vote(Some(2)).to_bytes()),
    };
    evidence.verify().expect("both messages signed by the validator");
    assert!(c.store.put_evidence(&evidence).unwrap(), "new evidence is stored");
    assert!(!c.store.put_evidence(&evidence).unwrap(), "the same evidence is stored once");

    let path = c.dir.path().join("db");
    let TestChain { dir, store, .. } = c;
    drop(store);
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.evidence().unwrap(), vec![evidence]);
    drop(dir);
}
