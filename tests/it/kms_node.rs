//! A node signing through OpenBao (file storage, so it survives a restart): OpenBao is
//! killed and the validator misses its votes without crashing, then signs again once
//! OpenBao is back; a wrong token or address stops `chain run` at start-up with a clear
//! error; the token never reaches the log, even at debug level. Readiness and
//! `chain_signer_up` follow the signer's health poll down and back up.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use genesis::{NewGenesisOptions, Preset};
use kms::vault::admin;
use rpc::client::RpcClient;
use testnet::openbao::{write_secret, OpenBao, Storage};
use tests::{binary, free_port, height, reach};

/// `chain init` of `home` signing through Transit key `v0` at `address` with `token`.
fn init(home: &Path, genesis: &Path, address: &str, token: &str, rpc_port: u16) {
    init_with_metrics(home, genesis, address, token, rpc_port, free_port());
}

/// [`init`], serving metrics on `metrics_port`.
fn init_with_metrics(home: &Path, genesis: &Path, address: &str, token: &str, rpc_port: u16, metrics_port: u16) {
    std::fs::create_dir_all(home).unwrap();
    write_secret(&home.join("vault-token"), token).unwrap();
    let signer = home.with_extension("signer.toml");
    std::fs::write(
        &signer,
        format!("kind = \"vault\"\n[vault]\naddress = \"{address}\"\nkey_name = \"v0\"\nkey_version = 1\n[vault.auth]\nmethod = \"token\"\ntoken_file = \"vault-token\"\n"),
    )
    .unwrap();
    let out = Command::new(binary("chain"))
        .args(["init", "--rpc-listen", &format!("127.0.0.1:{rpc_port}")])
        .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
        .arg("--genesis")
        .arg(genesis)
        .arg("--home")
        .arg(home)
        .arg("--signer-config")
        .arg(&signer)
        .output()
        .unwrap();
    assert!(out.status.success(), "chain init: {}", String::from_utf8_lossy(&out.stderr));
    // Debug logging everywhere, vaultrs and the HTTP client included.
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    std::fs::write(home.join("config.toml"), config.replace("filter = \"info\"", "filter = \"debug\"")).unwrap();
}

fn spawn(home: &Path) -> std::process::Child {
    let log = std::fs::File::create(home.join("node.log")).unwrap();
    Command::new(binary("chain"))
        .arg("run")
        .arg("--home")
        .arg(home)
        .env_remove("RUST_LOG")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

/// Waits (bounded) for `child` to exit; returns its log.
fn exits_with_error(mut child: std::process::Child, home: &Path) -> String {
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success());
            return std::fs::read_to_string(home.join("node.log")).unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("chain run did not stop at start-up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_outage_costs_votes_not_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut bao = OpenBao::start(&dir.path().join("bao"), free_port(), Storage::File).await.unwrap();
    let admin_client = bao.admin().await.unwrap();
    let key = admin::create_key(&admin_client, "transit", "v0").await.unwrap();
    admin::signer_policy(&admin_client, "v0", "transit", "v0").await.unwrap();
    let token = admin::token(&admin_client, "v0", "1h").await.unwrap();

    let mut generated = genesis::generate(&NewGenesisOptions {
        validators: 1,
        preset: Preset::Development,
        chain_id: "vault-node".into(),
        host: "127.0.0.1".into(),
        base_port: free_port(),
        genesis_time_ms: 1_700_000_000_000,
    })
    .unwrap();
    generated.genesis.validators[0].consensus_key = key;
    let gdir = dir.path().join("genesis");
    generated.write(&gdir).unwrap();
    let genesis = gdir.join("genesis.json");

    // Start-up: a wrong token, then a wrong address, each a clear error.
    let bad = dir.path().join("bad-token");
    init(&bad, &genesis, &bao.address, "hvs.wrong-token-value", free_port());
    let log = exits_with_error(spawn(&bad), &bad);
    assert!(log.contains("cannot log in to Vault at") && log.contains("refused"), "{log}");
    assert!(!log.contains("hvs.wrong-token-value"), "the token must not be logged: {log}");
    let nowhere = dir.path().join("nowhere");
    let nowhere_addr = format!("http://127.0.0.1:{}", free_port());
    init(&nowhere, &genesis, &nowhere_addr, &token, free_port());
    let log = exits_with_error(spawn(&nowhere), &nowhere);
    assert!(log.contains(&format!("cannot log in to Vault at {nowhere_addr}")), "{log}");

    // Running: blocks come (a lone validator makes an empty block every second).
    let home = dir.path().join("home");
    let (port, metrics_port) = (free_port(), free_port());
    init_with_metrics(&home, &genesis, &bao.address, &token, port, metrics_port);
    let mut node = spawn(&home);
    let rpc = RpcClient::new(format!("http://127.0.0.1:{port}"));
    reach(&rpc, 3, 30).await;
    let signer_up = format!("http://127.0.0.1:{metrics_port}/metrics");
    assert_eq!(signer_health(&rpc, &signer_up).await, (200, Some(1)), "ready, and the signer answers");

    // OpenBao dies: no new blocks, the node stays up and says why.
    bao.stop().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stalled = height(&rpc).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(height(&rpc).await <= stalled + 1, "a block without a signature?");
    assert!(node.try_wait().unwrap().is_none(), "the node must not exit when Vault is down");
    let log = std::fs::read_to_string(home.join("node.log")).unwrap();
    assert!(log.contains("could not sign"), "missed votes are logged");
    // The health poll sees it too, within its 5 s period (plus its 3 s answer timeout).
    let (ready, up) = until_signer(&rpc, &signer_up, 0).await;
    assert_eq!(ready, 503, "not ready without a signer");
    let body: serde_json::Value = reqwest::get(format!("{}/ready", rpc.url())).await.unwrap().json().await.unwrap();
    assert!(body["reasons"].to_string().contains("signer failing"), "{body}");
    assert!(!body.to_string().contains(&bao.address), "the backend's address is not disclosed: {body}");
    assert_eq!(up, Some(0));

    // OpenBao is back (restarted and unsealed): the node signs again.
    bao.restart().await.unwrap();
    reach(&rpc, stalled + 3, 30).await; // signs again after Vault came back
    assert_eq!(until_signer(&rpc, &signer_up, 1).await, (200, Some(1)), "ready again");
    let _ = node.kill();
    let _ = node.wait();
    let log = std::fs::read_to_string(home.join("node.log")).unwrap();
    assert!(log.contains("DEBUG"), "the log ran at debug level");
    for secret in [&token, &bao.root_token] {
        assert!(!log.contains(secret.as_str()), "a Vault token appears in the node log");
    }
    bao.stop().await.unwrap();
}

/// `GET /ready`'s status and the value of `chain_signer_up{backend="vault"}` (absent before
/// the first health check).
async fn signer_health(rpc: &RpcClient, metrics: &str) -> (u16, Option<u8>) {
    let ready = reqwest::get(format!("{}/ready", rpc.url())).await.unwrap().status().as_u16();
    let text = reqwest::get(metrics).await.unwrap().text().await.unwrap();
    let up = text
        .lines()
        .find_map(|l| l.strip_prefix("chain_signer_up{backend=\"vault\"} "))
        .map(|v| v.trim().parse().unwrap());
    (ready, up)
}

/// [`signer_health`] once `chain_signer_up` reads `up` (bounded: 20 s).
async fn until_signer(rpc: &RpcClient, metrics: &str, up: u8) -> (u16, Option<u8>) {
    let started = std::time::Instant::now();
    loop {
        let now = signer_health(rpc, metrics).await;
        if now.1 == Some(up) || started.elapsed() > Duration::from_secs(20) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
