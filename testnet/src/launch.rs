//! Creating, starting and stopping the node processes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use genesis::{Genesis, NewGenesisOptions, Preset};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rpc::client::RpcClient;
use tokio::process::{Child, Command};

use crate::openbao::OpenBao;
use crate::signing::{self, KmsMode};
use crate::Layout;

#[derive(Debug, Clone)]
pub struct NetworkOptions {
    pub validators: usize,
    pub rpc_base_port: u16,
    pub p2p_base_port: u16,
    pub chain_id: String,
    /// Extra funded accounts `load{i}.acme` for load generation (0 for none).
    pub load_accounts: usize,
    /// Blocks per epoch (validator-set changes apply at epoch ends); the preset's when unset.
    pub epoch_length: Option<u64>,
    /// Where the validators' keys live.
    pub kms: KmsMode,
    /// OpenBao's port (with `--kms vault` or `remote`).
    pub vault_port: u16,
    /// Validator i's `kms` daemon listens on this + i (with `--kms remote`).
    pub kms_base_port: u16,
    /// Validator i serves Prometheus metrics on this + i; none when unset.
    pub metrics_base_port: Option<u16>,
}

/// Refuses to start when a port the testnet needs is taken, so nothing is ever measured or
/// driven on whatever else answers there (another testnet, another chain).
fn check_ports_free(opts: &NetworkOptions) -> anyhow::Result<()> {
    let mut needed: Vec<(u16, String)> = Vec::new();
    for i in 0..opts.validators {
        let offset = u16::try_from(i).context("too many validators")?;
        needed.push((opts.rpc_base_port.saturating_add(offset), format!("validator {i}'s RPC (--rpc-base-port)")));
        needed.push((opts.p2p_base_port.saturating_add(offset), format!("validator {i}'s p2p (--p2p-base-port)")));
        if opts.kms == KmsMode::Remote {
            needed.push((opts.kms_base_port.saturating_add(offset), format!("validator {i}'s kms daemon")));
        }
        if let Some(base) = opts.metrics_base_port {
            needed.push((base.saturating_add(offset), format!("validator {i}'s metrics (--metrics-base-port)")));
        }
    }
    if opts.kms != KmsMode::Local {
        needed.push((opts.vault_port, "OpenBao (--vault-port)".into()));
    }
    for (port, what) in needed {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            bail!("port {port} ({what}) is already in use on 127.0.0.1: stop what holds it (`testnet down`?) or choose other ports");
        }
    }
    Ok(())
}

impl NetworkOptions {
    /// Local keys, the default ports for OpenBao (8200) and kms daemons (26650 + i).
    pub fn new(validators: usize, rpc_base_port: u16, p2p_base_port: u16, chain_id: &str) -> Self {
        NetworkOptions {
            validators,
            rpc_base_port,
            p2p_base_port,
            chain_id: chain_id.into(),
            load_accounts: 0,
            epoch_length: None,
            kms: KmsMode::Local,
            vault_port: 8200,
            kms_base_port: 26650,
            metrics_base_port: None,
        }
    }
}

/// What each extra load account holds at genesis.
pub const LOAD_ACCOUNT_BALANCE: u128 = 1_000 * 10u128.pow(24);

/// A running set of node processes.
#[derive(Debug)]
pub struct Network {
    pub layout: Layout,
    pub genesis: Genesis,
    pub nodes: Vec<NodeProcess>,
    /// The OpenBao server the validators sign through (`--kms vault|remote`).
    pub openbao: Option<OpenBao>,
    /// Each validator's `kms` daemon (`--kms remote`), in node order.
    pub kms_daemons: Vec<Child>,
}

#[derive(Debug)]
pub struct NodeProcess {
    pub account: String,
    pub home: PathBuf,
    pub rpc: RpcClient,
    pub child: Child,
}

impl Network {
    /// Creates genesis and node homes if the directory is new (reuses them otherwise), then
    /// starts every node and waits until each answers JSON-RPC.
    pub async fn up(layout: Layout, opts: &NetworkOptions) -> anyhow::Result<Network> {
        if opts.validators == 0 {
            bail!("--validators must be at least 1");
        }
        check_ports_free(opts)?;
        let mut openbao = None;
        if !layout.genesis_file().exists() {
            let mut generated = genesis::generate(&NewGenesisOptions {
                validators: opts.validators,
                preset: Preset::Development,
                chain_id: opts.chain_id.clone(),
                host: "127.0.0.1".into(),
                base_port: opts.p2p_base_port,
                genesis_time_ms: genesis::unix_time_ms(),
            })?;
            generated.add_funded_accounts("load", opts.load_accounts, LOAD_ACCOUNT_BALANCE)?;
            if let Some(epoch) = opts.epoch_length {
                generated.genesis.epoch_length = epoch;
            }
            if opts.kms != KmsMode::Local {
                openbao = Some(
                    signing::prepare_vault(&layout, &mut generated, opts.kms, opts.vault_port, opts.kms_base_port)
                        .await?,
                );
            }
            std::fs::create_dir_all(layout.genesis_dir())?;
            generated.write(&layout.genesis_dir())?;
            if opts.kms != KmsMode::Local {
                // The consensus keys live in OpenBao; the generated local ones are not theirs.
                for v in &generated.genesis.validators {
                    std::fs::remove_file(layout.validator_key(v.account_id.as_str()))?;
                }
            }
        } else if opts.kms != KmsMode::Local {
            bail!(
                "{} already holds a testnet; --kms vault/remote needs a new --dir (the OpenBao dev server keeps its keys in memory only)",
                layout.root.display()
            );
        }
        let genesis = Genesis::load(&layout.genesis_file())?;
        let chain = Layout::chain_binary()?;
        let mut nodes = Vec::new();
        let mut kms_daemons = Vec::new();
        for (i, v) in genesis.validators.iter().enumerate() {
            let account = v.account_id.to_string();
            let home = layout.node_home(&account);
            let port = usize::from(opts.rpc_base_port) + i;
            let listen: SocketAddr = format!("127.0.0.1:{port}").parse()?;
            if opts.kms == KmsMode::Remote {
                kms_daemons.push(signing::spawn_kms(&signing::kms_dir(&layout, &account)).await?);
            }
            if !home.join("config.toml").exists() {
                let metrics = match opts.metrics_base_port {
                    Some(base) => Some(format!("127.0.0.1:{}", usize::from(base) + i).parse()?),
                    None => None,
                };
                init_node(&layout, &account, listen, None, metrics)?;
            }
            let child = spawn_node(&chain, &home)?;
            nodes.push(NodeProcess { account, home, rpc: RpcClient::new(format!("http://{listen}")), child });
        }
        let mut net = Network { layout, genesis, nodes, openbao, kms_daemons };
        net.write_pids()?;
        for i in 0..net.nodes.len() {
            net.wait_ready(i).await?;
        }
        Ok(net)
    }

    /// Starts one more node, for `account`, with keys that are not in the genesis (written
    /// under `genesis/validators/<account>/`): it follows the chain as an observer and signs
    /// once a treasury request has added it to the validator set. Returns its index.
    pub async fn join(
        &mut self,
        account: &str,
        consensus: &genesis::KeyFile,
        network: &genesis::NetworkKeyFile,
        rpc_port: u16,
        p2p_port: u16,
    ) -> anyhow::Result<usize> {
        let dir = self.layout.genesis_dir().join("validators").join(account);
        std::fs::create_dir_all(&dir)?;
        consensus.save(&self.layout.validator_key(account))?;
        network.save(&self.layout.network_key(account))?;
        let home = self.layout.node_home(account);
        let listen: SocketAddr = format!("127.0.0.1:{rpc_port}").parse()?;
        init_node(&self.layout, account, listen, Some(format!("/ip4/127.0.0.1/tcp/{p2p_port}")), None)?;
        let child = spawn_node(&Layout::chain_binary()?, &home)?;
        let rpc = RpcClient::new(format!("http://{listen}"));
        self.nodes.push(NodeProcess { account: account.into(), home, rpc, child });
        self.write_pids()?;
        let i = self.nodes.len() - 1;
        self.wait_ready(i).await?;
        Ok(i)
    }

    /// Starts node `i` again (after it stopped or was killed) on its existing home and waits
    /// until it answers JSON-RPC.
    pub async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        self.restart_with_env(i, &[]).await
    }

    /// [`Network::restart`] with extra environment variables for that node's process (a
    /// fault-injecting library in `LD_PRELOAD`, say).
    pub async fn restart_with_env(&mut self, i: usize, env: &[(&str, &str)]) -> anyhow::Result<()> {
        let node = self.nodes.get_mut(i).context("no such node")?;
        node.child = spawn_node_with(&Layout::chain_binary()?, &node.home, env)?;
        self.write_pids()?;
        self.wait_ready(i).await
    }

    /// Stops node `i` with SIGTERM and waits (bounded) for it to exit; returns its status.
    pub async fn stop_node(
        &mut self,
        i: usize,
        within: std::time::Duration,
    ) -> anyhow::Result<std::process::ExitStatus> {
        self.signal(i, Signal::SIGTERM)?;
        let node = self.nodes.get_mut(i).context("no such node")?;
        Ok(tokio::time::timeout(within, node.child.wait()).await.context("the node did not stop in time")??)
    }

    /// Sends `signal` to node `i`.
    pub fn signal(&self, i: usize, signal: Signal) -> anyhow::Result<()> {
        let pid = self.nodes.get(i).and_then(|n| n.child.id()).context("node is not running")?;
        kill(Pid::from_raw(pid as i32), signal)?;
        Ok(())
    }

    fn write_pids(&self) -> anyhow::Result<()> {
        let children = self.nodes.iter().map(|n| &n.child).chain(&self.kms_daemons);
        let bao = self.openbao.as_ref().and_then(|b| b.pid());
        let pids: Vec<String> = children.filter_map(|c| c.id()).chain(bao).map(|p| p.to_string()).collect();
        std::fs::write(self.layout.pids(), pids.join("\n") + "\n")?;
        Ok(())
    }

    /// Waits until node `i` answers JSON-RPC as itself: its process still running, the
    /// testnet's chain id, this validator's key (genesis validators) and the genesis hash
    /// the other nodes report. Whatever else answers on its port is an error, not a node.
    pub async fn wait_ready(&mut self, i: usize) -> anyhow::Result<()> {
        let chain_id = self.genesis.chain_id.clone();
        let key = self.genesis.validators.get(i).map(|v| v.consensus_key.to_string());
        let mut genesis_hash = None;
        for (j, other) in self.nodes.iter().enumerate() {
            if j != i {
                if let Ok(s) = other.rpc.status().await {
                    genesis_hash = s["genesis_hash"].as_str().map(str::to_owned);
                    break;
                }
            }
        }
        let node = self.nodes.get_mut(i).context("no such node")?;
        for _ in 0..300 {
            if let Some(status) = node.child.try_wait()? {
                bail!(
                    "node {} exited with {status} before it answered; log tail:\n{}",
                    node.account,
                    log_tail(&node.home)
                );
            }
            if let Ok(status) = node.rpc.status().await {
                let found = |field: &str| status[field].as_str().map(str::to_owned);
                let mismatch = |what: &str, found: Option<String>, expected: &str| {
                    anyhow::anyhow!(
                        "{} answers with {what} {}, not this testnet's node {} ({what} {expected}): another chain holds the port?",
                        node.rpc.url(),
                        found.as_deref().unwrap_or("(none)"),
                        node.account
                    )
                };
                if found("chain_id").as_deref() != Some(chain_id.as_str()) {
                    return Err(mismatch("chain id", found("chain_id"), &chain_id));
                }
                if let Some(key) = key.as_deref().filter(|k| found("validator_public_key").as_deref() != Some(*k)) {
                    return Err(mismatch("validator key", found("validator_public_key"), key));
                }
                if let Some(hash) = genesis_hash.as_deref().filter(|h| found("genesis_hash").as_deref() != Some(*h)) {
                    return Err(mismatch("genesis hash", found("genesis_hash"), hash));
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "node {} did not answer on {} within 30 s; log tail:\n{}",
            node.account,
            node.rpc.url(),
            log_tail(&node.home)
        )
    }

    /// SIGTERM to every node, then SIGKILL to any still running after `grace`.
    pub async fn stop(mut self, grace: Duration) -> anyhow::Result<()> {
        for node in &self.nodes {
            if let Some(pid) = node.child.id() {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
            }
        }
        for node in &mut self.nodes {
            match tokio::time::timeout(grace, node.child.wait()).await {
                Ok(status) => {
                    let status = status?;
                    if !status.success() {
                        eprintln!("node {} exited with {status}", node.account);
                    }
                }
                Err(_) => {
                    eprintln!("node {} did not stop within {grace:?}; killing it", node.account);
                    node.child.kill().await?;
                }
            }
        }
        for kms in &mut self.kms_daemons {
            let _ = kms.kill().await;
        }
        if let Some(bao) = self.openbao.as_mut() {
            bao.stop().await?;
        }
        let _ = std::fs::remove_file(self.layout.pids());
        Ok(())
    }
}

/// The end of a node's log: from its last error when it stopped with one (not its
/// backtrace), else the last 20 lines.
fn log_tail(home: &Path) -> String {
    let log = std::fs::read_to_string(home.join("node.log")).unwrap_or_default();
    let shown: Vec<&str> = match log.rfind("Error: ") {
        Some(i) => log[i..].lines().take(8).collect(),
        None => log.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect(),
    };
    shown.join("\n")
}

/// Stops the processes listed in a testnet's pid file (what an interrupted `up` left).
pub async fn down(layout: &Layout, grace: Duration) -> anyhow::Result<usize> {
    let text = match std::fs::read_to_string(layout.pids()) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let pids: Vec<Pid> = text.lines().filter_map(|l| l.trim().parse::<i32>().ok()).map(Pid::from_raw).collect();
    let mut stopped = 0;
    for pid in &pids {
        if kill(*pid, Signal::SIGTERM).is_ok() {
            stopped += 1;
        }
    }
    let deadline = tokio::time::Instant::now() + grace;
    while pids.iter().any(|p| kill(*p, None).is_ok()) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for pid in &pids {
        if kill(*pid, None).is_ok() {
            let _ = kill(*pid, Signal::SIGKILL);
        }
    }
    std::fs::remove_file(layout.pids())?;
    Ok(stopped)
}

/// `chain init` of `account`'s home with its keys (or signer settings) from the layout.
fn init_node(
    layout: &Layout,
    account: &str,
    rpc: SocketAddr,
    p2p_listen: Option<String>,
    metrics: Option<SocketAddr>,
) -> anyhow::Result<()> {
    let mut cmd = std::process::Command::new(Layout::chain_binary()?);
    cmd.arg("init").arg("--genesis").arg(layout.genesis_file()).arg("--home").arg(layout.node_home(account));
    let signer = signing::signer_config(layout, account);
    if signer.is_file() {
        cmd.arg("--signer-config").arg(signer);
    } else {
        cmd.arg("--validator-key").arg(layout.validator_key(account));
    }
    cmd.arg("--network-key").arg(layout.network_key(account)).arg("--rpc-listen").arg(rpc.to_string());
    if let Some(p2p) = p2p_listen {
        cmd.arg("--p2p-listen").arg(p2p);
    }
    if let Some(m) = metrics {
        cmd.arg("--metrics-listen").arg(m.to_string());
    }
    let out = cmd.output().context("running chain init")?;
    if !out.status.success() {
        bail!("chain init for {account} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// `chain run --home <home>`, its output appended to `<home>/node.log`.
fn spawn_node(chain: &std::path::Path, home: &std::path::Path) -> anyhow::Result<Child> {
    spawn_node_with(chain, home, &[])
}

/// [`spawn_node`] with extra environment variables.
fn spawn_node_with(chain: &std::path::Path, home: &std::path::Path, env: &[(&str, &str)]) -> anyhow::Result<Child> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(home.join("node.log"))?;
    Command::new(chain)
        .envs(env.iter().copied())
        .arg("run")
        .arg("--home")
        .arg(home)
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .context("starting chain run")
}
