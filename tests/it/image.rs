//! The container image (`Containerfile`, built by `scripts/image.sh` with buildah or podman):
//! its root, exported and entered with chroot as the image's non-root user, runs
//! `chain --version` (a shared library missing from the image fails here) and a one-validator
//! node that makes blocks on its /data volume. Needs root for chroot: fails loudly otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rpc::client::RpcClient;
use tests::{binary, free_port, reach};

/// The image's user (Containerfile: `USER 10001:10001`).
const USER: &str = "10001:10001";

/// `chroot --userspec=USER root args...` with a clean environment, as the image's entrypoint
/// would run.
fn in_image(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("/usr/sbin/chroot");
    c.arg(format!("--userspec={USER}")).arg(root).args(args).env_clear().env("HOME", "/data");
    c
}

fn output(mut c: Command) -> String {
    let out = c.output().expect("chroot");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{c:?} failed: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_root_runs_a_validator_as_a_non_root_user() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "building the image's root and entering it with chroot needs root; run the suite as root"
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let bin_dir: PathBuf = binary("chain").parent().unwrap().to_owned();
    let target_dir = bin_dir.parent().unwrap();
    let tag = format!("localhost/chain:test-{}", std::process::id());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/image.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(["--bin-dir", bin_dir.to_str().unwrap(), "--tag", &tag, "--export-root", root.to_str().unwrap()])
        .env("CARGO_TARGET_DIR", target_dir)
        .output()
        .expect("bash scripts/image.sh");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "scripts/image.sh failed:\n{log}");
    let tool = if log.contains("(buildah)") { "buildah" } else { "podman" };
    let _ = Command::new(tool).args(["rmi", "-f", &tag]).env("STORAGE_DRIVER", "vfs").output();

    // Only what the image holds: no shell, no package manager, the binaries and their libraries.
    assert!(!root.join("bin/sh").exists() && !root.join("usr/bin").exists(), "a minimal root");
    let version = output(in_image(&root, &["/usr/local/bin/chain", "--version"]));
    assert!(version.starts_with("chain "), "{version}");
    for tool in ["genesis", "kms"] {
        output(in_image(&root, &[&format!("/usr/local/bin/{tool}"), "--help"]));
    }
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(passwd.contains("chain:x:10001:10001:"), "{passwd}");
    let data = std::fs::metadata(root.join("data")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&data), 10001, "/data belongs to the node's user");

    // A genesis made outside, handed in as an operator would mount it.
    let generated = genesis::generate(&genesis::NewGenesisOptions {
        validators: 1,
        preset: genesis::Preset::Development,
        chain_id: "image".into(),
        host: "127.0.0.1".into(),
        base_port: free_port(),
        genesis_time_ms: 1_700_000_000_000,
    })
    .unwrap();
    generated.write(&root.join("data/genesis")).unwrap();
    let chown = Command::new("chown").args(["-R", USER]).arg(root.join("data")).status().unwrap();
    assert!(chown.success());
    let validator = generated.genesis.validators[0].account_id.as_str().to_owned();
    let key = format!("/data/genesis/validators/{validator}/consensus_key.json");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let init = [
        "/usr/local/bin/chain",
        "init",
        "--genesis",
        "/data/genesis/genesis.json",
        "--home",
        "/data/node",
        "--validator-key",
        &key,
        "--rpc-listen",
        &listen,
    ];
    output(in_image(&root, &init));

    let log = std::fs::File::create(dir.path().join("node.log")).unwrap();
    let mut node = in_image(&root, &["/usr/local/bin/chain", "run", "--home", "/data/node", "--log-format", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let rpc = RpcClient::new(format!("http://{listen}"));
    let node_log = || std::fs::read_to_string(dir.path().join("node.log")).unwrap_or_default();
    let mut answered = false;
    for _ in 0..200 {
        if rpc.status().await.is_ok() {
            answered = true;
            break;
        }
        assert!(node.try_wait().unwrap().is_none(), "the node in the image exited:\n{}", node_log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered, "the node in the image did not answer:\n{}", node_log());
    reach(&rpc, 3, 30).await;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(node.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = node.wait().unwrap();
    assert!(status.success(), "clean stop: {status}\n{}", node_log());
    let store = std::fs::metadata(root.join("data/node")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&store), 10001, "the node wrote its home as its own user");
}
