//! Every NEAR JSON-RPC method and `query` request type the node serves, called on a live
//! node and validated with nearcore's own models (`near_jsonrpc_models` from PyPI's
//! `near-jsonrpc-client`, generated from nearcore's OpenAPI spec): params against the request
//! model, the answer against the response model.

use base64::Engine as _;
use serde_json::{json, Value};
use tests::{function_call, submit, TestNode};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn run_models(node: &TestNode, calls: &[Value]) -> String {
    let file = node.dir.path().join("calls.json");
    std::fs::write(&file, serde_json::to_vec_pretty(calls).unwrap()).unwrap();
    let out = std::process::Command::new(tests::python())
        .arg(tests::py_script("near_models.py"))
        .arg(node.rpc.url())
        .arg(&file)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "calls failing nearcore's models:\n{report}{}", String::from_utf8_lossy(&out.stderr));
    report
}

async fn rpc_epoch_id(rpc: &rpc::client::RpcClient) -> Value {
    rpc.call("block", json!({"finality": "final"})).await.unwrap()["header"]["epoch_id"].clone()
}

fn call(name: &str, method: &str, params: Value) -> Value {
    json!({ "name": name, "method": method, "params": params })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_validates_against_nearcore_models() {
    let node = TestNode::start().await;
    let rpc = &node.rpc;
    let alice = node.account("alice.acme");
    // Module storage and a transaction with a receipt to look at.
    let args = json!({"request": {"receiver_id": "bob.acme", "actions": [{"type": "Transfer", "amount": "3"}]}});
    submit(rpc, &alice, "treasury", vec![function_call("add_request", &args, 0)]).await;
    let nonce = rpc.nonce(&alice.account_id, &alice.public_key).await.unwrap() + 1;
    let recent = rpc.final_block_hash().await.unwrap();
    let tx = tests::transfer(&alice, "bob.acme", nonce, recent, 5);
    let sent = rpc.send_tx(&tx, "FINAL").await.unwrap();
    let tx_hash = tx.hash().to_string();
    let tx_block = sent["transaction_outcome"]["block_hash"].as_str().unwrap().to_owned();
    let signed = b64(&chain_types::to_borsh(&tx));
    let fresh = b64(&chain_types::to_borsh(&tests::transfer(&alice, "bob.acme", nonce + 1, recent, 1)));
    // One more block, so the transaction's block has a child (proofs at it are certified).
    tests::reach(rpc, tests::height(rpc).await + 2, 30).await;
    let head = rpc.final_block_hash().await.unwrap().to_string();
    let genesis_hash = rpc.status().await.unwrap()["genesis_hash"].as_str().unwrap().to_owned();

    let final_ = |mut p: Value| {
        p["finality"] = json!("final");
        p
    };
    let at_tx = |mut p: Value| {
        p["block_id"] = json!(tx_block);
        p
    };
    let calls = vec![
        call("status", "status", json!([])),
        call("health", "health", json!([])),
        call("block final", "block", json!({"finality": "final"})),
        call("block by height", "block", json!({"block_id": 1})),
        call("block by hash", "block", json!({"block_id": tx_block})),
        call("chunk by id", "chunk", json!({"chunk_id": tx_block})),
        call("chunk by block", "chunk", json!({"block_id": tx_block, "shard_id": 0})),
        call("gas_price", "gas_price", json!({"block_id": null})),
        call("validators latest", "validators", json!({"latest": ""})),
        call("validators by block", "validators", json!({"block_id": 1})),
        call("network_info", "network_info", json!([])),
        call("client_config", "client_config", json!([])),
        call("EXPERIMENTAL_genesis_config", "EXPERIMENTAL_genesis_config", json!([])),
        call("EXPERIMENTAL_protocol_config", "EXPERIMENTAL_protocol_config", json!({"finality": "final"})),
        call("view_account", "query", final_(json!({"request_type": "view_account", "account_id": "alice.acme"}))),
        call(
            "view_access_key",
            "query",
            final_(
                json!({"request_type": "view_access_key", "account_id": "alice.acme", "public_key": alice.public_key}),
            ),
        ),
        call(
            "view_access_key_list",
            "query",
            final_(json!({"request_type": "view_access_key_list", "account_id": "alice.acme"})),
        ),
        call(
            "call_function",
            "query",
            final_(
                json!({"request_type": "call_function", "account_id": "treasury", "method_name": "get_members", "args_base64": b64(b"{}")}),
            ),
        ),
        call(
            "view_state",
            "query",
            final_(json!({"request_type": "view_state", "account_id": "treasury", "prefix_base64": ""})),
        ),
        call(
            "view_state with proof",
            "query",
            final_(
                json!({"request_type": "view_state", "account_id": "treasury", "prefix_base64": "", "include_proof": true}),
            ),
        ),
        call(
            "view_account with proof",
            "query",
            at_tx(json!({"request_type": "view_account", "account_id": "alice.acme", "include_proof": true})),
        ),
        call("view_code", "query", final_(json!({"request_type": "view_code", "account_id": "treasury"}))),
        call("tx", "tx", json!({"tx_hash": tx_hash, "sender_account_id": "alice.acme"})),
        call(
            "EXPERIMENTAL_tx_status",
            "EXPERIMENTAL_tx_status",
            json!({"tx_hash": tx_hash, "sender_account_id": "alice.acme"}),
        ),
        call("EXPERIMENTAL_receipt", "EXPERIMENTAL_receipt", json!({"receipt_id": tx_hash})),
        call("send_tx (resubmitted)", "send_tx", json!({"signed_tx_base64": signed, "wait_until": "FINAL"})),
        call("broadcast_tx_commit (resubmitted)", "broadcast_tx_commit", json!({"signed_tx_base64": signed})),
        call("validators by epoch", "validators", json!({"epoch_id": rpc_epoch_id(rpc).await})),
        call(
            "EXPERIMENTAL_changes account_changes",
            "EXPERIMENTAL_changes",
            at_tx(json!({"changes_type": "account_changes", "account_ids": ["alice.acme", "bob.acme"]})),
        ),
        call(
            "EXPERIMENTAL_changes single_access_key_changes",
            "EXPERIMENTAL_changes",
            at_tx(
                json!({"changes_type": "single_access_key_changes", "keys": [{"account_id": "alice.acme", "public_key": alice.public_key}]}),
            ),
        ),
        call(
            "EXPERIMENTAL_changes all_access_key_changes",
            "EXPERIMENTAL_changes",
            at_tx(json!({"changes_type": "all_access_key_changes", "account_ids": ["alice.acme"]})),
        ),
        call(
            "EXPERIMENTAL_changes data_changes (genesis)",
            "EXPERIMENTAL_changes",
            json!({"changes_type": "data_changes", "account_ids": ["treasury"], "key_prefix_base64": "", "block_id": 0}),
        ),
        call(
            "EXPERIMENTAL_changes contract_code_changes (genesis)",
            "EXPERIMENTAL_changes",
            json!({"changes_type": "contract_code_changes", "account_ids": ["treasury"], "block_id": 0}),
        ),
        call("EXPERIMENTAL_changes_in_block", "EXPERIMENTAL_changes_in_block", at_tx(json!({}))),
        call(
            "light_client_proof transaction",
            "light_client_proof",
            json!({"type": "transaction", "transaction_hash": tx_hash, "sender_id": "alice.acme", "light_client_head": head}),
        ),
        call(
            "light_client_proof receipt",
            "light_client_proof",
            json!({"type": "receipt", "receipt_id": tx_hash, "receiver_id": "bob.acme", "light_client_head": head}),
        ),
        call("next_light_client_block", "next_light_client_block", json!({"last_block_hash": genesis_hash})),
        call("broadcast_tx_async", "broadcast_tx_async", json!({"signed_tx_base64": fresh})),
    ];
    let report = run_models(&node, &calls);
    assert!(report.contains(&format!("{n} of {n} calls validate", n = calls.len())), "{report}");

    // The answers say what happened, not only in the right shape.
    let changes = rpc
        .call("EXPERIMENTAL_changes", at_tx(json!({"changes_type": "account_changes", "account_ids": ["bob.acme"]})))
        .await
        .unwrap();
    let list = changes["changes"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{changes}");
    assert_eq!(list[0]["cause"], json!({"type": "receipt_processing", "receipt_hash": tx_hash}));
    let keys = rpc
        .call(
            "EXPERIMENTAL_changes",
            at_tx(json!({"changes_type": "all_access_key_changes", "account_ids": ["alice.acme"]})),
        )
        .await
        .unwrap();
    assert_eq!(keys["changes"][0]["cause"], json!({"type": "transaction_processing", "tx_hash": tx_hash}));
    assert_eq!(keys["changes"][0]["change"]["access_key"]["nonce"], json!(nonce));
    let state = rpc
        .call("query", final_(json!({"request_type": "view_state", "account_id": "treasury", "prefix_base64": ""})))
        .await
        .unwrap();
    assert!(state["values"].as_array().unwrap().len() >= 3, "config, nonce, request: {state}");
    let code = rpc.call("query", final_(json!({"request_type": "view_code", "account_id": "treasury"}))).await.unwrap();
    let again =
        rpc.call("query", json!({"request_type": "view_code", "account_id": "treasury", "block_id": 1})).await.unwrap();
    assert_eq!((code["code_base64"].clone(), code["hash"].clone()), (json!(""), again["hash"].clone()));
    let e =
        rpc.call("query", final_(json!({"request_type": "view_code", "account_id": "alice.acme"}))).await.unwrap_err();
    assert_eq!(e.cause(), Some("NO_CONTRACT_CODE"));
    let chunk = rpc.call("chunk", json!({"chunk_id": tx_block})).await.unwrap();
    assert_eq!(chunk["transactions"][0]["hash"], json!(tx_hash));
    assert_eq!(chunk["receipts"][0]["receipt_id"], json!(tx_hash));
    let status = rpc.status().await.unwrap();
    // Proven reads (a key, a view call's reads, a module's storage) check out against the
    // genesis file's validators (the chain is still in epoch 0); a changed value does not.
    let genesis = genesis::Genesis::load(&node.dir.path().join("genesis/genesis.json")).unwrap();
    let lc = light_client::LightClient::from_genesis(&genesis);
    let proven = [
        json!({"request_type": "view_access_key", "account_id": "alice.acme", "public_key": alice.public_key}),
        json!({"request_type": "call_function", "account_id": "treasury", "method_name": "get_members", "args_base64": b64(b"{}")}),
        json!({"request_type": "view_state", "account_id": "treasury", "prefix_base64": ""}),
    ];
    for mut params in proven {
        params["finality"] = json!("final");
        params["include_proof"] = json!(true);
        let answer = rpc.call("query", params.clone()).await.unwrap();
        let set = light_client::wire::StateProofSet::from_answer(&answer).unwrap();
        let verified = lc.verify_state(&set).unwrap_or_else(|e| panic!("{params}: {e}"));
        assert!(verified.iter().any(|v| v.value.is_some()), "{params}: {answer}");
        let mut forged = set;
        forged.entries[0].value = Some(b"forged".to_vec());
        assert!(lc.verify_state(&forged).is_err(), "{params}: a forged value is refused");
        if let Some(values) = answer.get("values") {
            assert_eq!(answer["proof"].as_array().unwrap().len(), values.as_array().unwrap().len());
        }
    }

    // The light client checks the transaction and an account from the genesis file alone.
    let out = std::process::Command::new(tests::binary("chain"))
        .args(["verify", "--rpc", rpc.url(), "--tx", &format!("{tx_hash}:alice.acme"), "--account", "alice.acme"])
        .arg("--genesis")
        .arg(node.dir.path().join("genesis/genesis.json"))
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "chain verify: {shown}{}", String::from_utf8_lossy(&out.stderr));
    assert!(shown.contains(&format!("transaction {tx_hash}: in block")), "{shown}");
    assert!(shown.contains("account alice.acme: amount"), "{shown}");

    // A one-validator chain runs no p2p: its node key is its consensus key.
    assert_eq!(status["node_public_key"], status["validator_public_key"], "{status}");
    assert_eq!(status["version"]["commit"].as_str().unwrap().len(), 40, "{status}");
}
