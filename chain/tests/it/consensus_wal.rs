//! A validator that crashed after precommitting but before committing resumes from its
//! consensus WAL: it commits exactly the block it signed, with the signature it logged, and
//! signs nothing new for that height.

use std::sync::Arc;
use std::time::Duration;

use chain::consensus::wal::{self, WalEntry};
use chain::consensus::{build_block, run};
use chain_types::{Action, ProposalSignBytes, Transaction, TransferAction, VoteKind, VoteSignBytes};
use consensus::{Proposal, Vote};
use kms::{LocalSigner, Signer};
use rpc::NodeApi;

use crate::harness::{one_validator, open_node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_the_logged_decision_after_a_crash() {
    let g = one_validator("wal-test", 1_700_000_000_000);
    let dir = tempfile::tempdir().unwrap();
    let key = g.validators[0].consensus.secret_key.clone();
    let node = open_node(&g, dir.path(), Some(&key));

    // A transfer waits in the mempool; the validator built height 1 from it and signed
    // proposal, prevote and precommit, all logged, then crashed before committing.
    let alice = g.accounts.iter().find(|a| a.account_id.as_str() == "alice.acme").unwrap();
    let genesis_hash = node.store().head_block().unwrap().unwrap().block.hash();
    let tx = Transaction {
        signer_id: alice.account_id.clone(),
        public_key: alice.public_key,
        nonce: 1,
        receiver_id: "bob.acme".parse().unwrap(),
        block_hash: genesis_hash,
        actions: vec![Action::Transfer(TransferAction { deposit: 5 })],
    }
    .sign(&alice.secret_key);
    node.submit(tx.clone()).unwrap();
    let built =
        tokio::task::block_in_place(|| build_block(&node, crate::harness::id("v0.acme"), 1_700_000_000_001)).unwrap();
    let id = built.block.hash();
    let chain_id = "wal-test".to_string();
    let proposal = Proposal { height: 1, round: 0, value: id, pol_round: None, proposer: 0 };
    let p_sig = key.sign(
        &ProposalSignBytes { chain_id: chain_id.clone(), height: 1, round: 0, block_hash: id, pol_round: None }
            .to_bytes(),
    );
    let vote = |kind| Vote { kind, height: 1, round: 0, value: Some(id), validator: 0 };
    let v_sig = |kind| {
        key.sign(
            &VoteSignBytes { chain_id: chain_id.clone(), kind, height: 1, round: 0, block_hash: Some(id) }.to_bytes(),
        )
    };
    let wal_dir = dir.path().join("wal");
    {
        let (mut wal, _) = wal::open(&wal_dir).unwrap();
        wal.append(&WalEntry::Proposal { proposal, block: Box::new(built.block.clone()), signature: p_sig }).unwrap();
        wal.append(&WalEntry::Vote { vote: vote(VoteKind::Prevote), signature: v_sig(VoteKind::Prevote) }).unwrap();
        wal.append(&WalEntry::Vote { vote: vote(VoteKind::Precommit), signature: v_sig(VoteKind::Precommit) }).unwrap();
    }
    // Time passes: a fresh build now would carry another timestamp, so another id.
    tokio::time::sleep(Duration::from_millis(5)).await;

    let signer: Arc<dyn Signer> = Arc::new(LocalSigner::new(key.clone()));
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let mut heads = node.subscribe_head();
    let task = {
        let (node, wal_dir) = (node.clone(), wal_dir.clone());
        tokio::spawn(async move { run(node, Some(signer), &wal_dir, None, stop_rx).await })
    };
    tokio::time::timeout(Duration::from_secs(10), heads.wait_for(|h| *h >= 1)).await.unwrap().unwrap();
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();

    let committed = node.store().block(1).unwrap().unwrap();
    assert_eq!(committed.block.hash(), id, "the logged block, not a new one");
    assert_eq!(committed.certificate.signatures.len(), 1);
    assert_eq!(committed.certificate.signatures[0].signature, v_sig(VoteKind::Precommit), "the logged precommit");
    assert!(node.outcome(&tx.hash()).unwrap().is_some(), "its transaction executed");
    let (_, left) = wal::open(&wal_dir).unwrap();
    let height_one: Vec<_> = left.iter().filter(|e| e.height() == 1).collect();
    assert_eq!(height_one.len(), 3, "nothing new was signed for height 1: {height_one:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_in_the_middle_of_the_wal_stops_the_node_and_a_torn_tail_does_not() {
    // Defect 10: a corrupt record in the middle was taken for a torn tail, and every later
    // record (possibly the lock) dropped.
    let g = one_validator("wal-damage", 1_700_000_000_000);
    let dir = tempfile::tempdir().unwrap();
    let key = g.validators[0].consensus.secret_key.clone();
    let node = open_node(&g, dir.path(), Some(&key));
    let wal_dir = dir.path().join("wal");
    let vote = |round| WalEntry::Vote {
        vote: Vote { kind: VoteKind::Prevote, height: 1, round, value: None, validator: 0 },
        signature: key.sign(
            &VoteSignBytes {
                chain_id: "wal-damage".into(),
                kind: VoteKind::Prevote,
                height: 1,
                round,
                block_hash: None,
            }
            .to_bytes(),
        ),
    };
    {
        let (mut w, _) = wal::open(&wal_dir).unwrap();
        for round in 0..3 {
            w.append(&vote(round)).unwrap();
        }
    }
    let file = wal_dir.join("consensus.wal");
    let mut bytes = std::fs::read(&file).unwrap();
    let record = bytes.len() / 3;
    bytes[record + 12] ^= 0x10;
    std::fs::write(&file, &bytes).unwrap();

    let signer: Arc<dyn Signer> = Arc::new(LocalSigner::new(key.clone()));
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let outcome =
        tokio::time::timeout(Duration::from_secs(10), run(node.clone(), Some(signer.clone()), &wal_dir, None, stop_rx))
            .await
            .expect("the node stops by itself");
    let err = outcome.expect_err("a damaged WAL stops the node").to_string();
    assert!(err.contains("damaged at byte") && err.contains("sign twice"), "{err}");
    assert_eq!(node.store().head().unwrap(), Some(0), "nothing was decided");

    // Repaired except for half a record at the end (a crash mid-append): it starts.
    bytes[record + 12] ^= 0x10;
    bytes.truncate(bytes.len() - 5);
    std::fs::write(&file, &bytes).unwrap();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = {
        let (node, wal_dir) = (node.clone(), wal_dir.clone());
        tokio::spawn(async move { run(node, Some(signer), &wal_dir, None, stop_rx).await })
    };
    let mut heads = node.subscribe_head();
    tokio::time::timeout(Duration::from_secs(10), heads.wait_for(|h| *h >= 1)).await.unwrap().unwrap();
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
}
