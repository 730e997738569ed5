//! A node signing through OpenBao (file storage, so it survives a restart): OpenBao is
//! killed and the validator misses its votes without crashing, then signs again once
//! OpenBao is back; a wrong token or address stops `chain run` at start-up with a clear
//! error; the token never reaches the log, even at debug level.

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
    let port = free_port();
    init(&home, &genesis, &bao.address, &token, port);
    let mut node = spawn(&home);
    let rpc = RpcClient::new(format!("http://127.0.0.1:{port}"));
    reach(&rpc, 3, 30).await;

    // OpenBao dies: no new blocks, the node stays up and says why.
    bao.stop().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stalled = height(&rpc).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(height(&rpc).await <= stalled + 1, "a block without a signature?");
    assert!(node.try_wait().unwrap().is_none(), "the node must not exit when Vault is down");
    let log = std::fs::read_to_string(home.join("node.log")).unwrap();
    assert!(log.contains("could not sign"), "missed votes are logged");

    // OpenBao is back (restarted and unsealed): the node signs again.
    bao.restart().await.unwrap();
    reach(&rpc, stalled + 3, 30).await; // signs again after Vault came back
    let _ = node.kill();
    let _ = node.wait();
    let log = std::fs::read_to_string(home.join("node.log")).unwrap();
    assert!(log.contains("DEBUG"), "the log ran at debug level");
    for secret in [&token, &bao.root_token] {
        assert!(!log.contains(secret.as_str()), "a Vault token appears in the node log");
    }
    bao.stop().await.unwrap();
}
