//! Disk faults on one validator of four, under a transfer load: a store on a full filesystem
//! (a tmpfs with a size limit) and an fsync that starts failing (a preloaded library makes
//! `fsync`/`fdatasync` return EIO). Each time the node must stop by itself with the cause in
//! its log and a failure exit status, the other three must go on, and once the disk is well
//! again the node must reopen its store, catch up, hold the same blocks as the others, and
//! never have signed two different messages for one step (no evidence against it anywhere).
//! The tmpfs needs root; without it the test fails saying so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rpc::client::RpcClient;
use testnet::{Layout, Network, NetworkOptions};
use tests::{account_key, assert_same_blocks, free_port_range, height, start_load, wait_all};

const FAULTY: usize = 3;

async fn up(dir: &Path, name: &str) -> Network {
    let opts = NetworkOptions::new(4, free_port_range(4), free_port_range(4), name);
    Network::up(Layout::new(dir), &opts).await.expect("4 validators up")
}

/// Transfers between the demo accounts through the three healthy nodes.
fn load(net: &Network) -> Vec<tokio::task::JoinHandle<()>> {
    let rpcs: Vec<RpcClient> = net.nodes[..FAULTY].iter().map(|n| n.rpc.clone()).collect();
    let keys = ["alice.acme", "bob.acme", "carol.acme"].map(|a| account_key(net, a)).to_vec();
    start_load(rpcs, keys, Arc::new(Mutex::new(Vec::new())))
}

/// Waits (bounded) for the faulty node to exit by itself; returns its log.
async fn stops_by_itself(net: &mut Network, secs: u64) -> String {
    let node = &mut net.nodes[FAULTY];
    let status = tokio::time::timeout(Duration::from_secs(secs), node.child.wait())
        .await
        .unwrap_or_else(|_| panic!("the node did not stop within {secs} s of the fault"))
        .unwrap();
    let log = std::fs::read_to_string(node.home.join("node.log")).unwrap_or_default();
    assert!(!status.success(), "a node stopped by a disk fault exits with a failure, not {status}");
    assert!(!log.contains("panicked"), "it stops by itself, it does not panic:\n{log}");
    let tail: Vec<&str> = log.lines().rev().take(8).collect();
    let why: Vec<&str> = tail.into_iter().rev().collect();
    eprintln!("the node stopped with {status}:\n{}", why.join("\n"));
    log
}

/// The three others go on; the faulty node, restarted, catches up with the same blocks; no
/// node holds evidence against it.
async fn recovers(net: &mut Network) {
    let rpcs: Vec<RpcClient> = net.nodes.iter().map(|n| n.rpc.clone()).collect();
    let target = height(&rpcs[0]).await + 3;
    let reached = wait_all(&rpcs, &[0, 1, 2], target, 30).await;
    assert!(reached.iter().all(|h| *h >= target), "the other three go on: {reached:?}");
    net.restart(FAULTY).await.expect("the node reopens its store");
    let target = height(&rpcs[0]).await + 2;
    let reached = wait_all(&rpcs, &[0, 1, 2, FAULTY], target, 60).await;
    assert!(reached.iter().all(|h| *h >= target), "the node catches up: {reached:?}");
    assert_same_blocks(&rpcs, 1, target).await;
    for rpc in &rpcs {
        let evidence = rpc.call("admin_evidence", serde_json::json!([])).await.expect("admin_evidence");
        assert_eq!(evidence, serde_json::json!([]), "nobody signed twice for one step");
    }
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A tmpfs mounted on a directory, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(on: &Path, bytes: u64) -> Tmpfs {
        assert!(nix::unistd::Uid::effective().is_root(), "mounting a size-limited tmpfs needs root");
        let size = format!("size={bytes}");
        run("mount", &["-t", "tmpfs", "-o", &size, "tmpfs", on.to_str().unwrap()]);
        Tmpfs(on.to_owned())
    }

    fn resize(&self, bytes: u64) {
        run("mount", &["-o", &format!("remount,size={bytes}"), self.0.to_str().unwrap()]);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn used_bytes(dir: &Path) -> u64 {
    let out = Command::new("du").args(["-sb"]).arg(dir).output().expect("du");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().and_then(|n| n.parse().ok()).expect("du output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_node_cleanly_and_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = up(dir.path(), "disk-full").await;
    net.stop_node(FAULTY, Duration::from_secs(30)).await.unwrap();
    // The store moves onto a tmpfs with little room left.
    let data = net.nodes[FAULTY].home.join("data");
    let kept = net.nodes[FAULTY].home.join("data.before");
    std::fs::rename(&data, &kept).unwrap();
    std::fs::create_dir(&data).unwrap();
    let room = 2 * 1024 * 1024;
    let fs = Tmpfs::mount(&data, used_bytes(&kept) + room);
    run("cp", &["-a", &format!("{}/.", kept.display()), data.to_str().unwrap()]);
    net.restart(FAULTY).await.unwrap();
    let loaders = load(&net);
    let log = stops_by_itself(&mut net, 240).await;
    assert!(log.contains("No space left on device"), "the log says why:\n{}", &log[log.len().saturating_sub(3000)..]);
    fs.resize(512 * 1024 * 1024);
    recovers(&mut net).await;
    for l in loaders {
        l.abort();
    }
    net.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_fsync_stops_the_node_cleanly_and_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let shim = dir.path().join("fsync_fault.so");
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/fsync_fault.c");
    run("cc", &["-shared", "-fPIC", "-o", shim.to_str().unwrap(), source.to_str().unwrap(), "-ldl"]);
    let mut net = up(dir.path(), "fsync-fault").await;
    let trigger = dir.path().join("fail-fsync-now");
    net.stop_node(FAULTY, Duration::from_secs(30)).await.unwrap();
    let env = [("LD_PRELOAD", shim.to_str().unwrap()), ("FSYNC_FAULT_TRIGGER", trigger.to_str().unwrap())];
    net.restart_with_env(FAULTY, &env).await.unwrap();
    let loaders = load(&net);
    let rpcs: Vec<RpcClient> = net.nodes.iter().map(|n| n.rpc.clone()).collect();
    let target = height(&rpcs[0]).await + 3;
    let reached = wait_all(&rpcs, &[FAULTY], target, 30).await;
    assert!(reached[0] >= target, "the node runs normally with the library loaded: {reached:?}");
    std::fs::write(&trigger, b"").unwrap();
    let log = stops_by_itself(&mut net, 60).await;
    assert!(log.contains("Input/output error"), "the log says why:\n{}", &log[log.len().saturating_sub(3000)..]);
    std::fs::remove_file(&trigger).unwrap();
    recovers(&mut net).await;
    for l in loaders {
        l.abort();
    }
    net.stop(Duration::from_secs(10)).await.unwrap();
}

/// Kills the faulty node under load (SIGKILL, as a power cut would).
async fn killed_mid_write(net: &mut Network) {
    let rpc = net.nodes[FAULTY].rpc.clone();
    let target = height(&rpc).await + 5;
    let reached = wait_all(std::slice::from_ref(&rpc), &[0], target, 30).await;
    assert!(reached[0] >= target, "the node runs under load first: {reached:?}");
    net.signal(FAULTY, nix::sys::signal::Signal::SIGKILL).unwrap();
    tokio::time::timeout(Duration::from_secs(30), net.nodes[FAULTY].child.wait()).await.unwrap().unwrap();
}

/// Cuts the last `bytes` off `file`, as a write the disk never finished.
fn cut_tail(file: &Path, bytes: u64) {
    let len = file.metadata().unwrap().len();
    assert!(len > bytes, "{} holds {len} bytes, too few to cut {bytes}", file.display());
    std::fs::OpenOptions::new().write(true).open(file).unwrap().set_len(len - bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tails_of_the_consensus_wal_and_the_store_log_are_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = up(dir.path(), "torn-tails").await;
    let loaders = load(&net);
    let home = net.nodes[FAULTY].home.clone();

    // The consensus WAL's last record torn: dropped on restart, with a warning.
    killed_mid_write(&mut net).await;
    cut_tail(&home.join("wal/consensus.wal"), 3);
    recovers(&mut net).await;
    let log = std::fs::read_to_string(home.join("node.log")).unwrap();
    assert!(log.contains("dropping a torn record at the end of the consensus WAL"), "the WAL repair is logged");

    // The store's write-ahead log cut short: RocksDB recovers to the last whole batch, the
    // node finds its head where that left it and syncs the rest from its peers.
    killed_mid_write(&mut net).await;
    let mut logs: Vec<PathBuf> = std::fs::read_dir(home.join("data"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log") && p.metadata().is_ok_and(|m| m.len() > 64))
        .collect();
    logs.sort();
    let newest = logs.last().expect("RocksDB keeps a write-ahead log with data in it");
    cut_tail(newest, 64);
    recovers(&mut net).await;
    for l in loaders {
        l.abort();
    }
    net.stop(Duration::from_secs(10)).await.unwrap();
}
