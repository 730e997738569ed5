//! `consensus-sim`: run any number of seeded simulations and print the first failing seed
//! with its trace.

use std::time::Instant;

use clap::Parser;
use consensus_sim::{run, Scenario};

#[derive(Parser)]
#[command(name = "consensus-sim", about = "Seeded deterministic simulation of the Tendermint core")]
struct Cli {
    /// How many seeds to run.
    #[arg(long, default_value_t = 1000)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Validators per run (default: 1, 4, 7 or 10, chosen by the seed).
    #[arg(long)]
    validators: Option<usize>,
    /// Print the trace of this one seed and exit.
    #[arg(long)]
    trace: Option<u64>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(seed) = cli.trace {
        let r = run(&Scenario::from_seed(seed, cli.validators));
        for line in &r.trace {
            println!("{line}");
        }
        println!(
            "seed {seed}: {:?}, {} heights, {} events, digest {:016x}",
            r.violation, r.heights, r.events, r.digest
        );
        return if r.violation.is_some() { std::process::ExitCode::FAILURE } else { std::process::ExitCode::SUCCESS };
    }
    let started = Instant::now();
    let (mut heights, mut events, mut evidence) = (0u64, 0u64, 0usize);
    for (done, seed) in (cli.start..cli.start + cli.seeds).enumerate() {
        let r = run(&Scenario::from_seed(seed, cli.validators));
        if let Some(v) = &r.violation {
            for line in &r.trace {
                println!("{line}");
            }
            println!("FAILED seed {seed}: {v:?} (rerun: consensus-sim --trace {seed})");
            return std::process::ExitCode::FAILURE;
        }
        heights += r.heights;
        events += r.events;
        evidence += r.evidence;
        if (done + 1) % 1000 == 0 {
            eprintln!("{} seeds, {:.1} s", done + 1, started.elapsed().as_secs_f64());
        }
    }
    println!(
        "{} seeds passed in {:.1} s: {heights} heights decided, {events} events, {evidence} equivocations caught",
        cli.seeds,
        started.elapsed().as_secs_f64()
    );
    std::process::ExitCode::SUCCESS
}
