//! Generates the remote signer's gRPC server and client from `proto/` with the vendored
//! `protoc` (unless `PROTOC` names another).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = match std::env::var_os("PROTOC") {
        Some(p) => p.into(),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure().compile_with_config(config, &["proto/kms/v1/signer.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
