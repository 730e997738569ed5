//! `genesis`: create, validate and hash genesis files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use genesis::{Genesis, GenesisError, NewGenesisOptions, Preset};

#[derive(Parser)]
#[command(name = "genesis", version, about = "Create, validate and hash genesis files")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write genesis.json and every key it names (validators, accounts) into a directory.
    New {
        #[arg(long, default_value_t = 1)]
        validators: usize,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "development")]
        preset: Preset,
        #[arg(long, default_value = "workspace-dev")]
        chain_id: String,
        /// Host in each validator's peer address.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Validator i listens for peers on base-port + i.
        #[arg(long, default_value_t = 24560)]
        base_port: u16,
    },
    /// Render Kubernetes manifests for the validators of a genesis directory (as `genesis new`
    /// writes it): per organization a namespace (and cluster) of StatefulSets, Services with
    /// stable DNS names that become the validators' addresses, Secrets, probes, a
    /// PodDisruptionBudget and a ServiceMonitor; writes the deployed genesis beside them.
    Deploy {
        #[arg(long)]
        net: PathBuf,
        #[arg(long, value_enum, default_value = "kubernetes")]
        target: genesis::deploy::Target,
        #[arg(long)]
        out: PathBuf,
        /// TOML: organizations' namespaces, clusters and Vaults (see docs/DEPLOY.md).
        #[arg(long)]
        placement: Option<PathBuf>,
        /// The node image (`bash scripts/image.sh` builds localhost/chain:<version>).
        #[arg(long, default_value = concat!("localhost/chain:", env!("CARGO_PKG_VERSION")))]
        image: String,
        /// OpenBao's image (compose).
        #[arg(long, default_value = "quay.io/openbao/openbao:2.7.2")]
        openbao_image: String,
        /// Render only this organization's files (Kubernetes): its namespaces, its secrets;
        /// --approle then needs only its validators.
        #[arg(long)]
        organization: Option<String>,
        /// `keys`: consensus keys from the directory as Secrets; `vault`: each organization's
        /// Vault Transit keys with AppRole credentials from --approle.
        #[arg(long, value_enum, default_value = "keys")]
        signer: genesis::deploy::Signing,
        /// With --signer vault: DIR/<validator>/role_id and DIR/<validator>/secret_id.
        #[arg(long)]
        approle: Option<PathBuf>,
        /// Volume size per validator.
        #[arg(long, default_value = "50Gi")]
        storage: String,
    },
    /// Check a genesis file; exits non-zero listing each problem with its field.
    Validate { file: PathBuf },
    /// Print the deterministic hash of a genesis file (base58 sha3-256 of canonical JSON).
    Hash { file: PathBuf },
    /// Check a piece of equivocation evidence (the `proof` field of `admin_evidence`): both
    /// messages signed by one key for one position of this chain, and whose key it is.
    VerifyEvidence {
        #[arg(long)]
        genesis: PathBuf,
        /// base64 borsh of the evidence.
        proof: String,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), GenesisError> {
    match cli.command {
        Command::New { validators, out, preset, chain_id, host, base_port } => {
            let genesis_time_ms = genesis::unix_time_ms();
            let generated = genesis::generate(&NewGenesisOptions {
                validators,
                preset,
                chain_id,
                host,
                base_port,
                genesis_time_ms,
            })?;
            let path = generated.write(&out)?;
            println!("wrote {} ({} validators, preset {:?})", path.display(), validators, preset);
            println!("genesis hash {}", generated.genesis.hash());
            println!("keys under {}/validators and {}/accounts (files are mode 0600)", out.display(), out.display());
        }
        Command::Validate { file } => {
            let g = Genesis::load(&file)?;
            println!("{}: valid ({} validators, chain {})", file.display(), g.validators.len(), g.chain_id);
        }
        Command::Deploy {
            net,
            target,
            out,
            placement,
            image,
            openbao_image,
            organization,
            signer,
            approle,
            storage,
        } => {
            let placement = match placement {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|source| GenesisError::Read { path: path.clone(), source })?;
                    toml::from_str(&text).map_err(|e| GenesisError::Options(format!("{}: {e}", path.display())))?
                }
                None => genesis::deploy::Placement::default(),
            };
            let opts = genesis::deploy::DeployOptions {
                target,
                net,
                placement,
                image,
                openbao_image,
                organization,
                signing: signer,
                approle,
                storage,
            };
            let plan = genesis::deploy::write(&opts, &out)?;
            for v in &plan.validators {
                println!("{:<24} {:<16} {:<20} {}", v.spec.account_id, v.cluster, v.namespace, v.spec.address);
            }
            match target {
                genesis::deploy::Target::Kubernetes => {
                    println!(
                        "wrote {}/kubernetes/<cluster>/<namespace>/ and {}/genesis.json",
                        out.display(),
                        out.display()
                    )
                }
                genesis::deploy::Target::Compose => println!(
                    "wrote {}/compose.yaml; start it with `docker compose up -d` (or podman compose) in {}",
                    out.display(),
                    out.display()
                ),
            }
            println!(
                "deployed genesis hash {} (the addresses changed: every organization starts from this genesis.json)",
                plan.genesis.hash()
            );
        }
        Command::Hash { file } => println!("{}", Genesis::load(&file)?.hash()),
        Command::VerifyEvidence { genesis, proof } => {
            let g = Genesis::load(&genesis)?;
            let found = genesis::verify_evidence(&g, &proof).map_err(|e| GenesisError::Options(e.to_string()))?;
            println!("{found}");
        }
    }
    Ok(())
}
