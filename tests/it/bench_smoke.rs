//! `testnet bench` end to end on a short paced run: four validators, every submitted
//! transfer finalized, the figures, the JSON result and the plot present and consistent; and
//! the bench refuses ports another program holds.

use serde_json::Value;
use tests::{binary, free_port_range};

#[test]
fn bench_runs_and_writes_consistent_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result.json");
    let (rpc, p2p) = (free_port_range(4), free_port_range(4));
    let run = std::process::Command::new(binary("testnet"))
        .args([
            "bench",
            "--allow-debug-build",
            "--rate",
            "200",
            "--duration",
            "2",
            "--accounts",
            "40",
            "--connections",
            "8",
        ])
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
    assert_eq!(phase["refused"], 0);
    assert_eq!(phase["offered_tps"], 200.0);
    let l = &phase["latency_ms"];
    let (p50, p99) = (l["p50"].as_f64().unwrap(), l["p99"].as_f64().unwrap());
    assert!(p50 > 0.0 && p50 <= p99 && p99 <= l["max"].as_f64().unwrap(), "{l}");
    let nodes = result["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    assert!(nodes.iter().all(|n| n["peak_rss_mib"].as_f64().is_some_and(|m| m > 1.0)), "{nodes:?}");
    assert!(nodes.iter().all(|n| n["cpu_seconds"].as_f64().is_some_and(|s| s > 0.0)), "{nodes:?}");
    let plot = std::fs::read(result["plot"].as_str().unwrap()).unwrap();
    assert_eq!(&plot[..8], b"\x89PNG\r\n\x1a\n", "a PNG plot");
}

#[test]
fn the_bench_refuses_ports_that_are_taken() {
    let dir = tempfile::tempdir().unwrap();
    let (rpc, p2p) = (free_port_range(4), free_port_range(4));
    let squatter = std::net::TcpListener::bind(("127.0.0.1", rpc + 2)).unwrap();
    let run = std::process::Command::new(binary("testnet"))
        .args(["bench", "--allow-debug-build", "--rate", "10", "--duration", "1", "--accounts", "4"])
        .arg("--dir")
        .arg(dir.path().join("net"))
        .args(["--rpc-base-port", &rpc.to_string(), "--p2p-base-port", &p2p.to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "the bench ran against a taken port");
    assert!(stderr.contains(&format!("port {}", rpc + 2)) && stderr.contains("already in use"), "{stderr}");
    drop(squatter);
}
