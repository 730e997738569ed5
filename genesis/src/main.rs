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
        Command::Hash { file } => println!("{}", Genesis::load(&file)?.hash()),
        Command::VerifyEvidence { genesis, proof } => {
            let g = Genesis::load(&genesis)?;
            let found = genesis::verify_evidence(&g, &proof).map_err(|e| GenesisError::Options(e.to_string()))?;
            println!("{found}");
        }
    }
    Ok(())
}
