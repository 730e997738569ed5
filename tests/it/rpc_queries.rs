//! The read side of the JSON-RPC: `view_access_key_list`, `call_function` (the treasury's
//! views, at the head and at an earlier block, and each error), `validators`.

use base64::Engine as _;
use rpc::client::RpcClient;
use serde_json::{json, Value};
use tests::{function_call, submit, TestNode};

async fn view(rpc: &RpcClient, account: &str, method: &str, args: Value, at: Value) -> Result<Value, String> {
    let mut params = json!({"request_type": "call_function", "account_id": account, "method_name": method,
        "args_base64": base64::engine::general_purpose::STANDARD.encode(args.to_string())});
    params.as_object_mut().unwrap().extend(at.as_object().unwrap().clone());
    match rpc.call("query", params).await {
        Ok(r) => {
            let bytes: Vec<u8> = serde_json::from_value(r["result"].clone()).expect("result is an array of bytes");
            Ok(serde_json::from_slice(&bytes).expect("JSON"))
        }
        Err(e) => Err(format!("{} {e}", e.cause().unwrap_or_default())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_lists_view_calls_and_validators() {
    let node = TestNode::start().await;
    let rpc = &node.rpc;
    let final_ = json!({"finality": "final"});

    let alice = node.account("alice.acme");
    let keys = rpc
        .call("query", json!({"request_type": "view_access_key_list", "finality": "final", "account_id": "alice.acme"}))
        .await
        .unwrap();
    assert_eq!(
        keys["keys"],
        json!([{"public_key": alice.public_key, "access_key": {"nonce": 0, "permission": "FullAccess"}}])
    );
    let none = rpc
        .call("query", json!({"request_type": "view_access_key_list", "finality": "final", "account_id": "treasury"}))
        .await
        .unwrap();
    assert_eq!(none["keys"], json!([]), "the genesis treasury has account members only");

    let members = view(rpc, "treasury", "get_members", json!({}), final_.clone()).await.unwrap();
    assert_eq!(
        members,
        json!([{"account_id": "alice.acme"}, {"account_id": "bob.acme"}, {"account_id": "carol.acme"}])
    );
    assert_eq!(view(rpc, "treasury", "get_num_confirmations", json!({}), final_.clone()).await.unwrap(), json!(2));

    // A request: visible at the head, not at the block before it.
    let before = rpc.status().await.unwrap()["sync_info"]["latest_block_height"].as_u64().unwrap();
    let args = json!({"request": {"receiver_id": "bob.acme", "actions": [{"type": "Transfer", "amount": "3"}]}});
    let id = submit(rpc, &alice, "treasury", vec![function_call("add_request", &args, 0)]).await;
    assert_eq!(id, json!(0));
    let r = view(rpc, "treasury", "get_request", json!({"request_id": 0}), final_.clone()).await.unwrap();
    assert_eq!((r["receiver_id"].clone(), r["outcome"]["status"].clone()), (json!("bob.acme"), json!("pending")));
    assert_eq!(
        view(rpc, "treasury", "get_request_nonce", json!({}), json!({"block_id": before})).await.unwrap(),
        json!(0)
    );
    assert_eq!(view(rpc, "treasury", "list_request_ids", json!({}), final_.clone()).await.unwrap(), json!([0]));

    let e = view(rpc, "treasury", "get_request", json!({"request_id": 9}), final_.clone()).await.unwrap_err();
    assert!(e.starts_with("CONTRACT_EXECUTION_ERROR") && e.contains("no request 9"), "{e}");
    let e = view(rpc, "alice.acme", "get_members", json!({}), final_.clone()).await.unwrap_err();
    assert!(e.starts_with("NO_CONTRACT_CODE"), "{e}");
    let e = view(rpc, "nobody.acme", "get_members", json!({}), final_.clone()).await.unwrap_err();
    assert!(e.starts_with("UNKNOWN_ACCOUNT"), "{e}");
    let bad = rpc
        .call("query", json!({"request_type": "call_function", "finality": "final", "account_id": "treasury", "method_name": "get_members", "args_base64": "***"}))
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("invalid base64"), "{bad}");

    for params in [json!([null]), json!({"latest": null}), json!({"block_id": before})] {
        let v = rpc.call("validators", params.clone()).await.unwrap_or_else(|e| panic!("validators {params}: {e}"));
        let stake = node.generated.genesis.total_stake.to_string();
        assert_eq!(v["current_validators"][0]["account_id"], "v0.acme", "{params}");
        assert_eq!(v["current_validators"][0]["stake"], json!(stake));
        assert_eq!(v["next_validators"], v["current_validators"]);
    }
}
