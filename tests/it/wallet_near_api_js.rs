//! An unmodified NEAR wallet library (near-api-js 7.2.0 from npm) transacts with the node.
//! Needs Node.js and `npm ci --prefix tests/js` (scripts/test.sh does both); a missing
//! piece fails this test with the command to fix it.

use std::path::PathBuf;
use std::process::Command;

use tests::TestNode;

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// Runs `script` under Node.js with `args`; fails with its output and the node's log.
async fn run_script(node: TestNode, script: &str, args: Vec<String>, ok_line: &str) {
    let dir = js_dir();
    assert!(
        dir.join("node_modules/near-api-js/package.json").is_file(),
        "near-api-js is not installed: run `npm ci --prefix {}`",
        dir.display()
    );
    let script = dir.join(script);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node").arg(script).arg(node.rpc.url()).args(args).output().map(|o| (o, node))
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("cannot run `node` (Node.js 20 is required): {e}"));
    let (out, node) = out;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "near-api-js flow failed:\n{text}\nnode log:\n{}", node.log());
    assert!(text.contains(ok_line), "{text}");
}

fn credentials(node: &TestNode, account: &str) -> String {
    node.dir.path().join(format!("genesis/accounts/{account}.json")).display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_api_js_reads_transfers_and_parses_errors() {
    let node = TestNode::start().await;
    let args = vec![credentials(&node, "alice.acme"), "bob.acme".into()];
    run_script(node, "wallet.mjs", args, "near-api-js wallet flow: ok").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_api_js_mints_a_tla_through_the_treasury_and_recovers_a_stale_nonce() {
    let node = TestNode::start().await;
    let key = chain_types::SecretKey::generate().public_key().to_string();
    let args = vec![credentials(&node, "alice.acme"), credentials(&node, "bob.acme"), "initech".into(), key];
    run_script(node, "treasury.mjs", args, "near-api-js treasury flow: ok").await;
}
