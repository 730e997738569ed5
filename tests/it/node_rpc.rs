//! A wallet's view: transfer through `send_tx`, read balances and nonces back.

use serde_json::json;
use tests::{balance, transfer, TestNode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_through_json_rpc_change_balances_and_nonces() {
    let node = TestNode::start().await;
    let alice = node.account("alice.acme");
    let (a0, b0) = (balance(&node.rpc, "alice.acme").await, balance(&node.rpc, "bob.acme").await);
    assert_eq!(node.rpc.nonce(&alice.account_id, &alice.public_key).await.unwrap(), 0);

    let hash = node.rpc.final_block_hash().await.unwrap();
    let tx = transfer(&alice, "bob.acme", 1, hash, 1_000);
    let r = node.rpc.send_tx(&tx, "FINAL").await.expect("send_tx FINAL");
    assert_eq!(r["final_execution_status"], "FINAL");
    assert_eq!(r["status"], json!({ "SuccessValue": "" }));
    assert_eq!(r["transaction"]["hash"], tx.hash().to_string());
    assert_eq!(r["transaction"]["actions"][0]["Transfer"]["deposit"], "1000");

    assert_eq!(balance(&node.rpc, "alice.acme").await, a0 - 1_000);
    assert_eq!(balance(&node.rpc, "bob.acme").await, b0 + 1_000);
    assert_eq!(node.rpc.nonce(&alice.account_id, &alice.public_key).await.unwrap(), 1);

    // wait_until NONE returns at once; `tx` then finds the outcome, in a block that holds it.
    let tx2 = transfer(&alice, "carol.acme", 7, hash, 5);
    let r = node.rpc.send_tx(&tx2, "NONE").await.unwrap();
    assert_eq!(r, json!({ "final_execution_status": "NONE" }));
    let found = node
        .rpc
        .call("tx", json!({ "tx_hash": tx2.hash(), "sender_account_id": "alice.acme", "wait_until": "FINAL" }))
        .await
        .expect("tx status");
    assert_eq!(found["status"], json!({ "SuccessValue": "" }));
    let block_hash = found["transaction_outcome"]["block_hash"].as_str().unwrap().to_owned();
    let block = node.rpc.call("block", json!({ "block_id": block_hash })).await.unwrap();
    assert!(block["transactions"].as_array().unwrap().contains(&json!(tx2.hash())));
    let by_height = node.rpc.call("block", json!({ "block_id": block["header"]["height"] })).await.unwrap();
    assert_eq!(by_height["header"]["hash"], block_hash);
    assert_eq!(node.rpc.nonce(&alice.account_id, &alice.public_key).await.unwrap(), 7, "nonce gaps are allowed");

    // The answer carries the id unchanged and reads at an older block see older state.
    let old = node
        .rpc
        .call("query", json!({ "request_type": "view_account", "block_id": 0, "account_id": "alice.acme" }))
        .await
        .unwrap();
    assert_eq!(old["amount"], a0.to_string());
    assert_eq!(old["block_height"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_come_empty_at_the_max_interval_and_stop_cleanly() {
    let mut node = TestNode::start().await;
    let h0 = node.rpc.status().await.unwrap()["sync_info"]["latest_block_height"].as_u64().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let h1 = node.rpc.status().await.unwrap()["sync_info"]["latest_block_height"].as_u64().unwrap();
    let max = node.generated.genesis.consensus.max_block_interval_ms;
    assert!(h1 > h0, "an idle chain still makes a block every {max} ms");
    assert!(h1 - h0 <= 2_500 / max + 1, "idle blocks come no faster than the max interval: {h0} -> {h1}");
    assert!(node.terminate(), "SIGTERM stops the node cleanly: {}", node.log());
    assert!(node.log().contains("stopped"));
}
