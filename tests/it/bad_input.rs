//! Each bad submission gets a clear NEAR-shaped error and changes nothing.

use base64::Engine as _;
use chain_types::SecretKey;
use genesis::KeyFile;
use rpc::client::ClientError;
use serde_json::{json, Value};
use tests::{transfer, TestNode};

fn error(e: ClientError) -> Value {
    match e {
        ClientError::Rpc { error, .. } => error,
        other => panic!("expected an RPC error, got {other}"),
    }
}

fn invalid_tx(e: ClientError) -> Value {
    let e = error(e);
    assert_eq!(e["name"], "HANDLER_ERROR", "{e}");
    assert_eq!(e["cause"]["name"], "INVALID_TRANSACTION", "{e}");
    assert_eq!(e["code"], -32000);
    e["data"]["TxExecutionError"]["InvalidTxError"].clone()
}

async fn send_raw(node: &TestNode, b64: &str) -> Result<Value, ClientError> {
    node.rpc.call("send_tx", json!({ "signed_tx_base64": b64, "wait_until": "FINAL" })).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_transactions_are_refused_with_reasons_and_change_nothing() {
    let node = TestNode::start().await;
    let alice = node.account("alice.acme");
    let hash = node.rpc.final_block_hash().await.unwrap();
    let ok = transfer(&alice, "bob.acme", 1, hash, 10);
    node.rpc.send_tx(&ok, "FINAL").await.expect("first transfer");
    let snapshot = node.rpc.view_account(&alice.account_id).await.unwrap();

    // Identical resubmission is an idempotent retry: the stored outcome comes back.
    let again = node.rpc.send_tx(&ok, "FINAL").await.expect("retry");
    assert_eq!(again["transaction"]["hash"], ok.hash().to_string());

    let mut tampered = transfer(&alice, "bob.acme", 2, hash, 10);
    tampered.signature.0[10] ^= 0xff;
    assert_eq!(invalid_tx(node.rpc.send_tx(&tampered, "FINAL").await.unwrap_err()), json!("InvalidSignature"));

    let replay = transfer(&alice, "bob.acme", 1, hash, 11);
    assert_eq!(
        invalid_tx(node.rpc.send_tx(&replay, "FINAL").await.unwrap_err()),
        json!({ "InvalidNonce": { "tx_nonce": 1, "ak_nonce": 1 } })
    );

    let stranger = KeyFile::new("nobody.acme".parse().unwrap(), SecretKey::from_seed([1; 32]));
    let unknown = transfer(&stranger, "bob.acme", 1, hash, 1);
    assert_eq!(
        invalid_tx(node.rpc.send_tx(&unknown, "FINAL").await.unwrap_err()),
        json!({ "SignerDoesNotExist": { "signer_id": "nobody.acme" } })
    );

    let amount: u128 = snapshot["amount"].as_str().unwrap().parse().unwrap();
    let too_much = transfer(&alice, "bob.acme", 2, hash, amount + 1);
    let reason = invalid_tx(node.rpc.send_tx(&too_much, "FINAL").await.unwrap_err());
    assert_eq!(reason["NotEnoughBalance"]["cost"], (amount + 1).to_string());
    assert_eq!(reason["NotEnoughBalance"]["balance"], amount.to_string());

    let e = error(send_raw(&node, "%%% not base64 %%%").await.unwrap_err());
    assert_eq!(
        (e["name"].clone(), e["cause"]["name"].clone(), e["code"].clone()),
        (json!("REQUEST_VALIDATION_ERROR"), json!("PARSE_ERROR"), json!(-32700))
    );
    assert!(e["data"].as_str().unwrap().contains("base64"), "{e}");

    let bytes = borsh::to_vec(&transfer(&alice, "bob.acme", 3, hash, 1)).unwrap();
    let truncated = base64::engine::general_purpose::STANDARD.encode(&bytes[..bytes.len() - 5]);
    let e = error(send_raw(&node, &truncated).await.unwrap_err());
    assert_eq!(e["cause"]["name"], "PARSE_ERROR");
    assert!(e["data"].as_str().unwrap().contains("borsh"), "{e}");

    for (i, tx) in [&tampered, &replay, &unknown, &too_much].iter().enumerate() {
        let e = node
            .rpc
            .call("tx", json!({ "tx_hash": tx.hash(), "sender_account_id": "alice.acme", "wait_until": "NONE" }))
            .await;
        assert_eq!(error(e.unwrap_err())["cause"]["name"], "UNKNOWN_TRANSACTION", "refused tx #{i} left no outcome");
    }
    let after = node.rpc.view_account(&alice.account_id).await.unwrap();
    assert_eq!(after["amount"], snapshot["amount"]);
    assert_eq!(node.rpc.nonce(&alice.account_id, &alice.public_key).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_json_rpc_errors_with_the_id_echoed() {
    let node = TestNode::start().await;
    let http = reqwest_like_post(node.rpc.url(), "{not json").await;
    assert_eq!(http["error"]["cause"]["name"], "PARSE_ERROR");
    assert_eq!(http["id"], Value::Null);
    let r =
        reqwest_like_post(node.rpc.url(), r#"{"jsonrpc":"2.0","id":{"k":[1]},"method":"no_such","params":{}}"#).await;
    assert_eq!(r["error"]["cause"]["name"], "METHOD_NOT_FOUND");
    assert_eq!(r["id"], json!({ "k": [1] }));
    let r = reqwest_like_post(node.rpc.url(), r#"{"jsonrpc":"2.0","id":5,"method":"query","params":{"request_type":"view_account","finality":"final","account_id":"Not Valid"}}"#).await;
    assert_eq!(r["error"]["cause"]["name"], "PARSE_ERROR", "{r}");
    assert_eq!(r["id"], 5);
    assert!(node.rpc.status().await.is_ok(), "node unharmed");
}

/// Posts a raw body (so malformed JSON reaches the server as sent).
async fn reqwest_like_post(url: &str, body: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "JSON-RPC errors come with HTTP 200: {out}");
    let json = out.split("\r\n\r\n").nth(1).unwrap();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
}
