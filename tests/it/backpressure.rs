//! Back-pressure: a node whose mempool is full refuses new transactions at once, before any
//! signature work, with NEAR's full-mempool error over JSON-RPC and RESOURCE_EXHAUSTED over
//! gRPC (clients retry later); every transaction it accepted still becomes final.

use std::time::Duration;

use rpc::client::ClientError;
use rpc::grpc::proto::{self, node_client::NodeClient};
use serde_json::json;
use tests::{transfer, TestNode};

const CAPACITY: u64 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mempool_refuses_at_once_and_loses_nothing_it_accepted() {
    let mut node = TestNode::init_with(|g| {
        g.limits.mempool_capacity = CAPACITY;
        // Blocks come slowly, so a burst fills the pool.
        g.consensus.min_block_interval_ms = 4_000;
        g.consensus.max_block_interval_ms = 4_000;
    });
    node.spawn().await;
    let alice = node.account("alice.acme");
    let recent = node.rpc.final_block_hash().await.unwrap();
    let txs: Vec<_> = (1..=3 * CAPACITY).map(|nonce| transfer(&alice, "bob.acme", nonce, recent, 1)).collect();

    // A burst of broadcast_tx_async, all at once.
    let mut calls = tokio::task::JoinSet::new();
    for tx in txs.clone() {
        let rpc = node.rpc.clone();
        calls.spawn(async move {
            let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, borsh::to_vec(&tx).unwrap());
            (tx.hash(), rpc.call("broadcast_tx_async", json!([b64])).await)
        });
    }
    let (mut accepted, mut refused) = (Vec::new(), 0);
    while let Some(joined) = calls.join_next().await {
        match joined.unwrap() {
            (hash, Ok(answer)) => {
                assert_eq!(answer, json!(hash.to_string()));
                accepted.push(hash);
            }
            (_, Err(ClientError::Rpc { cause, error })) => {
                assert_eq!(cause, "MEMPOOL_FULL", "{error}");
                assert_eq!(error["name"], "HANDLER_ERROR", "{error}");
                assert!(error["data"].as_str().unwrap().contains("mempool is full"), "{error}");
                refused += 1;
            }
            (_, Err(e)) => panic!("unexpected answer: {e}"),
        }
    }
    eprintln!("accepted {}, refused {refused}", accepted.len());
    assert!(refused > 0, "a burst of {} into a pool of {CAPACITY} is refused in part", txs.len());
    assert!(accepted.len() as u64 >= CAPACITY, "the pool filled: {}", accepted.len());

    // gRPC says the same once the pool is full (a block may have made room: fill it again).
    let mut grpc = NodeClient::connect(node.rpc.url().to_owned()).await.unwrap();
    let mut exhausted = None;
    for nonce in 3 * CAPACITY + 1..=6 * CAPACITY {
        let tx = transfer(&alice, "bob.acme", nonce, recent, 1);
        let req = proto::SubmitTransactionRequest { signed_transaction: borsh::to_vec(&tx).unwrap(), wait_until: 0 };
        match grpc.submit_transaction(req).await {
            Ok(_) => accepted.push(tx.hash()),
            Err(status) => {
                exhausted = Some(status);
                break;
            }
        }
    }
    let status = exhausted.expect("gRPC refuses once the pool is full");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("mempool is full"), "{status:?}");

    // Nothing accepted is lost: each becomes final.
    for hash in &accepted {
        let mut found = false;
        for _ in 0..150 {
            let r = node
                .rpc
                .call("tx", json!({ "tx_hash": hash, "sender_account_id": "alice.acme", "wait_until": "NONE" }))
                .await;
            if r.as_ref().is_ok_and(|v| v["status"]["SuccessValue"].is_string()) {
                found = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(found, "accepted transaction {hash} became final");
    }
}
