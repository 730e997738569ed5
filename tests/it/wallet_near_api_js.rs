//! An unmodified NEAR wallet library (near-api-js 7.2.0 from npm) transacts with the node.
//! Needs Node.js and `npm ci --prefix tests/js` (scripts/test.sh does both); a missing
//! piece fails this test with the command to fix it.

use std::path::PathBuf;
use std::process::Command;

use tests::TestNode;

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_api_js_reads_transfers_and_parses_errors() {
    let dir = js_dir();
    assert!(
        dir.join("node_modules/near-api-js/package.json").is_file(),
        "near-api-js is not installed: run `npm ci --prefix {}`",
        dir.display()
    );
    let node = TestNode::start().await;
    let cred = node.dir.path().join("genesis/accounts/alice.acme.json");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join("wallet.mjs"))
            .arg(node.rpc.url())
            .arg(cred)
            .arg("bob.acme")
            .output()
            .map(|o| (o, node))
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("cannot run `node` (Node.js 20 is required): {e}"));
    let (out, node) = out;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "near-api-js flow failed:\n{text}\nnode log:\n{}", node.log());
    assert!(text.contains("near-api-js wallet flow: ok"), "{text}");
}
