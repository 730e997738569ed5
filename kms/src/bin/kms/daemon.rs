//! `kms serve`: a guarded signer behind gRPC, with health reporting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use kms::remote::proto::remote_signer_server::RemoteSignerServer;
use kms::remote::SignerService;
use kms::SignerConfig;
use serde::Deserialize;
use tokio_stream::wrappers::TcpListenerStream;

/// `kms.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    pub listen: SocketAddr,
    /// Only this chain's consensus messages are signed.
    pub chain_id: String,
    /// `local` or `vault` (a daemon does not forward to another daemon).
    pub signer: SignerConfig,
}

impl DaemonConfig {
    pub fn load(path: &Path) -> anyhow::Result<DaemonConfig> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let config: DaemonConfig = toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
        if matches!(config.signer, SignerConfig::Remote { .. }) {
            bail!("{}: a kms daemon signs with `local` or `vault`, not `remote`", path.display());
        }
        Ok(config)
    }
}

/// The directory relative paths in `config` are under.
pub fn base_dir(config: &Path) -> PathBuf {
    config.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_owned).unwrap_or_else(|| ".".into())
}

pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

const HEALTH_EVERY: Duration = Duration::from_secs(2);

pub async fn serve(config_path: &Path) -> anyhow::Result<()> {
    let config = DaemonConfig::load(config_path)?;
    let signer = config.signer.open(&base_dir(config_path), &config.chain_id).await?;
    let listener =
        tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<RemoteSignerServer<SignerService>>().await;
    tracing::info!(target: "kms", listen = %listener.local_addr()?, public_key = %signer.public_key(), chain_id = %config.chain_id, backend = config.signer.kind(), "kms serving");

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
    let service = SignerService::new(signer, &config.chain_id);
    tonic::transport::Server::builder()
        .add_service(health)
        .add_service(RemoteSignerServer::new(service))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown_signal())
        .await?;
    health_task.abort();
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
