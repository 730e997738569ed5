//! Generates the gRPC server and client from `proto/` with the vendored `protoc` (unless
//! `PROTOC` names another), and a descriptor set for server reflection. Records the git
//! commit and rustc version the binary is built from (`status`'s `version`).

use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Sets `CHAIN_GIT_COMMIT` (when built inside a git clone) and `CHAIN_RUSTC_VERSION`, and
/// reruns when the checked-out commit moves.
fn build_facts() {
    if let Some(commit) = output("git", &["rev-parse", "HEAD"]) {
        println!("cargo:rustc-env=CHAIN_GIT_COMMIT={commit}");
        for path in ["HEAD", "refs/heads"] {
            if let Some(p) = output("git", &["rev-parse", "--git-path", path]) {
                println!("cargo:rerun-if-changed={p}");
            }
        }
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    if let Some(version) = output(&rustc, &["--version"]) {
        println!("cargo:rustc-env=CHAIN_RUSTC_VERSION={version}");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = match std::env::var_os("PROTOC") {
        Some(p) => p.into(),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure().file_descriptor_set_path(out.join("node_descriptor.bin")).compile_with_config(
        config,
        &["proto/chain/v1/node.proto"],
        &["proto"],
    )?;
    println!("cargo:rerun-if-changed=proto");
    build_facts();
    Ok(())
}
