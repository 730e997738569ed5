//! `kms`: the remote signer daemon and its tools.
//!
//! - `kms serve --config kms.toml`: serves a guarded signer (Vault or a key file) over gRPC,
//!   on a Unix socket, loopback, or mutual TLS (plaintext on a non-loopback address refused).
//! - `kms tls init`: a CA, the daemon's server certificate and nodes' client certificates.
//! - `kms watermark export|import`: moves the guard's watermark with a key.
//! - `kms vault create-key`: a non-exportable ed25519 Transit key for a validator.
//! - `kms bench`: sign latency of a signer configuration.

mod bench;
mod daemon;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kms::guard::{self, Imported, Watermark};

#[derive(Parser, Debug)]
#[command(
    name = "kms",
    version,
    about = "Validator signing daemon (Vault/OpenBao Transit or a key file, behind a double-sign guard)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the configured signer over gRPC until SIGINT/SIGTERM.
    Serve {
        /// The daemon's config (listen, chain_id, [tls], [signer]); relative paths are under
        /// its directory.
        #[arg(long)]
        config: PathBuf,
    },
    /// Certificates for mutual TLS between nodes and the daemon.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Export or import the guard's watermark.
    #[command(subcommand)]
    Watermark(WatermarkCommand),
    /// Vault / OpenBao set-up.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// Measure sign latency (p50/p99) of a signer config. Uses a throw-away watermark for
    /// guarded backends; never point it at a production remote signer.
    Bench {
        #[arg(long)]
        config: PathBuf,
        #[arg(long, default_value_t = 2000)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        start_height: u64,
    },
}

#[derive(Subcommand, Debug)]
enum WatermarkCommand {
    /// Print the watermark in a state file as JSON (nothing if none yet).
    Export {
        #[arg(long)]
        state: PathBuf,
    },
    /// Raise the state file's watermark to the exported one (never lowers it). The signer
    /// using the state must be stopped.
    Import {
        #[arg(long)]
        state: PathBuf,
        /// A file written by `kms watermark export`.
        #[arg(long)]
        from: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum TlsCommand {
    /// Write a new CA, a server certificate and client certificates into DIR (private keys
    /// 0600; existing files are never overwritten).
    Init {
        #[arg(long)]
        out: PathBuf,
        /// A DNS name or IP address nodes dial the daemon at (repeat for several).
        #[arg(long = "server-name", required = true)]
        server_names: Vec<String>,
        /// A client (node) certificate to issue, written as NAME.pem and NAME-key.pem
        /// (repeat for several).
        #[arg(long = "client", default_value = "node")]
        clients: Vec<String>,
        /// Validity of every certificate, in days.
        #[arg(long, default_value_t = 825)]
        days: u32,
        /// Succeed without writing anything if every file already exists (for a set-up step
        /// that runs at every start); some but not all existing is still an error.
        #[arg(long)]
        if_missing: bool,
    },
}

#[derive(Subcommand, Debug)]
enum VaultCommand {
    /// Create a non-exportable ed25519 Transit key and print its public key.
    CreateKey {
        #[arg(long, env = "VAULT_ADDR")]
        address: String,
        /// File holding a token allowed to create Transit keys.
        #[arg(long)]
        token_file: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "transit")]
        mount: String,
        /// PEM bundle of the CA that signed Vault's certificate (a private CA).
        #[arg(long)]
        ca_cert: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Serve { config } => {
            daemon::init_logging();
            runtime.block_on(daemon::serve(&config))
        }
        Command::Tls(TlsCommand::Init { out, server_names, clients, days, if_missing }) => {
            let names = ["ca", "server"].into_iter().chain(clients.iter().map(String::as_str));
            let all = names.flat_map(|n| [out.join(format!("{n}.pem")), out.join(format!("{n}-key.pem"))]);
            if if_missing && all.into_iter().all(|p| p.is_file()) {
                println!("{} already holds the CA and certificates; nothing changed", out.display());
                return Ok(());
            }
            let files = kms::remote::init_certs(&out, &server_names, &clients, days)?;
            for f in &files {
                println!("wrote {}", f.display());
            }
            println!("{}", tls_howto(&out, &server_names[0], &clients[0]));
            Ok(())
        }
        Command::Watermark(WatermarkCommand::Export { state }) => {
            if let Some(w) = guard::read(&state)? {
                println!("{}", serde_json::to_string_pretty(&w)?);
            }
            Ok(())
        }
        Command::Watermark(WatermarkCommand::Import { state, from }) => {
            let text = std::fs::read_to_string(&from).with_context(|| format!("reading {}", from.display()))?;
            let w: Watermark =
                serde_json::from_str(&text).with_context(|| format!("{} is not a watermark", from.display()))?;
            match guard::import(&state, w)? {
                Imported::Written => println!("imported into {}", state.display()),
                Imported::KeptExisting(w) => println!(
                    "{} is already at height {} round {} {:?}; kept",
                    state.display(),
                    w.height,
                    w.round,
                    w.step
                ),
            }
            Ok(())
        }
        Command::Vault(VaultCommand::CreateKey { address, token_file, name, mount, ca_cert }) => {
            runtime.block_on(async {
                let token = kms::secret_file::read_trimmed(&token_file)?;
                let client = kms::vault::admin::client(&address, &token, ca_cert.as_deref())?;
                let key = kms::vault::admin::create_key(&client, &mount, &name).await?;
                println!("{key}");
                Ok(())
            })
        }
        Command::Bench { config, count, start_height } => runtime.block_on(bench::run(&config, count, start_height)),
    }
}

/// Where the files `kms tls init` wrote go, as config snippets.
fn tls_howto(out: &std::path::Path, server: &str, client: &str) -> String {
    let d = out.display();
    format!(
        "\nOn the daemon's host (kms.toml; keep ca-key.pem offline, it only issues certificates):\n\
         listen = \"0.0.0.0:26650\"\n[tls]\nca_cert = \"{d}/ca.pem\"\ncert = \"{d}/server.pem\"\nkey = \"{d}/server-key.pem\"\n\n\
         On the node (its [signer]; copy {client}.pem and {client}-key.pem with mode 0600):\n\
         kind = \"remote\"\naddress = \"https://{server}:26650\"\n[tls]\nca_cert = \"ca.pem\"\ncert = \"{client}.pem\"\nkey = \"{client}-key.pem\""
    )
}
