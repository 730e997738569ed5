//! An unmodified Python NEAR client (near-kit 1.3.0 from PyPI) transfers and calls views.
//! Needs the virtualenv `tests/py/.venv` with `tests/py/requirements.txt` (scripts/test.sh
//! makes it); a missing piece fails this test with the command to fix it.

use std::path::PathBuf;
use std::process::Command;

use tests::TestNode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_kit_transfers_and_calls_views() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("py");
    let python = dir.join(".venv/bin/python");
    assert!(
        python.is_file(),
        "near-kit is not installed: run `python3 -m venv {0}/.venv && {0}/.venv/bin/pip install -r {0}/requirements.txt`",
        dir.display()
    );
    let node = TestNode::start().await;
    let cred = node.dir.path().join("genesis/accounts/alice.acme.json");
    let script = dir.join("wallet.py");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python).arg(script).arg(node.rpc.url()).arg(cred).arg("bob.acme").output().map(|o| (o, node))
    })
    .await
    .unwrap()
    .expect("run python");
    let (out, node) = out;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "near-kit flow failed:\n{text}\nnode log:\n{}", node.log());
    assert!(text.contains("near-kit wallet flow: ok"), "{text}");
}
