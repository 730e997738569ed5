//! Each transaction signature is verified once per node: at admission to the mempool, or,
//! for a proposal's transactions the mempool has not seen, as one batch when the proposal is
//! executed. Blocks with a commit certificate are not re-verified.

use chain::consensus::{build_block, execute_block, Signatures};
use chain::node::Node;
use chain_types::SignedTransaction;
use genesis::Generated;
use rpc::{NodeApi, SubmitError};

use crate::harness::{alice_to_bob, one_validator, open_node};

fn chain() -> Generated {
    one_validator("sig-test", 1_700_000_000_000)
}

fn node(g: &Generated, dir: &tempfile::TempDir) -> std::sync::Arc<Node> {
    open_node(g, dir.path(), None)
}

fn transfers(g: &Generated, node: &Node, count: u64) -> Vec<SignedTransaction> {
    let recent = node.store().head_block().unwrap().unwrap().block.hash();
    alice_to_bob(g, recent, 1..count + 1)
}

#[test]
fn signatures_are_verified_once() {
    let g = chain();
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let (proposer, seen, unseen, certified) =
        (node(&g, &dirs[0]), node(&g, &dirs[1]), node(&g, &dirs[2]), node(&g, &dirs[3]));
    let mut txs = transfers(&g, &proposer, 8);
    let mut forged = txs.pop().unwrap();
    forged.signature.0[5] ^= 1;

    // Admission checks the signature.
    assert!(matches!(proposer.submit(forged.clone()), Err(SubmitError::Invalid(_))));
    for tx in &txs {
        proposer.submit(tx.clone()).unwrap();
    }
    // A faulty proposer's mempool holds the forged one unchecked; its block carries it.
    proposer.mempool().insert(forged.clone()).unwrap();
    let block = build_block(&proposer, crate::harness::id("v0.acme"), 1_700_000_000_001).unwrap().block;
    assert_eq!(block.transactions.len(), 8);

    // A node that never saw the transactions verifies them (as one batch) and refuses.
    assert!(execute_block(&unseen, block.clone(), Signatures::VerifyUnseen).unwrap().is_none());
    // A node whose mempool admitted them does not verify again: the forged one was counted
    // as checked when (wrongly) inserted, so the block executes.
    for tx in &txs {
        seen.submit(tx.clone()).unwrap();
    }
    seen.mempool().insert(forged.clone()).unwrap();
    assert!(execute_block(&seen, block.clone(), Signatures::VerifyUnseen).unwrap().is_some());

    // A certified block (from sync) is executed without signature checks; so the block is
    // valid in every other respect, and the refusal above was the forged signature.
    assert!(execute_block(&certified, block, Signatures::Certified).unwrap().is_some());
}

#[test]
fn a_mempool_hit_skips_verification_only_for_the_same_signature() {
    // Defect 9: the block id did not cover signatures and a mempool hit (by hash) skipped
    // verification, so a block carrying a known transaction with a forged signature was
    // valid to nodes that had the genuine one.
    let g = chain();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let (proposer, seen) = (node(&g, &dirs[0]), node(&g, &dirs[1]));
    let txs = transfers(&g, &proposer, 3);
    for tx in &txs {
        proposer.submit(tx.clone()).unwrap();
        seen.submit(tx.clone()).unwrap();
    }
    let honest = build_block(&proposer, crate::harness::id("v0.acme"), 1_700_000_000_001).unwrap().block;
    let mut forged = honest.clone();
    forged.transactions[1].signature.0[9] ^= 1;
    forged.header.tx_root = chain_types::Block::compute_tx_root(&forged.transactions);
    assert_ne!(forged.hash(), honest.hash(), "the block id covers the signatures");
    assert!(
        execute_block(&seen, forged, Signatures::VerifyUnseen).unwrap().is_none(),
        "the altered signature is verified, and fails"
    );
    assert!(execute_block(&seen, honest, Signatures::VerifyUnseen).unwrap().is_some());
}

#[test]
fn a_block_with_an_executed_transaction_is_invalid_and_outcomes_stay() {
    // Defect 11: outcomes were keyed by transaction hash and overwritten, so a proposer that
    // included an executed transaction again made `tx` report a failure for a transfer that
    // happened.
    let g = chain();
    let dir = tempfile::tempdir().unwrap();
    let n = node(&g, &dir);
    let txs = transfers(&g, &n, 2);
    n.submit(txs[0].clone()).unwrap();
    let first = build_block(&n, crate::harness::id("v0.acme"), 1_700_000_000_001).unwrap();
    assert_eq!(first.block.transactions, vec![txs[0].clone()]);
    let cert = |b: &chain_types::Block| chain_types::CommitCertificate {
        height: b.header.height,
        round: 0,
        block_hash: b.hash(),
        signatures: vec![],
    };
    let c = cert(&first.block);
    chain::consensus::commit(&n, first, c).unwrap();
    let outcome = n.outcome(&txs[0].hash()).unwrap().unwrap().0;
    assert!(matches!(outcome.status, chain_types::ExecutionStatus::SuccessValue(_)));

    // A proposer includes it again, beside a new one.
    n.submit(txs[1].clone()).unwrap();
    let mut again = build_block(&n, crate::harness::id("v0.acme"), 1_700_000_000_002).unwrap().block;
    assert_eq!(again.transactions, vec![txs[1].clone()], "our own blocks never hold an executed transaction");
    again.transactions.insert(0, txs[0].clone());
    again.header.tx_root = chain_types::Block::compute_tx_root(&again.transactions);
    assert!(execute_block(&n, again, Signatures::Certified).unwrap().is_none(), "invalid");
    assert_eq!(n.outcome(&txs[0].hash()).unwrap().unwrap().0, outcome, "the outcome stays");

    // Twice in one block is invalid too.
    let mut twice = build_block(&n, crate::harness::id("v0.acme"), 1_700_000_000_003).unwrap().block;
    twice.transactions.push(txs[1].clone());
    twice.header.tx_root = chain_types::Block::compute_tx_root(&twice.transactions);
    assert!(execute_block(&n, twice, Signatures::Certified).unwrap().is_none());
}

#[test]
fn gossip_batches_are_verified_and_bad_ones_singled_out() {
    let g = chain();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (sender, receiver) = (node(&g, &a), node(&g, &b));
    let mut txs = transfers(&g, &sender, 10);
    assert_eq!(receiver.accept_from_peer(txs.clone()), 10, "a clean batch is admitted whole");
    assert_eq!(receiver.accept_from_peer(txs.clone()), 0, "duplicates are dropped");

    let c = tempfile::tempdir().unwrap();
    let other = node(&g, &c);
    txs[3].signature.0[0] ^= 1;
    assert_eq!(other.accept_from_peer(txs.clone()), 9, "the one bad signature is found and refused");
    assert!(!other.mempool().contains(&txs[3].hash()));
}

/// Blocks are sized by what their transactions cost, not by a count: with room for 20
/// transfers' cost (and a count cap far above), a proposer takes 20 of the 60 waiting (a
/// proposal over the cost is refused on receipt: `consensus_driver::validity`).
#[test]
fn blocks_are_cut_by_cost() {
    let mut g = chain();
    let each = {
        let recent = chain_types::CryptoHash::default();
        alice_to_bob(&g, recent, 1..2)[0].cost()
    };
    g.genesis.limits.max_block_cost = 20 * each + each / 2;
    g.genesis.limits.max_block_transactions = 4_000;
    let dir = tempfile::tempdir().unwrap();
    let n = node(&g, &dir);
    for tx in transfers(&g, &n, 60) {
        n.submit(tx).unwrap();
    }
    let block = build_block(&n, crate::harness::id("v0.acme"), 1_700_000_000_001).unwrap().block;
    assert_eq!(block.transactions.len(), 20, "cut at the cost limit");
    assert!(chain_types::total_cost(&block.transactions) <= g.genesis.limits.max_block_cost);
}

/// More actions than NEAR allows in one transaction is refused at admission in NEAR's shape
/// (so no transaction can cost more than a block may hold).
#[test]
fn more_than_a_hundred_actions_are_refused_at_admission() {
    use chain_types::{Action, ActionsValidationError, InvalidTxError, Transaction, TransferAction};
    let g = chain();
    let dir = tempfile::tempdir().unwrap();
    let n = node(&g, &dir);
    let one = transfers(&g, &n, 1).remove(0);
    let alice = g.accounts.iter().find(|a| a.account_id.as_str() == "alice.acme").unwrap();
    let tx =
        Transaction { actions: vec![Action::Transfer(TransferAction { deposit: 1 }); 101], ..one.transaction.clone() }
            .sign(&alice.secret_key);
    match n.submit(tx) {
        Err(SubmitError::Invalid(InvalidTxError::ActionsValidation(
            ActionsValidationError::TotalNumberOfActionsExceeded { total_number_of_actions: 101, limit: 100 },
        ))) => {}
        other => panic!("expected TotalNumberOfActionsExceeded, got {other:?}"),
    }
    let hundred =
        Transaction { actions: vec![Action::Transfer(TransferAction { deposit: 1 }); 100], ..one.transaction }
            .sign(&alice.secret_key);
    n.submit(hundred).expect("100 actions are allowed");
}
