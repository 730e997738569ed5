//! `testnet bench` end to end on a short paced run: four validators, every submitted
//! transfer finalized, the figures and the JSON result present and consistent.

use serde_json::Value;
use tests::{binary, free_port_range};

#[test]
fn bench_runs_and_writes_consistent_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result.json");
    let (rpc, p2p) = (free_port_range(4), free_port_range(4));
    let run = std::process::Command::new(binary("testnet"))
        .args(["bench", "--rate", "200", "--duration", "2", "--accounts", "40", "--connections", "8"])
        .arg("--dir")
        .arg(dir.path().join("net"))
        .arg("--out")
        .arg(&out)
        .args(["--rpc-base-port", &rpc.to_string(), "--p2p-base-port", &p2p.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "bench failed:\n{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("finalized tx/s") && stdout.contains("peak RSS"), "{stdout}");

    let result: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(result["validators"], 4);
    assert!(result["batch_verify_per_core"].as_f64().unwrap() > 0.0);
    let phase = &result["phases"][0];
    assert_eq!(phase["sent"], 400, "{phase}");
    assert_eq!(phase["finalized"], 400, "every transfer became final: {phase}");
    assert_eq!(phase["submit_failed"], 0);
    let l = &phase["latency_ms"];
    let (p50, p99) = (l["p50"].as_f64().unwrap(), l["p99"].as_f64().unwrap());
    assert!(p50 > 0.0 && p50 <= p99 && p99 <= l["max"].as_f64().unwrap(), "{l}");
    let nodes = result["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    assert!(nodes.iter().all(|n| n["peak_rss_mib"].as_f64().is_some_and(|m| m > 1.0)), "{nodes:?}");
}
