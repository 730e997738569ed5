//! How a testnet's validators sign: local key files (the default), Vault (each node talks to
//! an OpenBao dev server with its own least-privilege token), or remote (each validator has
//! a `kms` daemon that holds the token; the node holds no Vault credentials).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use genesis::Generated;
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
                let daemon = format!(
                    "listen = \"127.0.0.1:{port}\"\nchain_id = \"{}\"\n\n[signer]\nkind = \"vault\"\n\n{}",
                    generated.genesis.chain_id,
                    vault.replace("[vault", "[signer.vault")
                );
                std::fs::write(dir.join("kms.toml"), daemon)?;
                format!("kind = \"remote\"\naddress = \"http://127.0.0.1:{port}\"\n")
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
/// its port answers.
pub async fn spawn_kms(dir: &Path) -> anyhow::Result<Child> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("kms.log"))?;
    let config = dir.join("kms.toml");
    let text = std::fs::read_to_string(&config).with_context(|| format!("reading {}", config.display()))?;
    let table: toml::Table = text.parse().with_context(|| format!("{}", config.display()))?;
    let listen = table
        .get("listen")
        .and_then(|l| l.as_str())
        .with_context(|| format!("{} has no listen address", config.display()))?
        .to_owned();
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
        if tokio::net::TcpStream::connect(&listen).await.is_ok() {
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
