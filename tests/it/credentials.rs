//! Application credentials end to end: `chain credentials add|list|revoke` against a node
//! whose config requires them; HTTP Basic on JSON-RPC and metadata on gRPC; roles; a
//! credential's rate limit; revocation on the running node; the professional preset's init.

use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use rpc::client::{ClientError, RpcClient};
use rpc::grpc::proto::{self, node_client::NodeClient};
use serde_json::{json, Value};
use tests::{binary, transfer, TestNode};
use tonic::Code;

fn chain(args: &[&str], home: &std::path::Path) -> std::process::Output {
    Command::new(binary("chain")).args(args).arg("--home").arg(home).output().expect("run chain")
}

/// `chain credentials add`; returns the password it printed.
fn add(home: &std::path::Path, user: &str, role: &str, extra: &[&str]) -> String {
    let mut args = vec!["credentials", "add", "--username", user, "--role", role];
    args.extend_from_slice(extra);
    let out = chain(&args, home);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let password = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(password.len(), 32, "stdout is the password alone");
    password
}

fn refused(e: ClientError) -> (u16, Value) {
    match e {
        ClientError::Refused { status, body } => (status, body),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

/// A gRPC request carrying `user:password` as Basic authorization metadata.
fn authed<T>(msg: T, user: &str, password: &str) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    req.metadata_mut().insert("authorization", format!("Basic {token}").parse().unwrap());
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_roles_limits_and_revocation_on_a_node() {
    let mut node = TestNode::start().await;
    assert!(node.terminate(), "clean stop");
    let home = node.home();
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(config.contains("require_credentials = false"), "development default: {config}");
    std::fs::write(
        home.join("config.toml"),
        config.replace("require_credentials = false", "require_credentials = true"),
    )
    .unwrap();
    let admin = add(&home, "ops", "admin", &[]);
    let reader = add(&home, "explorer", "read", &[]);
    let wallet = add(&home, "wallet", "submit", &["--requests-per-sec", "5"]);
    let dup = chain(&["credentials", "add", "--username", "ops", "--role", "read"], &home);
    assert!(!dup.status.success() && String::from_utf8_lossy(&dup.stderr).contains("exists"));
    let stored = std::fs::read_to_string(home.join("credentials.json")).unwrap();
    assert!(!stored.contains(&admin) && !stored.contains(&wallet), "no password on disk");
    let list = String::from_utf8(chain(&["credentials", "list"], &home).stdout).unwrap();
    for line in ["ops", "admin", "explorer", "read", "wallet", "submit"] {
        assert!(list.contains(line), "{list}");
    }

    let url = node.rpc.url().to_owned();
    node.rpc = RpcClient::new(&url).with_basic_auth("ops", &admin);
    node.spawn().await;

    // JSON-RPC: none, wrong, right.
    let (status, body) = refused(RpcClient::new(&url).status().await.unwrap_err());
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")));
    assert!(body["message"].as_str().unwrap().contains("credentials required"), "{body}");
    let raw = reqwest::Client::new().post(&url).json(&json!({"jsonrpc": "2.0", "id": 1, "method": "status"})).send();
    let raw = raw.await.unwrap();
    assert_eq!(raw.headers()["www-authenticate"], "Basic realm=\"chain\"");
    let wrong = RpcClient::new(&url).with_basic_auth("explorer", "not-the-password");
    assert_eq!(refused(wrong.status().await.unwrap_err()).0, 401);
    let explorer = RpcClient::new(&url).with_basic_auth("explorer", &reader);
    explorer.status().await.unwrap();

    // Roles: a reader cannot submit; a submitter can.
    let alice = node.account("alice.acme");
    let tx = transfer(&alice, "bob.acme", 1, explorer.final_block_hash().await.unwrap(), 1);
    let (status, body) = refused(explorer.send_tx(&tx, "FINAL").await.unwrap_err());
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
    assert!(body["message"].as_str().unwrap().contains("has role read; this needs role submit"), "{body}");
    let wallet_rpc = RpcClient::new(&url).with_basic_auth("wallet", &wallet);
    let done = wallet_rpc.send_tx(&tx, "FINAL").await.unwrap();
    assert_eq!(done["status"]["SuccessValue"], "");

    // The wallet's own limit (5 a second): back-to-back calls run into 429s saying why.
    let mut limited = None;
    for _ in 0..50 {
        if let Err(e) = wallet_rpc.status().await {
            limited = Some(refused(e));
            break;
        }
    }
    let (status, body) = limited.expect("50 calls in a row exceed 5 a second");
    assert_eq!((status, body["error"].as_str()), (429, Some("rate_limited")));
    assert!(body["message"].as_str().unwrap().contains("credential `wallet` is over its limit of 5"), "{body}");
    explorer.status().await.expect("other credentials are not limited by the wallet's");
    // Admin methods: the admin only.
    assert_eq!(node.rpc.call("admin_evidence", json!([])).await.unwrap(), json!([]), "no equivocation");
    let (status, body) = refused(explorer.call("admin_evidence", json!([])).await.unwrap_err());
    assert_eq!(status, 403, "{body}");

    // gRPC: metadata instead of the header; the same roles; health checks need none.
    let mut grpc = NodeClient::connect(url.clone()).await.unwrap();
    let e = grpc.status(proto::StatusRequest {}).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    assert!(e.message().contains("credentials required"), "{e:?}");
    grpc.status(authed(proto::StatusRequest {}, "explorer", &reader)).await.unwrap();
    let submit = proto::SubmitTransactionRequest { signed_transaction: borsh::to_vec(&tx).unwrap(), wait_until: 0 };
    let e = grpc.submit_transaction(authed(submit.clone(), "explorer", &reader)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    let ok = grpc.submit_transaction(authed(submit, "ops", &admin)).await.unwrap().into_inner();
    assert_eq!(ok.transaction_hash, tx.hash().0.to_vec(), "an admin may submit (it already ran: its outcome)");
    let channel = tonic::transport::Channel::from_shared(url.clone()).unwrap().connect().await.unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let check = tonic_health::pb::HealthCheckRequest { service: String::new() };
    health.check(check).await.expect("health needs no credentials");
    // HTTP probes too (Kubernetes sends no credentials), and they tell nothing but health.
    let http = reqwest::Client::new();
    let alive = http.get(format!("{url}/health")).send().await.unwrap();
    assert_eq!((alive.status().as_u16(), alive.text().await.unwrap()), (200, "ok\n".to_owned()));
    let ready = http.get(format!("{url}/ready")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200, "a lone validator with its signer is ready");
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!((ready["ready"].clone(), ready["peers_needed"].clone()), (json!(true), json!(0)), "{ready}");
    let posted = http.post(format!("{url}/ready")).send().await.unwrap();
    assert_eq!(posted.status().as_u16(), 405);
    assert_eq!(node.rpc.call("health", json!([])).await.unwrap(), json!(null), "NEAR's health: null when healthy");

    // Revoked while the node runs: refused within a few seconds, others unaffected.
    let out = chain(&["credentials", "revoke", "--username", "explorer"], &home);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut revoked = false;
    for _ in 0..50 {
        if let Err(e) = explorer.status().await {
            assert_eq!(refused(e).0, 401);
            revoked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(revoked, "the revoked credential was still accepted after 5 s");
    node.rpc.status().await.expect("the admin still gets in");
    let again = chain(&["credentials", "revoke", "--username", "explorer"], &home);
    assert!(String::from_utf8_lossy(&again.stderr).contains("no credential named `explorer`"));
}

#[test]
fn professional_init_turns_access_control_on() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(binary("genesis"))
        .args(["new", "--preset", "professional", "--validators", "4", "--out"])
        .arg(dir.path().join("g"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let g = dir.path().join("g");
    let home = dir.path().join("home");
    let out = Command::new(binary("chain"))
        .arg("init")
        .arg("--genesis")
        .arg(g.join("genesis.json"))
        .arg("--home")
        .arg(&home)
        .arg("--network-key")
        .arg(g.join("validators/v0.acme/network_key.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(config.contains("require_credentials = true"), "{config}");
    for limit in ["node_requests_per_sec", "credential_requests_per_sec", "max_connections"] {
        assert!(config.contains(limit), "{limit} in {config}");
    }
    // Turned off by hand, the node refuses to start.
    std::fs::write(
        home.join("config.toml"),
        config.replace("require_credentials = true", "require_credentials = false"),
    )
    .unwrap();
    let out = Command::new(binary("chain")).arg("run").arg("--home").arg(&home).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("requires credentials"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
