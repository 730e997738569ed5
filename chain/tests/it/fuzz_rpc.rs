//! Fuzz target (bolero): JSON-RPC dispatch on a real node (RocksDB store, runtime, mempool)
//! with arbitrary bodies: raw bytes, and requests naming every method with params built
//! from the input (objects and arrays, strings, heights, base64 of arbitrary bytes). Every
//! answer is a JSON-RPC 2.0 object with a result or a NEAR-shaped error, never a 5xx or a
//! panic, and the node still answers afterwards. `cargo test` runs a bounded random sample;
//! `cargo bolero test fuzz_rpc::dispatch_answers_everything -p chain` fuzzes it for real.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use serde_json::{json, Value};
use tower::ServiceExt as _;

use crate::harness::{one_validator, open_node};

const METHODS: [&str; 15] = [
    "status",
    "block",
    "query",
    "send_tx",
    "broadcast_tx_async",
    "broadcast_tx_commit",
    "tx",
    "validators",
    "gas_price",
    "EXPERIMENTAL_protocol_config",
    "admin_evidence",
    "EXPERIMENTAL_changes",
    "",
    "QUERY",
    "view_account",
];
const REQUEST_TYPES: [&str; 6] =
    ["view_account", "view_access_key", "view_access_key_list", "call_function", "view_state", "x"];

fn params(shape: u8, text: &str, bytes: &[u8], n: u64) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    match shape % 10 {
        0 => json!([b64]),
        1 => json!({ "signed_tx_base64": b64, "wait_until": text }),
        2 => json!({ "finality": text }),
        3 => json!({ "block_id": n }),
        4 => json!({ "block_id": text }),
        5 => json!({ "request_type": REQUEST_TYPES[usize::from(shape / 10) % REQUEST_TYPES.len()],
            "finality": "final", "account_id": text, "public_key": text, "method_name": text, "args_base64": b64 }),
        6 => json!({ "request_type": "call_function", "block_id": n, "account_id": "treasury",
            "method_name": text, "args_base64": b64 }),
        7 => json!({ "tx_hash": text, "sender_account_id": text, "wait_until": "NONE" }),
        8 => json!([text, n]),
        _ => Value::String(text.to_owned()),
    }
}

#[test]
fn dispatch_answers_everything() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let g = one_validator("fuzz", 1_700_000_000_000);
    let node = open_node(&g, dir.path(), None);
    let cfg = rpc::RpcConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        max_body_bytes: 64 * 1024,
        // No consensus runs here: waiting transaction methods time out at once.
        tx_timeout: Duration::from_millis(5),
        access: rpc::access::AccessConfig::default(),
        metrics: Default::default(),
        membership: None,
    };
    let app = rt.block_on(rpc::router(node.clone(), &cfg)).expect("router");
    // The router is not unwind-safe by type; a panic fails the test either way.
    let call = std::panic::AssertUnwindSafe(|body: Vec<u8>| -> (StatusCode, Vec<u8>) {
        rt.block_on(async {
            let request =
                Request::post("/").header("content-type", "application/json").body(Body::from(body)).expect("request");
            let response = app.clone().oneshot(request).await.expect("infallible");
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
            (status, bytes.to_vec())
        })
    });
    bolero::check!().with_type::<(u8, u8, Vec<u8>, u64, bool)>().for_each(|(method, shape, raw, n, as_raw)| {
        let body = if *as_raw {
            raw.clone()
        } else {
            let text = String::from_utf8_lossy(raw);
            let m = METHODS[usize::from(*method) % METHODS.len()];
            serde_json::to_vec(
                &json!({ "jsonrpc": "2.0", "id": n, "method": m, "params": params(*shape, &text, raw, *n) }),
            )
            .expect("encode")
        };
        let (status, bytes) = (*call)(body);
        assert!(!status.is_server_error(), "{status}");
        if status == StatusCode::OK {
            let v: Value = serde_json::from_slice(&bytes).expect("a JSON answer");
            assert_eq!(v["jsonrpc"], "2.0");
            assert!(v.get("result").is_some() != v.get("error").is_some(), "{v}");
            if let Some(e) = v.get("error") {
                assert!(e["name"].is_string() && e["cause"]["name"].is_string(), "NEAR-shaped error: {e}");
            }
        }
    });
    let (status, bytes) = (*call)(br#"{"jsonrpc":"2.0","id":1,"method":"status","params":[]}"#.to_vec());
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(v["result"]["chain_id"], "fuzz", "the node still answers: {v}");
}
