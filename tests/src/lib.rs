//! Helpers for the end-to-end tests: locate the workspace binaries, start a node process on
//! a free loopback port from a freshly generated genesis, sign transfers.
//!
//! Test support only: failures here panic with a message, as a test should.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chain_types::{Action, CryptoHash, SignedTransaction, Transaction, TransferAction};
use genesis::{Generated, KeyFile, NewGenesisOptions, Preset};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use parking_lot::Mutex;
use rpc::client::RpcClient;
use serde_json::{json, Value};

/// A workspace binary (`chain`, `genesis`, `testnet`) from the cargo target directory the
/// test runs from. Fails loudly if it was not built.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(path.is_file(), "{} is missing: run `cargo build --workspace --bins` before the tests", path.display());
    path
}

/// Ports handed out in this test process: tests run in parallel threads, and a port one
/// test was given (and released, to let its node bind it) must not go to another.
static HANDED_OUT: Mutex<std::collections::BTreeSet<u16>> = Mutex::new(std::collections::BTreeSet::new());

/// A port that was free a moment ago on 127.0.0.1 and was handed to no other test here.
pub fn free_port() -> u16 {
    for _ in 0..200 {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
        if HANDED_OUT.lock().insert(port) {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 that this process has not handed out");
}

/// A base port with `n` consecutive ports free a moment ago on 127.0.0.1 (and handed to no
/// other test here).
pub fn free_port_range(n: u16) -> u16 {
    for _ in 0..200 {
        let base = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
        if base > u16::MAX - n {
            continue;
        }
        let mut handed = HANDED_OUT.lock();
        if (base..base + n).any(|p| handed.contains(&p)) {
            continue;
        }
        let held: Vec<_> = (0..n).map_while(|i| TcpListener::bind(("127.0.0.1", base + i)).ok()).collect();
        if held.len() == usize::from(n) {
            handed.extend(base..base + n);
            return base;
        }
    }
    panic!("no {n} consecutive free ports on 127.0.0.1");
}

/// The Python of `tests/py/.venv` (PyPI clients the suite checks against); panics naming the
/// set-up step when it is missing.
pub fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/py/.venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: `bash scripts/test.sh` installs tests/py/requirements.txt",
        python.display()
    );
    python
}

/// A script under `tests/py/`.
pub fn py_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/py").join(name)
}

/// One validator node running as a `chain run` process.
#[derive(Debug)]
pub struct TestNode {
    pub dir: tempfile::TempDir,
    pub generated: Generated,
    pub rpc: RpcClient,
    child: Option<Child>,
}

impl TestNode {
    /// Generates a development genesis, runs `chain init` and starts the node.
    pub async fn start() -> TestNode {
        let mut node = TestNode::init();
        node.spawn().await;
        node
    }

    /// Generates a development genesis and runs `chain init`; the node is not started (set
    /// up its config, then [`TestNode::spawn`]).
    pub fn init() -> TestNode {
        TestNode::init_with(|_| {})
    }

    /// [`TestNode::init`] with the generated genesis changed by `edit` first.
    pub fn init_with(edit: impl FnOnce(&mut genesis::Genesis)) -> TestNode {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut generated = genesis::generate(&NewGenesisOptions {
            validators: 1,
            preset: Preset::Development,
            chain_id: "e2e".into(),
            host: "127.0.0.1".into(),
            base_port: free_port(),
            genesis_time_ms: 1_700_000_000_000,
        })
        .expect("genesis");
        edit(&mut generated.genesis);
        let gdir = dir.path().join("genesis");
        generated.write(&gdir).expect("write genesis");
        let port = free_port();
        let v = &generated.genesis.validators[0].account_id;
        let out = Command::new(binary("chain"))
            .args(["init", "--rpc-listen", &format!("127.0.0.1:{port}")])
            .arg("--genesis")
            .arg(gdir.join("genesis.json"))
            .arg("--home")
            .arg(dir.path().join("home"))
            .arg("--validator-key")
            .arg(gdir.join("validators").join(v.as_str()).join("consensus_key.json"))
            .output()
            .expect("chain init");
        assert!(out.status.success(), "chain init failed: {}", String::from_utf8_lossy(&out.stderr));
        TestNode { dir, generated, rpc: RpcClient::new(format!("http://127.0.0.1:{port}")), child: None }
    }

    /// The RPC's `host:port`.
    pub fn rpc_addr(&self) -> std::net::SocketAddr {
        self.rpc.url().trim_start_matches("http://").parse().expect("rpc address")
    }

    /// Sets `key = value` (TOML) in the `[rpc.access]` table of the config; takes effect at
    /// the next start.
    pub fn set_access(&self, key: &str, value: &str) {
        set_access(&self.home(), key, value);
    }

    /// `chain credentials add` on this node's home; returns the password it printed.
    pub fn add_credential(&self, user: &str, role: &str, extra: &[&str]) -> String {
        add_credential(&self.home(), user, role, extra)
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Starts `chain run` and waits until it answers `status`.
    pub async fn spawn(&mut self) {
        self.spawn_with(&[]).await;
    }

    /// [`TestNode::spawn`] with more arguments to `chain run`.
    pub async fn spawn_with(&mut self, args: &[&str]) {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.home().join("node.log")).expect("log");
        let child = Command::new(binary("chain"))
            .arg("run")
            .arg("--home")
            .arg(self.home())
            .args(args)
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn chain run");
        self.child = Some(child);
        for _ in 0..200 {
            if self.rpc.status().await.is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("node exited with {status}: {}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("node did not answer within 10 s: {}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home().join("node.log")).unwrap_or_default()
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let Some(mut c) = self.child.take() else { return false };
        let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGTERM);
        for _ in 0..200 {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        false
    }

    pub fn account(&self, name: &str) -> KeyFile {
        self.generated.accounts.iter().find(|k| k.account_id.as_str() == name).cloned().expect("account key")
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Sets `key = value` (TOML) in the `[rpc.access]` table of the config in node home `home`;
/// takes effect at the next start.
pub fn set_access(home: &Path, key: &str, value: &str) {
    let path = home.join("config.toml");
    let config = std::fs::read_to_string(&path).expect("config.toml");
    let mut lines: Vec<String> =
        config.lines().filter(|l| !l.starts_with(&format!("{key} ="))).map(str::to_owned).collect();
    let table = lines.iter().position(|l| l == "[rpc.access]").expect("an [rpc.access] table");
    lines.insert(table + 1, format!("{key} = {value}"));
    std::fs::write(&path, lines.join("\n") + "\n").expect("write config.toml");
}

/// `chain credentials add` on node home `home`; returns the password it printed.
pub fn add_credential(home: &Path, user: &str, role: &str, extra: &[&str]) -> String {
    let mut args = vec!["credentials", "add", "--username", user, "--role", role];
    args.extend_from_slice(extra);
    let out = Command::new(binary("chain")).args(&args).arg("--home").arg(home).output().expect("chain");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let password = String::from_utf8(out.stdout).expect("utf-8").trim().to_owned();
    assert_eq!(password.len(), 32, "stdout is the password alone");
    password
}

/// A signed transfer of `amount` from `from` to `to`.
pub fn transfer(from: &KeyFile, to: &str, nonce: u64, block_hash: CryptoHash, amount: u128) -> SignedTransaction {
    Transaction {
        signer_id: from.account_id.clone(),
        public_key: from.public_key,
        nonce,
        receiver_id: to.parse().expect("receiver id"),
        block_hash,
        actions: vec![Action::Transfer(TransferAction { deposit: amount })],
    }
    .sign(&from.secret_key)
}

/// `amount` of an account as a number.
pub async fn balance(rpc: &RpcClient, account: &str) -> u128 {
    let v = rpc.view_account(&account.parse().expect("id")).await.expect("view_account");
    v["amount"].as_str().and_then(|s| s.parse().ok()).expect("amount string")
}

/// A FunctionCall action with JSON `args`.
pub fn function_call(method: &str, args: &serde_json::Value, deposit: u128) -> Action {
    Action::FunctionCall(Box::new(chain_types::FunctionCallAction {
        method_name: method.into(),
        args: args.to_string().into_bytes(),
        gas: 30_000_000_000_000,
        deposit,
    }))
}

/// Signs `actions` from `key` to `receiver` with the key's next nonce and a recent final
/// block, sends it waiting for FINAL, and returns the decoded JSON of its success value.
/// Panics with the outcome if it failed.
pub async fn submit(rpc: &RpcClient, key: &KeyFile, receiver: &str, actions: Vec<Action>) -> serde_json::Value {
    let nonce = rpc.nonce(&key.account_id, &key.public_key).await.expect("nonce") + 1;
    let recent = rpc.final_block_hash().await.expect("final block");
    let tx = Transaction {
        signer_id: key.account_id.clone(),
        public_key: key.public_key,
        nonce,
        receiver_id: receiver.parse().expect("receiver id"),
        block_hash: recent,
        actions,
    }
    .sign(&key.secret_key);
    let r = rpc.send_tx(&tx, "FINAL").await.expect("send_tx");
    let Some(value) = r["status"]["SuccessValue"].as_str() else {
        panic!("{} -> {receiver} failed: {}", key.account_id, r["status"]);
    };
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, value).expect("base64");
    if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON success value")
    }
}

/// The node's head height (0 while it does not answer).
pub async fn height(rpc: &RpcClient) -> u64 {
    rpc.status().await.map(|s| s["sync_info"]["latest_block_height"].as_u64().unwrap_or(0)).unwrap_or(0)
}

/// Waits (bounded by `secs`) until `rpc` reports at least `target`; returns the height.
pub async fn reach(rpc: &RpcClient, target: u64, secs: u64) -> u64 {
    for _ in 0..secs * 10 {
        let h = height(rpc).await;
        if h >= target {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("height {} did not reach {target} within {secs} s", height(rpc).await);
}

/// Block `h` as the node's JSON-RPC shows it (`null` when it has none).
pub async fn block(rpc: &RpcClient, h: u64) -> Value {
    rpc.call("block", json!({ "block_id": h })).await.unwrap_or(Value::Null)
}

/// Waits (bounded) until every node in `which` reaches `target`; returns the heights seen.
pub async fn wait_all(rpcs: &[RpcClient], which: &[usize], target: u64, secs: u64) -> Vec<u64> {
    let mut hs = Vec::new();
    for _ in 0..secs * 10 {
        hs.clear();
        for &i in which {
            hs.push(height(&rpcs[i]).await);
        }
        if hs.iter().all(|h| *h >= target) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    hs
}

/// Every node in `rpcs` has the same block at each height from `from` to `to`.
pub async fn assert_same_blocks(rpcs: &[RpcClient], from: u64, to: u64) {
    for h in from..=to {
        let first = block(&rpcs[0], h).await["header"]["hash"].clone();
        assert!(first.is_string(), "block {h} exists on node 0");
        for (i, r) in rpcs.iter().enumerate().skip(1) {
            assert_eq!(block(r, h).await["header"]["hash"], first, "node {i} has the same block {h}");
        }
    }
}

/// Each funded account sends transfers one after another, waiting for FINAL, through the
/// nodes in turn (moving on when one is down). Nonces only grow; gaps are allowed.
pub fn start_load(
    rpcs: Vec<RpcClient>,
    keys: Vec<genesis::KeyFile>,
    acked: Arc<Mutex<Vec<String>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let n = keys.len();
    (0..n)
        .map(|i| {
            let (rpcs, keys, acked) = (rpcs.clone(), keys.clone(), acked.clone());
            tokio::spawn(async move {
                let to = keys[(i + 1) % n].account_id.to_string();
                let mut node = i % rpcs.len();
                for nonce in 1.. {
                    let Ok(recent) = rpcs[node].final_block_hash().await else {
                        node = (node + 1) % rpcs.len();
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    let tx = transfer(&keys[i], &to, nonce, recent, 1);
                    match rpcs[node].send_tx(&tx, "FINAL").await {
                        Ok(r) if r["status"] == json!({ "SuccessValue": "" }) => {
                            acked.lock().push(tx.hash().to_string())
                        }
                        _ => {
                            node = (node + 1) % rpcs.len();
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            })
        })
        .collect()
}

/// The key file of a demo account of a testnet (`<layout>/accounts/<account>.json`).
pub fn account_key(net: &testnet::Network, account: &str) -> KeyFile {
    KeyFile::load(&net.layout.accounts_dir().join(format!("{account}.json"))).expect("account key")
}

/// A treasury request decided on a testnet: alice proposes and confirms, bob confirms, and
/// it runs on the second confirmation (the presets' 2-of-3). Returns the request id.
pub async fn treasury_decides(net: &testnet::Network, request: Value) -> Value {
    let rpc = &net.nodes[0].rpc;
    let args = json!({ "request": request });
    let id = submit(
        rpc,
        &account_key(net, "alice.acme"),
        "treasury",
        vec![function_call("add_request_and_confirm", &args, 0)],
    )
    .await;
    let confirm = json!({ "request_id": id });
    submit(rpc, &account_key(net, "bob.acme"), "treasury", vec![function_call("confirm", &confirm, 0)]).await;
    id
}

/// The accounts of the validator set a node's `status` reports.
pub async fn validator_accounts(rpc: &RpcClient) -> Vec<String> {
    let s = rpc.status().await.unwrap_or(Value::Null);
    s["validators"]
        .as_array()
        .map(|v| v.iter().filter_map(|x| x["account_id"].as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// Waits (bounded) until every node reports a validator set of `n` for its next height;
/// returns the first height the new set decides, read back from the blocks' approval lists.
pub async fn wait_for_set(net: &testnet::Network, n: usize, secs: u64) -> u64 {
    let all: Vec<usize> = (0..net.nodes.len()).collect();
    wait_for_set_on(net, &all, n, secs).await
}

/// [`wait_for_set`] on the nodes in `which` only.
pub async fn wait_for_set_on(net: &testnet::Network, which: &[usize], n: usize, secs: u64) -> u64 {
    for _ in 0..secs * 10 {
        let mut all = true;
        for &i in which {
            all &= validator_accounts(&net.nodes[i].rpc).await.len() == n;
        }
        if all {
            let rpc = &net.nodes[which[0]].rpc;
            let mut h = height(rpc).await + 1;
            while h > 1 && block(rpc, h - 1).await["header"]["approvals"].as_array().map(Vec::len) == Some(n) {
                h -= 1;
            }
            return h;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut seen = Vec::new();
    for &i in which {
        seen.push(validator_accounts(&net.nodes[i].rpc).await);
    }
    panic!("the validator set did not become {n} within {secs} s: {seen:?}");
}

/// An account's `locked` stake.
pub async fn locked(rpc: &RpcClient, id: &str) -> u128 {
    let v = rpc.view_account(&id.parse().expect("id")).await.expect("view_account");
    v["locked"].as_str().and_then(|s| s.parse().ok()).expect("locked")
}

/// Waits (bounded) until, from height `from` on, every one of `accounts` authored a block
/// and signed a commit. Returns the heights looked at.
pub async fn wait_all_sign(rpc: &RpcClient, from: u64, accounts: &[&str], secs: u64) -> u64 {
    let (mut authors, mut signers) = (std::collections::BTreeSet::new(), std::collections::BTreeSet::new());
    let mut next = from;
    for _ in 0..secs * 10 {
        while next <= height(rpc).await {
            let b = block(rpc, next).await;
            authors.insert(b["author"].as_str().unwrap_or_default().to_owned());
            for (i, a) in b["header"]["approvals"].as_array().into_iter().flatten().enumerate() {
                if !a.is_null() {
                    signers.insert(i);
                }
            }
            next += 1;
        }
        if accounts.iter().all(|a| authors.contains(*a)) && signers.len() == accounts.len() {
            return next - from;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("from height {from}: authors {authors:?}, signer indexes {signers:?}, expected {accounts:?}");
}

/// Stops node `i` (SIGTERM, then waits for it), requires credentials on it with `membership`
/// (or its validator's own), adds a local operator credential, and starts it again talking
/// with that credential. Returns the operator's password.
pub async fn restart_with_credentials(net: &mut testnet::Network, i: usize, membership: Option<&str>) -> String {
    net.signal(i, nix::sys::signal::Signal::SIGTERM).unwrap();
    tokio::time::timeout(Duration::from_secs(30), net.nodes[i].child.wait()).await.unwrap().unwrap();
    let home = net.nodes[i].home.clone();
    set_access(&home, "require_credentials", "true");
    if let Some(m) = membership {
        set_access(&home, "membership", &format!("\"{m}\""));
    }
    let password = add_credential(&home, "operator", "admin", &[]);
    net.nodes[i].rpc = net.nodes[i].rpc.clone().with_basic_auth("operator", password.clone());
    net.restart(i).await.unwrap();
    password
}
