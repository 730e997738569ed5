//! Figures of a benchmark phase: percentiles, block intervals, the signature-verification
//! bound, and nodes' peak memory and CPU time.

use std::time::Instant;

use chain_types::{verify_signatures_batch, Action, CryptoHash, SecretKey, Transaction, TransferAction};

/// The `p`-th percentile (0..=100) of sorted `values` (nearest rank); 0 when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Single-core ed25519 batch verification rate (signatures per second), measured for
/// about `seconds` on transfers signed like the benchmark's, in batches of 64.
pub fn batch_verify_rate(seconds: f64) -> anyhow::Result<f64> {
    let txs = (0..64u8)
        .map(|i| {
            let key = SecretKey::from_seed([i; 32]);
            Ok(Transaction {
                signer_id: format!("load{i}.acme").parse()?,
                public_key: key.public_key(),
                nonce: 1,
                receiver_id: "acme".parse()?,
                block_hash: CryptoHash::default(),
                actions: vec![Action::Transfer(TransferAction { deposit: 1 })],
            }
            .sign(&key))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let refs: Vec<_> = txs.iter().collect();
    let hashes: Vec<_> = txs.iter().map(|t| t.hash()).collect();
    let started = Instant::now();
    let mut verified = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        if verify_signatures_batch(&refs, &hashes) {
            verified += refs.len() as u64;
        }
    }
    Ok(verified as f64 / started.elapsed().as_secs_f64())
}

/// Peak resident set size of a process in KiB (`VmHWM`), if readable.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time (user + system) a process has used so far, in seconds, if readable.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces, inside parentheses).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    Some(ticks as f64 / per_second as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 90.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn verification_rate_and_cpu_time_are_measured() {
        assert!(batch_verify_rate(0.2).unwrap() > 0.0);
        let cpu = cpu_seconds(std::process::id()).expect("own /proc/self/stat");
        assert!(cpu >= 0.1, "0.2 s of verification used {cpu} s of CPU");
    }
}
