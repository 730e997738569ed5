//! `testnet chaos` as a user runs it: 4 validators under a signed load for 40 s while seed 2
//! stops one with SIGSTOP, kills one with SIGKILL, restarts one cleanly and moves one's clock
//! 40 s ahead (one at a time),
//! then the checker compares every height on every node, finds every acknowledged transaction
//! on every node and looks for equivocation evidence. The command must exit 0 with a report
//! of no violations that counts what it checked.

use std::process::Command;

use tests::{binary, free_port_range};

/// Runs `testnet chaos` with `args` in a new directory; returns (success, output, report).
fn chaos(args: &[&str]) -> (bool, String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let (rpc, p2p) = (free_port_range(4).to_string(), free_port_range(4).to_string());
    let out = Command::new(binary("testnet"))
        .arg("chaos")
        .args(args)
        .args(["--rpc-base-port", &rpc, "--p2p-base-port", &p2p])
        .arg("--dir")
        .arg(&net)
        .output()
        .expect("testnet chaos");
    let shown = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let report = std::fs::read(net.join("chaos-report.json")).map(|b| serde_json::from_slice(&b).expect("JSON"));
    (out.status.success(), shown, report.unwrap_or(serde_json::Value::Null))
}

#[test]
fn chaos_with_process_faults_finds_no_violation() {
    let (ok, shown, report) = chaos(&["--duration", "40", "--seed", "2", "--load", "20"]);
    assert!(ok, "testnet chaos failed:\n{shown}");
    assert_eq!(report["violations"], serde_json::json!([]), "{report}");
    for kind in ["sigstop", "sigkill", "restart", "clock_jump"] {
        assert!(report["faults"][kind].as_u64().is_some_and(|n| n >= 1), "a {kind} fault ran: {report}");
    }
    assert!(report["heights_checked"].as_u64().is_some_and(|h| h >= 20), "{report}");
    assert!(report["acknowledged"].as_u64().is_some_and(|n| n >= 50), "{report}");
    assert!(shown.contains("blocks resumed"), "the timeline is printed:\n{shown}");
}

/// The checker can fail: a transaction counted as acknowledged that no node has is reported,
/// and the command exits 1.
#[test]
fn chaos_reports_a_lost_transaction() {
    let (ok, shown, report) = chaos(&["--duration", "8", "--seed", "5", "--load", "10", "--self-check"]);
    assert!(!ok, "a lost transaction must fail the run:\n{shown}");
    let violations = report["violations"].as_array().cloned().unwrap_or_default();
    assert_eq!(violations.len(), 4, "one per node: {report}");
    assert!(
        violations.iter().all(|v| v.as_str().is_some_and(|v| v.contains("does not have acknowledged"))),
        "{report}"
    );
    assert!(shown.contains("violation: "), "{shown}");
}
