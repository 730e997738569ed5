//! How a testnet's validators sign: local key files (the default), Vault (each node talks to
//! an OpenBao dev server with its own least-privilege token), or remote (each validator has
//! a `kms` daemon that holds the token; the node holds no Vault credentials).
//!
//! Remote daemons serve mutual TLS on loopback, as they would across hosts: each validator
//! gets its own CA (`kms tls init`), the daemon a server certificate for 127.0.0.1 and the
//! node a client certificate, so a node can reach only its own daemon.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use genesis::Generated;
use kms::remote::{DaemonConfig, Listen};
use tokio::process::{Child, Command};

use crate::openbao::{write_secret, OpenBao, Storage};
use crate::Layout;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum KmsMode {
    /// Key files in each node's home.
    #[default]
    Local,
    /// Each node signs through OpenBao Transit itself.
    Vault,
    /// Each node signs through its own `kms` daemon, which signs through OpenBao.
    Remote,
}

/// A key name Vault accepts for a validator account (`v0.acme` -> `validator-v0-acme`).
pub fn key_name(account: &str) -> String {
    format!("validator-{}", account.replace('.', "-"))
}

/// Starts OpenBao (dev server, in memory) and creates one non-exportable Transit key per
/// validator; the genesis gets their public keys as consensus keys. Writes each validator's
/// signer set-up under the layout (see [`signer_config`]).
pub async fn prepare_vault(
    layout: &Layout,
    generated: &mut Generated,
    mode: KmsMode,
    vault_port: u16,
    kms_base_port: u16,
) -> anyhow::Result<OpenBao> {
    let bao = OpenBao::start(&layout.root.join("openbao"), vault_port, Storage::Dev).await?;
    let admin = bao.admin().await?;
    for (i, v) in generated.genesis.validators.iter_mut().enumerate() {
        let account = v.account_id.to_string();
        let name = key_name(&account);
        v.consensus_key = kms::vault::admin::create_key(&admin, "transit", &name).await?;
        kms::vault::admin::signer_policy(&admin, &name, "transit", &name).await?;
        let token = kms::vault::admin::token(&admin, &name, "1h").await?;
        let vault = format!(
            "[vault]\naddress = \"{}\"\nkey_name = \"{name}\"\nkey_version = 1\n\n[vault.auth]\nmethod = \"token\"\ntoken_file = \"vault-token\"\n",
            bao.address
        );
        let node_home = layout.node_home(&account);
        std::fs::create_dir_all(&node_home)?;
        let node_signer = match mode {
            KmsMode::Local => bail!("prepare_vault is for --kms vault or remote"),
            KmsMode::Vault => {
                write_secret(&node_home.join("vault-token"), &token)?;
                format!("kind = \"vault\"\n\n{vault}")
            }
            KmsMode::Remote => {
                let dir = kms_dir(layout, &account);
                std::fs::create_dir_all(&dir)?;
                write_secret(&dir.join("vault-token"), &token)?;
                let port = usize::from(kms_base_port) + i;
                issue_certificates(&dir, &node_home)?;
                let daemon = format!(
                    "listen = \"127.0.0.1:{port}\"\nchain_id = \"{}\"\n\n{TLS_DAEMON}\n[signer]\nkind = \"vault\"\n\n{}",
                    generated.genesis.chain_id,
                    vault.replace("[vault", "[signer.vault")
                );
                std::fs::write(dir.join("kms.toml"), daemon)?;
                format!("kind = \"remote\"\naddress = \"https://127.0.0.1:{port}\"\n\n{TLS_NODE}")
            }
        };
        let path = signer_config(layout, &account);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, node_signer)?;
    }
    Ok(bao)
}

/// The daemon's `[tls]`: its certificate, and the CA of the node's client certificate.
const TLS_DAEMON: &str = "[tls]\nca_cert = \"tls/ca.pem\"\ncert = \"tls/server.pem\"\nkey = \"tls/server-key.pem\"\n";
/// The node's `[tls]` (under its home): its client certificate, and the daemon's CA.
const TLS_NODE: &str = "[tls]\nca_cert = \"kms-ca.pem\"\ncert = \"kms-client.pem\"\nkey = \"kms-client-key.pem\"\n";

/// A CA, a server certificate for 127.0.0.1 in `kms_dir/tls`, and a client certificate
/// moved into `node_home` (its key 0600), with the CA the node checks the daemon against.
fn issue_certificates(kms_dir: &Path, node_home: &Path) -> anyhow::Result<()> {
    let tls = kms_dir.join("tls");
    kms::remote::init_certs(&tls, &["127.0.0.1".into(), "localhost".into()], &["node".into()], 30)?;
    std::fs::copy(tls.join("ca.pem"), node_home.join("kms-ca.pem"))?;
    std::fs::rename(tls.join("node.pem"), node_home.join("kms-client.pem"))?;
    let key = kms::secret_file::read(&tls.join("node-key.pem"))?;
    kms::secret_file::write(&node_home.join("kms-client-key.pem"), &key)?;
    std::fs::remove_file(tls.join("node-key.pem"))?;
    Ok(())
}

/// The `[signer]` file `chain init --signer-config` takes for `account`.
pub fn signer_config(layout: &Layout, account: &str) -> PathBuf {
    layout.genesis_dir().join("validators").join(account).join("signer.toml")
}

/// The directory of `account`'s `kms` daemon (config, token, watermark, log).
pub fn kms_dir(layout: &Layout, account: &str) -> PathBuf {
    layout.root.join("kms").join(account)
}

/// The `kms` binary, beside `chain`.
pub fn kms_binary() -> anyhow::Result<PathBuf> {
    let chain = Layout::chain_binary()?;
    let kms = chain.with_file_name("kms");
    if !kms.is_file() {
        bail!("the `kms` binary is not next to {}; build it with `cargo build --bins`", chain.display());
    }
    Ok(kms)
}

/// Starts `kms serve` for the daemon config in `dir` (log in `dir/kms.log`) and waits until
/// its port or socket answers.
pub async fn spawn_kms(dir: &Path) -> anyhow::Result<Child> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("kms.log"))?;
    let config = dir.join("kms.toml");
    let text = std::fs::read_to_string(&config).with_context(|| format!("reading {}", config.display()))?;
    let daemon: DaemonConfig = toml::from_str(&text).with_context(|| format!("{}", config.display()))?;
    let listen = daemon.resolved(dir).listen;
    let mut child = Command::new(kms_binary()?)
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .context("starting kms serve")?;
    for _ in 0..200 {
        let answers = match &listen {
            Listen::Tcp(addr) => tokio::net::TcpStream::connect(addr).await.is_ok(),
            Listen::Unix(path) => tokio::net::UnixStream::connect(path).await.is_ok(),
        };
        if answers {
            return Ok(child);
        }
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(dir.join("kms.log")).unwrap_or_default();
            bail!("kms serve in {} exited with {status}:\n{log}", dir.display());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("kms serve in {} did not listen on {listen} within 10 s", dir.display())
}
