//! `consensus-sim`: run any number of seeded simulations of the production driver and print
//! the first failing seed with its trace.

use std::time::Instant;

use clap::Parser;
use consensus_sim::{run, Role, Scenario};

#[derive(Parser)]
#[command(name = "consensus-sim", about = "Seeded deterministic simulation of the consensus driver")]
struct Cli {
    /// How many seeds to run.
    #[arg(long, default_value_t = 1000)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Validators per run (default: 1, 4, 5, 6, 7, 8 or 10, chosen by the seed).
    #[arg(long)]
    validators: Option<usize>,
    /// Byzantine behaviours to draw from: `all`, `classic`, `none`, or names separated by
    /// commas (double-voter, equivocating-proposer, invalid-proposer, twins, future-spammer,
    /// wrong-proposer, far-future-timestamp, round-flooder).
    #[arg(long, default_value = "all")]
    byzantine: String,
    /// Print the trace of this one seed and exit.
    #[arg(long)]
    trace: Option<u64>,
}

fn roles(spec: &str) -> Result<Vec<Role>, String> {
    match spec {
        "all" => Ok(Role::ALL.to_vec()),
        "classic" => Ok(Role::CLASSIC.to_vec()),
        "none" => Ok(Vec::new()),
        list => {
            list.split(',').map(|n| Role::parse(n.trim()).ok_or_else(|| format!("unknown behaviour `{n}`"))).collect()
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let pool = match roles(&cli.byzantine) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("--byzantine: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(seed) = cli.trace {
        let r = run(&Scenario::with_roles(seed, cli.validators, &pool));
        for line in &r.trace {
            println!("{line}");
        }
        println!(
            "seed {seed}: {:?}, {} heights, {} of {} transactions decided, {} fetches, {} events, peak {} messages held, digest {:016x}",
            r.violation, r.heights, r.transactions, r.submitted, r.fetches, r.events, r.peak_held, r.digest
        );
        return if r.violation.is_some() { std::process::ExitCode::FAILURE } else { std::process::ExitCode::SUCCESS };
    }
    let started = Instant::now();
    let (mut heights, mut events, mut evidence) = (0u64, 0u64, 0usize);
    let (mut transactions, mut fetches) = (0usize, 0u64);
    for (done, seed) in (cli.start..cli.start + cli.seeds).enumerate() {
        let r = run(&Scenario::with_roles(seed, cli.validators, &pool));
        if let Some(v) = &r.violation {
            for line in r.trace.iter().rev().take(60).rev() {
                println!("{line}");
            }
            println!("FAILED seed {seed}: {v:?} (rerun: consensus-sim --byzantine {} --trace {seed})", cli.byzantine);
            return std::process::ExitCode::FAILURE;
        }
        heights += r.heights;
        events += r.events;
        evidence += r.evidence;
        transactions += r.transactions;
        fetches += r.fetches;
        if (done + 1) % 100 == 0 {
            eprintln!("{} seeds, {:.1} s", done + 1, started.elapsed().as_secs_f64());
        }
    }
    println!(
        "{} seeds passed in {:.1} s: {heights} heights and {transactions} transactions decided, {fetches} fetches, {events} events, {evidence} equivocations kept as evidence",
        cli.seeds,
        started.elapsed().as_secs_f64()
    );
    std::process::ExitCode::SUCCESS
}
