//! `chain run --log-format json` (or `[log] format = "json"`): every line is one JSON object
//! with a timestamp, a level, a stable target and the event's fields at the top level; at
//! debug level, with credentials on, neither the validator's secret key nor a credential's
//! password (nor its Basic header) appears.

use base64::Engine;
use rpc::client::RpcClient;
use serde_json::Value;
use tests::{binary, reach, TestNode};

/// Every line of `log` as a JSON object; panics on one that is not.
fn json_lines(log: &str) -> Vec<serde_json::Map<String, Value>> {
    log.lines()
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(o)) => o,
            _ => panic!("not a JSON object: {line}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_stable_targets_and_fields_and_no_secrets() {
    let mut node = TestNode::init();
    let home = node.home();
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(config.contains("format = \"text\""), "the default is text, and it is in the config: {config}");
    let config = config
        .replace("filter = \"info\"", "filter = \"debug\"")
        .replace("require_credentials = false", "require_credentials = true");
    std::fs::write(home.join("config.toml"), config).unwrap();
    let out = std::process::Command::new(binary("chain"))
        .args(["credentials", "add", "--username", "ops", "--role", "admin", "--home"])
        .arg(&home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let password = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    // A bad format is refused by name.
    let bad = std::process::Command::new(binary("chain"))
        .args(["run", "--log-format", "yaml", "--home"])
        .arg(&home)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && stderr.contains("possible values: text, json"), "{stderr}");

    let url = node.rpc.url().to_owned();
    node.rpc = RpcClient::new(&url).with_basic_auth("ops", &password);
    node.spawn_with(&["--log-format", "json"]).await;
    reach(&node.rpc, 3, 30).await;
    assert!(RpcClient::new(&url).with_basic_auth("ops", "wrong-password").status().await.is_err());
    assert!(node.terminate(), "clean stop");

    let log = node.log();
    let lines = json_lines(&log);
    for line in &lines {
        for key in ["timestamp", "level", "target"] {
            assert!(line.get(key).is_some_and(Value::is_string), "no {key}: {line:?}");
        }
        assert!(!line.contains_key("fields") && !line.contains_key("span"), "fields at the top level: {line:?}");
    }
    let event = |target: &str, message: &str| {
        lines
            .iter()
            .find(|l| l["target"] == target && l.get("message").and_then(Value::as_str) == Some(message))
            .unwrap_or_else(|| panic!("no `{message}` from {target} in:\n{log}"))
    };
    let committed = event("chain::consensus", "committed");
    assert!(committed["height"].as_u64().is_some_and(|h| h >= 1), "{committed:?}");
    assert!(committed["hash"].is_string() && committed["txs"].is_u64(), "{committed:?}");
    assert_eq!(event("chain", "node opened")["chain_id"], "e2e");
    assert!(event("rpc", "json-rpc and grpc listening")["addr"].is_string());
    assert_eq!(lines.last().unwrap()["message"], "stopped");

    let key = node.generated.genesis.validators[0].account_id.clone();
    let secret = std::fs::read_to_string(
        node.dir.path().join("genesis/validators").join(key.as_str()).join("consensus_key.json"),
    )
    .unwrap();
    let secret: Value = serde_json::from_str(&secret).unwrap();
    let secret = secret["secret_key"].as_str().unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("ops:{password}"));
    for (what, text) in [
        ("the validator's secret key", secret),
        ("the password", password.as_str()),
        ("the Basic header", basic.as_str()),
    ] {
        assert!(!log.contains(text), "{what} appears in the log");
    }
    // Without the flag the config's format is used, and it is text.
    node.spawn().await;
    assert!(node.terminate());
    let text = node.log();
    let last = text.lines().last().unwrap();
    assert!(serde_json::from_str::<Value>(last).is_err() && last.contains("INFO chain: stopped"), "{last}");
}
