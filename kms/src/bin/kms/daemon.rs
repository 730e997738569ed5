//! `kms serve`: a guarded signer behind gRPC, on a Unix socket, loopback, or mutual TLS, with
//! health reporting.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use kms::remote::proto::remote_signer_server::RemoteSignerServer;
use kms::remote::{Bound, DaemonConfig, SignerService};
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};

/// Reads `kms.toml` and checks it (plaintext on a non-loopback address, TLS with a socket,
/// a `remote` backend are refused) before anything is opened or bound.
pub fn load(path: &Path) -> anyhow::Result<DaemonConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let config: DaemonConfig = toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
    config.check().with_context(|| format!("{}", path.display()))?;
    Ok(config.resolved(&base_dir(path)))
}

/// The directory relative paths in `config` are under.
pub fn base_dir(config: &Path) -> PathBuf {
    config.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_owned).unwrap_or_else(|| ".".into())
}

/// Without `RUST_LOG`: info, plus tonic's report of each refused TLS handshake (a client
/// without a certificate, or with one from another CA), which it logs at debug.
const DEFAULT_LOG: &str = "info,tonic::transport::server::io_stream=debug";

pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

const HEALTH_EVERY: Duration = Duration::from_secs(2);

pub async fn serve(config_path: &Path) -> anyhow::Result<()> {
    let config = load(config_path)?;
    // TLS files first: a loose key is refused before the signer logs in to Vault.
    let tls = config.tls.as_ref().map(|t| t.server_config()).transpose()?;
    let signer = config.signer.open(&base_dir(config_path), &config.chain_id).await?;
    let bound = config.listen.bind(config.socket_mode()).await?;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<RemoteSignerServer<SignerService>>().await;
    tracing::info!(target: "kms", listen = %config.listen, tls = tls.is_some(), public_key = %signer.public_key(), chain_id = %config.chain_id, backend = config.signer.kind(), "kms serving");

    // The health service follows the backend: NOT_SERVING while Vault cannot sign.
    let watched = signer.clone();
    let health_task = tokio::spawn(async move {
        let mut healthy = true;
        loop {
            tokio::time::sleep(HEALTH_EVERY).await;
            match watched.health().await {
                Ok(()) if !healthy => {
                    tracing::info!(target: "kms", "backend healthy again");
                    reporter.set_serving::<RemoteSignerServer<SignerService>>().await;
                    healthy = true;
                }
                Err(e) if healthy => {
                    tracing::warn!(target: "kms", error = %e, "backend unhealthy");
                    reporter.set_not_serving::<RemoteSignerServer<SignerService>>().await;
                    healthy = false;
                }
                _ => {}
            }
        }
    });
    let mut builder = tonic::transport::Server::builder();
    let service = match tls {
        Some(tls) => {
            builder = builder.tls_config(tls).context("TLS settings")?;
            SignerService::with_client_certificates(signer, &config.chain_id)
        }
        None => SignerService::new(signer, &config.chain_id),
    };
    let router = builder.add_service(health).add_service(RemoteSignerServer::new(service));
    let served = match bound {
        Bound::Tcp(listener) => {
            router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown_signal()).await
        }
        Bound::Unix(listener, path) => {
            let served =
                router.serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown_signal()).await;
            let _ = std::fs::remove_file(path);
            served
        }
    };
    health_task.abort();
    served?;
    tracing::info!(target: "kms", "kms stopped");
    Ok(())
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
