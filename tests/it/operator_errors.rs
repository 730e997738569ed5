//! Mistakes an operator makes, each told at once instead of a node or testnet that seems fine:
//! a lone validator's node initialised without its key, and a testnet whose RPC port answers
//! for another chain.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use genesis::{NewGenesisOptions, Preset};
use nix::sys::signal::Signal;
use rpc::client::RpcClient;
use testnet::{Layout, Network, NetworkOptions};
use tests::{binary, free_port, free_port_range};

const NEVER: &str = "will never make a block";

#[test]
fn a_lone_validators_node_without_its_key_says_it_will_never_make_a_block() {
    let dir = tempfile::tempdir().unwrap();
    let generated = genesis::generate(&NewGenesisOptions {
        validators: 1,
        preset: Preset::Development,
        chain_id: "keyless".into(),
        host: "127.0.0.1".into(),
        base_port: free_port(),
        genesis_time_ms: 1_700_000_000_000,
    })
    .unwrap();
    generated.write(&dir.path().join("genesis")).unwrap();
    let home = dir.path().join("home");
    let port = free_port();
    let init = Command::new(binary("chain"))
        .args(["init", "--rpc-listen", &format!("127.0.0.1:{port}")])
        .arg("--genesis")
        .arg(dir.path().join("genesis/genesis.json"))
        .arg("--home")
        .arg(&home)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&init.stderr);
    assert!(init.status.success(), "{said}");
    assert!(said.contains(NEVER) && said.contains(generated.genesis.validators[0].account_id.as_str()), "{said}");

    // And again, as an error in the log, every time it starts.
    let log = dir.path().join("node.log");
    let mut node = Command::new(binary("chain"))
        .arg("run")
        .arg("--home")
        .arg(&home)
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut text = String::new();
    while started.elapsed() < Duration::from_secs(20) && !text.contains(NEVER) {
        std::thread::sleep(Duration::from_millis(100));
        text = std::fs::read_to_string(&log).unwrap_or_default();
    }
    let line = text.lines().find(|l| l.contains(NEVER)).map(str::to_owned);
    // NEAR's `health` says the same to clients: no new blocks (its head is the genesis block).
    let rpc = RpcClient::new(format!("http://127.0.0.1:{port}"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let health = runtime.block_on(async {
        for _ in 0..100 {
            match rpc.call("health", serde_json::json!([])).await {
                Err(rpc::client::ClientError::Rpc { error, .. }) => return Some(error),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        None
    });
    node.kill().unwrap();
    node.wait().unwrap();
    let line = line.unwrap_or_else(|| panic!("not said at start:\n{text}"));
    assert!(line.contains("ERROR"), "said loudly: {line}");
    let health = health.expect("health answered with an error");
    assert_eq!(health["cause"]["name"], "NO_NEW_BLOCKS", "{health}");
    assert!(health["cause"]["info"]["elapsed"]["secs"].as_u64().unwrap() > 30, "{health}");
}

/// A testnet node whose port answers for another chain is refused by chain id, validator key
/// and genesis hash, not driven or measured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_testnet_refuses_a_port_that_answers_for_another_chain() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ours = NetworkOptions::new(1, free_port_range(1), free_port_range(1), "ours");
    let theirs = NetworkOptions::new(1, free_port_range(1), free_port_range(1), "theirs");
    let mut net = Network::up(Layout::new(a.path()), &ours).await.expect("our testnet");
    let other = Network::up(Layout::new(b.path()), &theirs).await.expect("the other chain");

    // Our node restarts, but what answers at its address is the other chain's node.
    net.signal(0, Signal::SIGTERM).unwrap();
    let _ = net.nodes[0].child.wait().await;
    net.nodes[0].rpc = RpcClient::new(other.nodes[0].rpc.url().to_owned());
    let refused = net.restart(0).await.expect_err("another chain's node taken for ours");
    let message = refused.to_string();
    assert!(message.contains("chain id theirs") && message.contains("another chain"), "{message}");

    other.stop(Duration::from_secs(10)).await.unwrap();
    net.stop(Duration::from_secs(10)).await.unwrap();
}
