//! kill -9 during load: the node restarts at its last committed block with the same state
//! root, and no transaction acknowledged as FINAL is lost.

use std::sync::Arc;
use std::time::Duration;

use chain_types::CryptoHash;
use serde_json::json;
use tests::{balance, transfer, TestNode};

/// A transfer the node acknowledged as FINAL, and the block it named.
#[derive(Debug, Clone)]
struct Acked {
    tx: CryptoHash,
    block_hash: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_final_transaction() {
    let mut node = TestNode::start().await;
    let names = ["acme", "alice.acme", "bob.acme", "carol.acme"];
    let mut before = 0u128;
    for n in names {
        before += balance(&node.rpc, n).await;
    }
    let hash = node.rpc.final_block_hash().await.unwrap();
    let acked = Arc::new(std::sync::Mutex::new(Vec::<Acked>::new()));
    let mut senders = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (from, to) = (node.account(name), names[(i + 1) % names.len()].to_owned());
        let (rpc, acked) = (node.rpc.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            for nonce in 1..=10_000u64 {
                let tx = transfer(&from, &to, nonce, hash, 1);
                match rpc.send_tx(&tx, "FINAL").await {
                    Ok(r) => {
                        assert_eq!(r["status"], json!({ "SuccessValue": "" }), "{r}");
                        let block_hash = r["transaction_outcome"]["block_hash"].as_str().unwrap().to_owned();
                        acked.lock().unwrap().push(Acked { tx: tx.hash(), block_hash });
                    }
                    Err(_) => return nonce,
                }
            }
            0
        }));
    }
    // Let load build up, note the head, then kill in the middle of it.
    for _ in 0..100 {
        if acked.lock().unwrap().len() >= 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = node.rpc.call("block", json!({ "finality": "final" })).await.unwrap();
    node.kill9();
    for s in senders {
        let stopped_at = s.await.unwrap();
        assert!(stopped_at > 0, "every sender was cut off by the kill");
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 50, "load was running: {} acknowledged", acked.len());

    node.spawn().await;
    assert!(node.log().contains("node opened"), "restarted after the root check: {}", node.log());
    let h = seen["header"]["height"].clone();
    let again = node.rpc.call("block", json!({ "block_id": h })).await.unwrap();
    assert_eq!(again["header"]["hash"], seen["header"]["hash"], "block {h} is the same after the crash");

    for a in &acked {
        let r = node
            .rpc
            .call("tx", json!({ "tx_hash": a.tx, "sender_account_id": "alice.acme", "wait_until": "NONE" }))
            .await
            .unwrap_or_else(|e| panic!("acknowledged {} lost after kill -9: {e}", a.tx));
        assert_eq!(r["status"], json!({ "SuccessValue": "" }));
        assert_eq!(r["transaction_outcome"]["block_hash"], a.block_hash);
    }
    let mut after = 0u128;
    for n in names {
        after += balance(&node.rpc, n).await;
    }
    assert_eq!(after, before, "transfers among the four accounts conserve their total");

    // The chain goes on: a new transfer with the next nonce from the restored state (once
    // the height the crash interrupted, which may hold more of the load, is committed).
    let restarted_at = tests::height(&node.rpc).await;
    tests::reach(&node.rpc, restarted_at + 2, 30).await;
    let alice = node.account("alice.acme");
    let nonce = node.rpc.nonce(&alice.account_id, &alice.public_key).await.unwrap();
    let hash = node.rpc.final_block_hash().await.unwrap();
    let r = node.rpc.send_tx(&transfer(&alice, "bob.acme", nonce + 1, hash, 1), "FINAL").await.unwrap();
    assert_eq!(r["status"], json!({ "SuccessValue": "" }));
}
