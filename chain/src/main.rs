//! `chain`: initialise a node's home directory and run the node.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod verify_command;
mod workspace_command;

use anyhow::{bail, Context as _};
use chain::config::{resolve, LogFormat, NetworkSection, NodeConfig, CONFIG_FILE};
use chain::node::{init_store, Node};
use chain::store::Store;
use clap::{Parser, Subcommand};
use contracts::ModuleRegistry;
use genesis::{Genesis, KeyFile, NetworkKeyFile, Preset};
use kms::{Signer, SignerConfig};
use libp2p::{Multiaddr, PeerId};
use rpc::RpcConfig;
use tokio::sync::watch;

#[derive(Parser)]
#[command(name = "chain", version, about = "Validator node for a private, permissioned chain")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a node home: copy and validate the genesis, write config.toml, write the
    /// genesis state into a new store.
    Init {
        #[arg(long)]
        genesis: PathBuf,
        #[arg(long)]
        home: PathBuf,
        /// This validator's consensus key (a credentials file from `genesis new`), signed
        /// with locally behind the double-sign guard.
        #[arg(long, conflicts_with = "signer_config")]
        validator_key: Option<PathBuf>,
        /// A TOML file with the `[signer]` settings instead (`kind = "vault"` or `"remote"`;
        /// see docs/KMS.md). Relative paths in it are under the node home.
        #[arg(long)]
        signer_config: Option<PathBuf>,
        /// JSON-RPC listen address.
        #[arg(long, default_value = "127.0.0.1:3030")]
        rpc_listen: SocketAddr,
        /// This node's network key (`network_key.json` from `genesis new`); needed when the
        /// genesis has more than one validator.
        #[arg(long)]
        network_key: Option<PathBuf>,
        /// Peer listen multiaddr; defaults to the validator's genesis address.
        #[arg(long)]
        p2p_listen: Option<String>,
        /// Serve Prometheus metrics at `/metrics` on this address (none by default).
        #[arg(long)]
        metrics_listen: Option<SocketAddr>,
        /// Succeed without changing anything if the home is already initialised with this
        /// genesis (for init containers); a home of another genesis is still refused.
        #[arg(long)]
        if_missing: bool,
        /// Copy the secret files the signer config names (Vault token or AppRole secret id)
        /// into the home with mode 0600 and point the config at the copies: for secrets mounted
        /// group-readable, as Kubernetes mounts them.
        #[arg(long, requires = "signer_config")]
        copy_secrets: bool,
    },
    /// Run the node until SIGINT or SIGTERM.
    Run {
        #[arg(long)]
        home: PathBuf,
        /// `text` or `json` (one object per line: timestamp, level, target, message and the
        /// event's fields); overrides `[log] format` in config.toml.
        #[arg(long, value_enum)]
        log_format: Option<LogFormat>,
    },
    /// Check a node's answers as a light client: from the genesis file alone, follow the
    /// certified headers to the head across validator-set changes, then verify the node's
    /// proofs of the given transactions (inclusion and outcome) and accounts (state).
    Verify {
        #[arg(long)]
        genesis: PathBuf,
        /// The node's JSON-RPC URL.
        #[arg(long, default_value = "http://127.0.0.1:3030")]
        rpc: String,
        /// A transaction to prove, as HASH:SENDER (repeatable).
        #[arg(long = "tx")]
        txs: Vec<verify_command::TxArg>,
        /// An account whose state to prove (repeatable).
        #[arg(long = "account")]
        accounts: Vec<chain_types::AccountId>,
    },
    /// Application credentials for JSON-RPC and gRPC clients. Changes reach a running node
    /// within a second.
    Credentials {
        #[command(subcommand)]
        command: CredentialsCommand,
    },
    /// The workspace on chain: organizations, members, invitations and credentials, through
    /// a node's JSON-RPC, signed with a NEAR key file.
    Workspace {
        #[command(subcommand)]
        command: workspace_command::WorkspaceCommand,
    },
}

#[derive(Subcommand)]
enum CredentialsCommand {
    /// Create a credential. Its password goes to stdout, once; only an argon2 hash is kept.
    Add {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        username: String,
        /// read, submit (read + send transactions) or admin (everything).
        #[arg(long)]
        role: rpc::access::Role,
        /// This credential's request-rate limit, instead of the node's default.
        #[arg(long)]
        requests_per_sec: Option<u32>,
    },
    /// Show every credential (never a password).
    List {
        #[arg(long)]
        home: PathBuf,
    },
    /// Delete a credential; the node refuses it from then on.
    Revoke {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        username: String,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Init {
            genesis,
            home,
            validator_key,
            signer_config,
            rpc_listen,
            network_key,
            p2p_listen,
            metrics_listen,
            if_missing,
            copy_secrets,
        } => {
            if if_missing && already_initialised(&genesis, &home)? {
                // The mounted signer settings and secrets are the source of truth: a key
                // version or a rotated secret id reaches the node at its next start.
                if let Some(path) = &signer_config {
                    refresh_signer(&home, load_signer_config(path)?, copy_secrets)?;
                }
                return Ok(());
            }
            let signer = match signer_config {
                Some(path) => Some(Signing::Config { config: Box::new(load_signer_config(&path)?), copy_secrets }),
                None => validator_key.map(Signing::KeyFile),
            };
            let listen = Listen { rpc: rpc_listen, p2p: p2p_listen, metrics: metrics_listen };
            init(&genesis, &home, signer, listen, network_key.as_deref())
        }
        Command::Run { home, log_format } => {
            let config = NodeConfig::load(&home)?;
            init_tracing(&config.log.filter, log_format.unwrap_or(config.log.format));
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(home, config))
        }
        Command::Credentials { command } => credentials(command),
        Command::Workspace { command } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(workspace_command::run(command)),
        Command::Verify { genesis, rpc, txs, accounts } => {
            let genesis = Genesis::load(&genesis)?;
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(verify_command::verify(&genesis, &rpc, &txs, &accounts))
        }
    }
}

fn credentials(command: CredentialsCommand) -> anyhow::Result<()> {
    use rpc::access::CredentialFile;
    let file_of = |home: &Path| -> anyhow::Result<PathBuf> {
        let config = NodeConfig::load(home)?;
        Ok(config.rpc.access(home).credentials_file)
    };
    match command {
        CredentialsCommand::Add { home, username, role, requests_per_sec } => {
            let path = file_of(&home)?;
            let mut file = CredentialFile::load(&path)?;
            let password = file.add(&username, role, requests_per_sec, genesis::unix_time_ms())?;
            file.save(&path)?;
            eprintln!("created credential `{username}` with role {} in {}", role.as_str(), path.display());
            eprintln!("its password follows; it is shown this once and stored only as an argon2 hash");
            println!("{password}");
        }
        CredentialsCommand::List { home } => {
            let file = CredentialFile::load(&file_of(&home)?)?;
            println!("{:<24} {:<7} {:>14} {:>15}", "USERNAME", "ROLE", "REQUESTS/S", "CREATED (MS)");
            for c in &file.credentials {
                let rate = c.requests_per_sec.map_or_else(|| "default".to_owned(), |r| r.to_string());
                println!("{:<24} {:<7} {:>14} {:>15}", c.username, c.role.as_str(), rate, c.created_at_ms);
            }
        }
        CredentialsCommand::Revoke { home, username } => {
            let path = file_of(&home)?;
            let mut file = CredentialFile::load(&path)?;
            file.revoke(&username)?;
            file.save(&path)?;
            println!("revoked `{username}`; a running node refuses it within a second");
        }
    }
    Ok(())
}

/// Logs to stderr, filtered by `RUST_LOG` or else `filter`. Targets are stable (`chain`,
/// `chain::consensus`, `chain::network`, `chain::sync`, `chain::signer`, `rpc`, `kms`, ...)
/// and so are the common fields (`height`, `round`, `peer`, `validator`, `error`).
fn init_tracing(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).with_span_list(false).init(),
    }
}

/// How `chain init` sets up signing.
enum Signing {
    /// A key file to copy into the home and sign with locally.
    KeyFile(PathBuf),
    /// A `[signer]` section as given; with `copy_secrets`, its secret files are copied into
    /// the home.
    Config { config: Box<SignerConfig>, copy_secrets: bool },
}

/// Whether `home` is initialised already with the genesis at `genesis` (nothing to do); an
/// error if it is initialised with another.
fn already_initialised(genesis: &Path, home: &Path) -> anyhow::Result<bool> {
    if !home.join(CONFIG_FILE).exists() {
        return Ok(false);
    }
    let given = Genesis::load(genesis)?.hash();
    let config = NodeConfig::load(home)?;
    let existing = Genesis::load(&resolve(home, &config.genesis_file))?.hash();
    if given != existing {
        bail!("{} is initialised with genesis {existing}, not {given} ({})", home.display(), genesis.display());
    }
    println!("{} is already initialised with genesis {given}; nothing changed", home.display());
    Ok(true)
}

/// Replaces the `[signer]` section of an initialised home's config (and the copies of its
/// secrets) if it changed.
fn refresh_signer(home: &Path, signer: SignerConfig, copy_secrets: bool) -> anyhow::Result<()> {
    let signer = if copy_secrets { copy_signer_secrets(signer, home)? } else { signer };
    let mut config = NodeConfig::load(home)?;
    if config.signer.as_ref() != Some(&signer) {
        config.signer = Some(signer);
        std::fs::write(home.join(CONFIG_FILE), config.to_toml()).context("writing config.toml")?;
        println!("updated the signer settings of {}", home.display());
    }
    Ok(())
}

/// Copies the secret file a Vault signer config names (token or AppRole secret id) into
/// `home` with mode 0600 and points the config at the copy.
fn copy_signer_secrets(config: SignerConfig, home: &Path) -> anyhow::Result<SignerConfig> {
    let SignerConfig::Vault { mut vault, state_file, max_height } = config else {
        bail!("--copy-secrets: only a vault signer names secret files");
    };
    let (source, name) = match &mut vault.auth {
        kms::vault::VaultAuth::Token { token_file } => (token_file, "vault-token"),
        kms::vault::VaultAuth::AppRole { secret_id_file, .. } => (secret_id_file, "vault-secret-id"),
    };
    let from = resolve(home, source);
    let secret = std::fs::read(&from).with_context(|| format!("reading {}", from.display()))?;
    kms::secret_file::write(&home.join(name), &secret)?;
    *source = PathBuf::from(name);
    Ok(SignerConfig::Vault { vault, state_file, max_height })
}

/// Reads a `[signer]` file and checks it as far as possible without the network (plaintext
/// to a non-loopback Vault or kms daemon, TLS settings that do not fit the address).
fn load_signer_config(path: &Path) -> anyhow::Result<SignerConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let config: SignerConfig =
        toml::from_str(&text).with_context(|| format!("{} is not a [signer] section", path.display()))?;
    config.check().with_context(|| format!("{}", path.display()))?;
    Ok(config)
}

/// Where a node listens: JSON-RPC and gRPC, peers, metrics.
struct Listen {
    rpc: SocketAddr,
    p2p: Option<String>,
    metrics: Option<SocketAddr>,
}

fn init(
    genesis_path: &Path,
    home: &Path,
    signing: Option<Signing>,
    listen: Listen,
    network_key: Option<&Path>,
) -> anyhow::Result<()> {
    let Listen { rpc: rpc_listen, p2p: p2p_listen, metrics: metrics_listen } = listen;
    let genesis = Genesis::load(genesis_path)?;
    if home.join(CONFIG_FILE).exists() {
        bail!("{} is already initialised ({} exists)", home.display(), home.join(CONFIG_FILE).display());
    }
    std::fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
    let signer = match signing {
        Some(Signing::Config { config, copy_secrets: false }) => Some(*config),
        Some(Signing::Config { config, copy_secrets: true }) => Some(copy_signer_secrets(*config, home)?),
        Some(Signing::KeyFile(path)) => {
            let path = path.as_path();
            let key = KeyFile::load(path)?;
            if !genesis.validators.iter().any(|v| v.consensus_key == key.public_key) {
                eprintln!(
                    "note: {} ({}) is not in the genesis validator set; the node follows the chain and signs once a treasury request adds it",
                    key.public_key,
                    path.display()
                );
            }
            key.save(&home.join("consensus_key.json"))?;
            Some(SignerConfig::local("consensus_key.json".into()))
        }
        None => {
            eprintln!("{}", without_key(&genesis));
            None
        }
    };
    std::fs::copy(genesis_path, home.join("genesis.json")).context("copying genesis")?;
    let mut config = NodeConfig::new(rpc_listen, signer);
    config.metrics = metrics_listen.map(|listen| chain::config::MetricsSection { listen });
    if genesis.preset == Preset::Professional {
        config.rpc.access = rpc::access::AccessConfig::professional();
        println!(
            "professional preset: JSON-RPC and gRPC require credentials (add them with `chain credentials add --home {}`)",
            home.display()
        );
    }
    if let Some(path) = network_key {
        let key = NetworkKeyFile::load(path)?;
        let listen = match p2p_listen {
            Some(l) => l,
            None => match genesis.validators.iter().find(|v| v.peer_id == key.peer_id) {
                Some(v) => v.address.clone(),
                None => bail!("{}: peer {} is not a genesis validator; give --p2p-listen", path.display(), key.peer_id),
            },
        };
        key.save(&home.join("network_key.json"))?;
        config.network =
            Some(NetworkSection { listen, key_file: "network_key.json".into(), allowed_peers: Vec::new() });
    } else if genesis.validators.len() > 1 {
        bail!(
            "the genesis has {} validators: give --network-key so this node can reach its peers",
            genesis.validators.len()
        );
    }
    // config.toml last: it marks the home initialised (`--if-missing`), so an init killed
    // before the store was written runs again in full (writing the genesis state is atomic
    // and idempotent).
    let store = Store::open(&resolve(home, &config.data_dir))?;
    let hash = init_store(&store, &genesis)?;
    drop(store);
    std::fs::write(home.join(CONFIG_FILE), config.to_toml()).context("writing config.toml")?;
    println!("initialised {} for chain {} (genesis block {hash})", home.display(), genesis.chain_id);
    Ok(())
}

/// What a node without a validator key will do, for `init` and `run` to say.
fn without_key(genesis: &Genesis) -> String {
    match genesis.validators.as_slice() {
        [only] => format!(
            "WARNING: no validator key (--validator-key or --signer-config) and the genesis has one validator, {}: this node accepts transactions but will never make a block. Initialise it with that validator's key.",
            only.account_id
        ),
        _ => "note: no validator key (--validator-key or --signer-config): this node follows the chain as an observer and signs nothing".to_owned(),
    }
}

/// Opens the configured signer: a local key is refused under the professional preset, and a
/// backend's request timeout must leave room inside the vote timeout.
async fn open_signer(config: &SignerConfig, home: &Path, genesis: &Genesis) -> anyhow::Result<Arc<dyn Signer>> {
    if genesis.preset == Preset::Professional && matches!(config, SignerConfig::Local { .. }) {
        bail!("the professional preset requires a Vault-backed signer (signer.kind = \"vault\" or \"remote\"); a local key file is refused");
    }
    let vote_timeout = std::time::Duration::from_millis(genesis.consensus.timeout_vote_ms);
    if let Some(t) = config.request_timeout().filter(|t| *t * 2 > vote_timeout) {
        bail!(
            "the signer's request timeout ({} ms) must be at most half the consensus vote timeout ({} ms)",
            t.as_millis(),
            vote_timeout.as_millis()
        );
    }
    let signer = config.open(home, &genesis.chain_id).await?;
    tracing::info!(target: "chain", kind = config.kind(), public_key = %signer.public_key(), "signer ready");
    Ok(signer)
}

async fn run(home: PathBuf, config: NodeConfig) -> anyhow::Result<()> {
    let genesis = Genesis::load(&resolve(&home, &config.genesis_file))?;
    if genesis.preset == Preset::Professional && !config.rpc.access.require_credentials {
        bail!("the professional preset requires credentials on the RPC: set rpc.access.require_credentials = true");
    }
    let signer: Option<Arc<dyn Signer>> = match &config.signer {
        Some(s) => Some(open_signer(s, &home, &genesis).await?),
        None => None,
    };
    let backend = config.signer.as_ref().map(SignerConfig::kind);
    let node = Node::open(
        &resolve(&home, &config.data_dir),
        genesis,
        ModuleRegistry::standard(),
        signer.as_ref().map(|s| s.public_key()),
    )?;
    let head = node.store().head()?.unwrap_or(0);
    tracing::info!(target: "chain", chain_id = %node.genesis().chain_id, head, "node opened");
    if let Some(backend) = backend {
        node.set_signer_backend(backend);
    }
    if let Some(signer) = &signer {
        let every = chain::signer_health::POLL_EVERY;
        tokio::spawn(chain::signer_health::watch(Arc::downgrade(&node), signer.clone(), every));
    }

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let rpc_cfg = RpcConfig {
        listen: config.rpc.listen,
        max_body_bytes: config.rpc.max_body_bytes,
        tx_timeout: std::time::Duration::from_millis(config.rpc.tx_timeout_ms),
        access: config.rpc.access(&home),
        metrics: node.metrics().rpc.clone(),
        membership: match config.rpc.access.require_credentials {
            true => Some(Arc::new(chain::membership::WorkspaceCredentials::open(
                node.clone(),
                config.rpc.access.membership.as_deref(),
            )?) as Arc<dyn rpc::access::MembershipCredentials>),
            false => None,
        },
    };
    let mut rpc_shutdown = shutdown_rx.clone();
    let listen = config.rpc.listen;
    let mut rpc = tokio::spawn(rpc::serve(node.clone(), rpc_cfg, async move {
        let _ = rpc_shutdown.wait_for(|stop| *stop).await;
    }));
    let peers = match &config.network {
        Some(net) => Some(start_network(&home, net, &node).await?),
        None => None,
    };
    if let Some(m) = &config.metrics {
        let (node, mut stop) = (node.clone(), shutdown_rx.clone());
        let listener = tokio::net::TcpListener::bind(m.listen)
            .await
            .with_context(|| format!("metrics: cannot listen on {}", m.listen))?;
        tokio::spawn(async move {
            let render = move || node.metrics_text();
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = chain::metrics::serve(listener, render, stopped).await {
                tracing::error!(target: "chain", error = %e, "metrics server stopped");
            }
        });
    }
    let wal_dir = home.join("wal");
    if signer.is_none() && peers.is_none() {
        tracing::error!(target: "chain", "{}", without_key(node.genesis()));
    }
    // A validator, or an observer following its peers; a lone node without a key only serves.
    let mut producer = (signer.is_some() || peers.is_some()).then(|| {
        let (node, shutdown) = (node.clone(), shutdown_rx.clone());
        tokio::spawn(async move { chain::consensus::run(node, signer, &wal_dir, peers, shutdown).await })
    });

    let outcome = tokio::select! {
        signal = shutdown_signal() => {
            tracing::info!(target: "chain", signal, "shutting down");
            Ok(())
        }
        r = async { match producer.as_mut() { Some(p) => p.await, None => std::future::pending().await } } => {
            producer = None;
            match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(anyhow::Error::from(e).context("consensus stopped")),
                Err(e) => Err(anyhow::Error::from(e).context("consensus task failed")),
            }
        }
        r = &mut rpc => return match r {
            Ok(Ok(())) => Err(anyhow::anyhow!("json-rpc server on {listen} stopped unexpectedly")),
            Ok(Err(e)) => Err(anyhow::Error::from(e).context(format!("json-rpc server on {listen}"))),
            Err(e) => Err(e.into()),
        },
    };
    let _ = shutdown_tx.send(true);
    // Consensus finishes (or never starts) the commit it is on: commits are atomic.
    if let Some(p) = producer {
        if tokio::time::timeout(std::time::Duration::from_secs(10), p).await.is_err() {
            tracing::warn!(target: "chain", "consensus did not stop within 10 s");
        }
    }
    if let Ok(Err(e)) = rpc.await {
        tracing::error!(target: "chain", error = %e, "json-rpc server failed while stopping");
    }
    tracing::info!(target: "chain", "stopped");
    outcome
}

/// Whom to keep connected to: the validators of the current and the next set, other than
/// this node (a validator the treasury removed is dropped, and disconnected). Entries that
/// do not parse are logged and skipped.
fn validator_peers(node: &Node, me: &str) -> Vec<(PeerId, Multiaddr)> {
    let schedule = node.subscribe_validators().borrow().clone();
    let all = schedule.current.iter().chain(schedule.pending.iter().flatten());
    let mut peers: Vec<(PeerId, Multiaddr)> = Vec::new();
    for v in all.filter(|v| v.peer_id != me) {
        match (v.peer_id.parse::<PeerId>(), v.address.parse::<Multiaddr>()) {
            (Ok(p), Ok(a)) if !peers.iter().any(|(q, _)| *q == p) => peers.push((p, a)),
            (Ok(_), Ok(_)) => {}
            _ => {
                tracing::warn!(target: "chain::network", validator = %v.account_id, peer = %v.peer_id, address = %v.address, "unusable peer id or address")
            }
        }
    }
    peers
}

/// Starts the p2p network: the validators (see [`validator_peers`]) are the peers to keep
/// connected, updated as the validator schedule changes; they and the configured extra
/// peers are the only ones allowed in.
async fn start_network(home: &Path, net: &NetworkSection, node: &Arc<Node>) -> anyhow::Result<chain::consensus::Peers> {
    let key = NetworkKeyFile::load(&resolve(home, &net.key_file))?;
    let peers = validator_peers(node, &key.peer_id);
    let allowed =
        net.allowed_peers.iter().map(|p| p.parse()).collect::<Result<Vec<_>, _>>().context("network.allowed_peers")?;
    let listen = net.listen.parse().with_context(|| format!("network.listen {}", net.listen))?;
    let limits = chain::network::FrameLimits::for_blocks(node.genesis().limits.max_block_bytes);
    let cfg = chain::network::NetworkConfig { key_seed: key.secret_key.seed(), listen, peers, allowed, limits };
    let inbox = chain::consensus::Inbox::new(node.clone(), limits);
    let (handle, _) = chain::network::start(cfg, node.clone(), inbox.clone()).await?;
    let handle = handle.with_metrics(node.shared_metrics());
    node.start_gossip(handle.clone());
    let (mut changes, node2, net2, me) = (node.subscribe_validators(), node.clone(), handle.clone(), key.peer_id);
    tokio::spawn(async move {
        while changes.changed().await.is_ok() {
            net2.set_peers(validator_peers(&node2, &me));
        }
    });
    Ok(chain::consensus::Peers { handle, inbox })
}

/// Resolves on SIGINT or SIGTERM with the signal's name.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
