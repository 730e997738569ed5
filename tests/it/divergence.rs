//! A validator whose state was corrupted on disk (one account's balance changed behind the
//! Merkle tree's back) executes the next block touching that account to another state root.
//! The Merkle update is off the vote path, so it learns this one height later, from the
//! next certified header: it must stop with a clear "state diverged" error and sign nothing
//! more, while the other three go on with one chain.

use std::time::Duration;

use chain::store::StateKey;
use chain_types::{Account, Action, TransferAction};
use nix::sys::signal::Signal;
use testnet::{Layout, Network, NetworkOptions};
use tests::{account_key, assert_same_blocks, free_port_range, height, submit, wait_all};

/// Adds `extra` to `account`'s balance in the store at `data`, writing the state column only
/// (not the Merkle tree), as a bad disk or a careless operator would.
fn corrupt_balance(data: &std::path::Path, account: &str, extra: u128) {
    let opts = rocksdb::Options::default();
    let columns = rocksdb::DB::list_cf(&opts, data).expect("column families");
    let db = rocksdb::DB::open_cf(&opts, data, &columns).expect("open the stopped node's store");
    let state = db.cf_handle("state").expect("state column");
    let key = StateKey::account(&account.parse().unwrap());
    let mut a: Account = borsh::from_slice(&db.get_cf(state, &key).unwrap().expect("account")).unwrap();
    a.amount += extra;
    db.put_cf(state, &key, borsh::to_vec(&a).unwrap()).unwrap();
    db.flush_cf(state).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_with_corrupted_state_stops_instead_of_forking() {
    let dir = tempfile::tempdir().unwrap();
    let opts = NetworkOptions::new(4, free_port_range(4), free_port_range(4), "diverge");
    let mut net = Network::up(Layout::new(dir.path()), &opts).await.expect("4 validators up");
    let rpcs: Vec<_> = net.nodes.iter().map(|n| n.rpc.clone()).collect();
    wait_all(&rpcs, &[0, 1, 2, 3], 3, 60).await;

    // Validator 3 stops; one account's balance is changed in its store; it starts again.
    let mut accounts = testnet::Workload::load_accounts(&net.layout).unwrap();
    let (sender, receiver) = (accounts.remove(0), accounts.remove(0));
    net.signal(3, Signal::SIGTERM).unwrap();
    let status = net.nodes[3].child.wait().await.unwrap();
    assert!(status.success(), "a clean stop: {status}");
    corrupt_balance(&net.nodes[3].home.join("data"), sender.account_id.as_str(), 1_000);
    net.restart(3).await.expect("the corrupted node starts (its tree is intact)");
    let top = height(&rpcs[0]).await;
    wait_all(&rpcs, &[3], top, 60).await;

    // A transfer from that account: validator 3 executes it to another root, and the next
    // certified header shows it.
    let key = account_key(&net, sender.account_id.as_str());
    submit(&rpcs[0], &key, receiver.account_id.as_str(), vec![Action::Transfer(TransferAction { deposit: 7 })]).await;
    let mut stopped = None;
    for _ in 0..300 {
        if let Some(status) = net.nodes[3].child.try_wait().unwrap() {
            stopped = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = stopped.expect("the diverged validator stops within 30 s");
    assert!(!status.success(), "it stops with an error: {status}");
    let log = std::fs::read_to_string(net.nodes[3].home.join("node.log")).unwrap();
    assert!(
        log.contains("state diverged") && log.contains("signs nothing more"),
        "the error names the divergence:\n{log}"
    );

    // The other three go on, on one chain.
    let at = height(&rpcs[0]).await;
    let hs = wait_all(&rpcs, &[0, 1, 2], at + 5, 60).await;
    assert!(hs.iter().all(|h| *h >= at + 5), "three of four go on: {hs:?}");
    assert_same_blocks(&rpcs[..3], 1, at + 5).await;
    net.stop(Duration::from_secs(10)).await.unwrap();
}
