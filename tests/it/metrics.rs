//! A real Prometheus (Debian's `prometheus` package, installed by `scripts/test.sh`) scrapes
//! the `/metrics` of a four-validator testnet under a light load; its HTTP API shows every
//! node up and every node's height advancing, and the node's own exposition carries the
//! consensus, mempool, network, signer and store families. A validator paused and resumed
//! catches up through block sync, counted in its metrics and shown by its gRPC health.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use parking_lot::Mutex;
use serde_json::Value;
use testnet::{Layout, Network, NetworkOptions};
use tests::{free_port, free_port_range, start_load};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

const PROMETHEUS: &str = "/usr/bin/prometheus";

/// The statuses a gRPC `Health.Watch` of the whole server (`""`) streams from `url`, as they
/// come, collected by a task until the stream ends.
async fn watch_grpc_health(url: &str) -> Arc<Mutex<Vec<ServingStatus>>> {
    let channel = tonic::transport::Channel::from_shared(url.to_owned()).unwrap().connect().await.unwrap();
    let mut stream = HealthClient::new(channel)
        .watch(HealthCheckRequest { service: String::new() })
        .await
        .expect("Health.Watch")
        .into_inner();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    tokio::spawn(async move {
        while let Ok(Some(r)) = stream.message().await {
            out.lock().push(r.status());
        }
    });
    seen
}

/// `query` through Prometheus's HTTP API: each series' `instance` label and value.
async fn query(api: &str, query: &str) -> BTreeMap<String, f64> {
    let url = format!("{api}/api/v1/query");
    let Ok(r) = reqwest::Client::new().get(url).query(&[("query", query)]).send().await else {
        return BTreeMap::new();
    };
    let body: Value = r.json().await.unwrap_or_default();
    body["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let instance = s["metric"]["instance"].as_str()?.to_owned();
            let value = s["value"][1].as_str()?.parse().ok()?;
            Some((instance, value))
        })
        .collect()
}

/// A file of the shipped monitoring set (docs/monitoring).
fn monitoring(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/monitoring").join(file)
}

/// The metric names a PromQL expression reads (ours all start `cometbft_` or `chain_`).
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (i, _) in expr.match_indices(['c']) {
        let rest = &expr[i..];
        if (rest.starts_with("cometbft_") || rest.starts_with("chain_"))
            && !expr[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        {
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            names.push(name);
        }
    }
    names
}

/// The alerting rules load and their unit tests pass (each alert fires on the series that
/// should raise it and stays quiet on a healthy one).
#[test]
fn the_alerting_rules_pass_promtool() {
    let promtool = "/usr/bin/promtool";
    assert!(
        std::path::Path::new(promtool).is_file(),
        "{promtool} is missing: `bash scripts/test.sh` installs Debian's prometheus package"
    );
    for args in [["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]] {
        let out = std::process::Command::new(promtool).args(args).current_dir(monitoring("")).output().unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && said.contains("SUCCESS"), "promtool {args:?}:\n{said}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_every_validator_and_sees_blocks_advance() {
    assert!(
        std::path::Path::new(PROMETHEUS).is_file(),
        "{PROMETHEUS} is missing: `bash scripts/test.sh` installs Debian's prometheus package"
    );
    let dir = tempfile::tempdir().unwrap();
    let metrics_base = free_port_range(4);
    let opts = NetworkOptions {
        metrics_base_port: Some(metrics_base),
        ..NetworkOptions::new(4, free_port_range(4), free_port_range(4), "metrics")
    };
    let net = Network::up(Layout::new(dir.path()), &opts).await.expect("4 validators up");
    let rpcs: Vec<_> = net.nodes.iter().map(|n| n.rpc.clone()).collect();
    let keys = testnet::Workload::load_accounts(&net.layout).unwrap();
    let load = start_load(rpcs, keys, Arc::new(Mutex::new(Vec::new())));

    let targets: Vec<String> = (0..4).map(|i| format!("127.0.0.1:{}", metrics_base + i)).collect();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: chain\n    static_configs:\n      - targets: [{}]\n",
        targets.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ")
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let web = free_port();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let mut prometheus = tokio::process::Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{web}"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus starts");
    let api = format!("http://127.0.0.1:{web}");

    // Every node scraped, and a first height for each.
    let started = Instant::now();
    let mut first = BTreeMap::new();
    while started.elapsed() < Duration::from_secs(60) {
        let up = query(&api, "up").await;
        first = query(&api, "cometbft_consensus_height").await;
        if up.len() == 4 && up.values().all(|v| *v == 1.0) && first.len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let log = || std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
    assert_eq!(first.len(), 4, "Prometheus scraped {first:?} of {targets:?}:\n{}", log());
    // ... and each one's height moves on.
    let mut now = first.clone();
    while started.elapsed() < Duration::from_secs(90) && !targets.iter().all(|t| now[t] >= first[t] + 3.0) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let latest = query(&api, "cometbft_consensus_height").await;
        if latest.len() == 4 {
            now = latest;
        }
    }
    for t in &targets {
        assert!(now[t] >= first[t] + 3.0, "{t}: height {} then {} as Prometheus saw it", first[t], now[t]);
    }
    let peers = query(&api, "cometbft_p2p_peers").await;
    assert!(peers.values().all(|p| *p == 3.0) && peers.len() == 4, "each validator sees the other three: {peers:?}");
    let signed = query(&api, "chain_signer_sign_seconds_count").await;
    assert!(signed.len() == 4 && signed.values().all(|n| *n > 0.0), "every validator signed: {signed:?}");

    // Requests the RPC served, and one it did not, are counted by method and outcome.
    let node0 = net.nodes[0].rpc.url().to_owned();
    assert_eq!(reqwest::get(format!("{node0}/nope")).await.unwrap().status().as_u16(), 404);
    net.nodes[0].rpc.status().await.unwrap();
    // The exposition itself: the families an operator's dashboards use.
    let text = reqwest::get(format!("http://{}/metrics", targets[0])).await.unwrap().text().await.unwrap();
    for family in [
        "cometbft_consensus_height ",
        "cometbft_consensus_latest_block_height ",
        "chain_consensus_round ",
        "chain_consensus_step ",
        "chain_consensus_evidence_kept_total 0",
        "chain_p2p_refused_connections_total ",
        "cometbft_consensus_validators 4",
        "cometbft_consensus_missing_validators 0",
        "chain_consensus_byzantine_validators 0",
        "cometbft_consensus_block_interval_seconds_bucket",
        "cometbft_consensus_num_txs ",
        "cometbft_consensus_total_txs ",
        "cometbft_mempool_size ",
        "cometbft_mempool_size_bytes ",
        "cometbft_p2p_peers 3",
        "cometbft_p2p_message_receive_bytes_total{message_type=\"vote\"}",
        "cometbft_p2p_message_send_bytes_total{message_type=\"vote\"}",
        "chain_p2p_messages_sent_total{message_type=\"proposal\"}",
        "cometbft_blocksync_syncing 0",
        "chain_blocksync_target_height 0",
        "chain_blocksync_blocks_total ",
        "chain_mempool_admitted_total ",
        "chain_signer_sign_seconds_bucket{",
        "chain_signer_up{backend=\"local\"} 1",
        "chain_store_size_bytes ",
        "chain_store_commit_seconds_count ",
        "chain_rpc_requests_total{protocol=\"jsonrpc\",method=\"status\",status=\"ok\"}",
        "chain_rpc_requests_total{protocol=\"http\",method=\"not_served\",status=\"404\"} 1",
        "chain_rpc_request_seconds_bucket{",
        "chain_rpc_auth_failures_total 0",
    ] {
        assert!(text.contains(family), "{family} is missing from /metrics:\n{text}");
    }
    // Events were counted, not only declared.
    let value = |name: &str| -> f64 {
        let line = text.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("no {name}:\n{text}"));
        line.trim().parse().unwrap()
    };
    assert!(value("cometbft_consensus_total_txs ") > 0.0, "the load's transfers were counted");
    assert!(value("cometbft_consensus_block_interval_seconds_count ") > 2.0, "block intervals observed");
    assert!(value("chain_store_commit_seconds_count ") > 2.0, "commits timed");
    assert!(value("chain_mempool_admitted_total ") > 0.0, "admissions counted");
    assert_eq!(value("cometbft_consensus_height "), value("cometbft_consensus_latest_block_height ") + 1.0);

    // The shipped dashboard: every query is valid PromQL over families the node exports.
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(monitoring("dashboard.json")).unwrap()).unwrap();
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter().map(|t| t["expr"].as_str().unwrap().to_owned()))
        .collect();
    assert!(exprs.len() >= 16, "{exprs:?}");
    let exported: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next()).collect();
    for expr in &exprs {
        let r: Value = reqwest::Client::new()
            .get(format!("{api}/api/v1/query"))
            .query(&[("query", expr.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["status"], "success", "{expr}: {r}");
        for name in metric_names(expr) {
            let base = ["_bucket", "_total"].iter().fold(name.as_str(), |n, s| n.strip_suffix(s).unwrap_or(n));
            assert!(exported.contains(&base), "the dashboard's {name} is not exported: {exported:?}");
        }
    }

    // A validator paused for a while catches up through block sync, and says so: in its
    // metrics, and by its gRPC health service going NOT_SERVING while it syncs (watched
    // through a stream opened before the pause).
    let statuses = watch_grpc_health(net.nodes[3].rpc.url()).await;
    net.signal(3, Signal::SIGSTOP).unwrap();
    tokio::time::sleep(Duration::from_secs(8)).await;
    net.signal(3, Signal::SIGCONT).unwrap();
    let scrape = |i: u16| {
        let url = format!("http://127.0.0.1:{}/metrics", metrics_base + i);
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    let synced = |text: &str| -> f64 {
        let line = text.lines().find_map(|l| l.strip_prefix("chain_blocksync_blocks_total ")).unwrap();
        line.trim().parse().unwrap()
    };
    let resumed = Instant::now();
    let mut text = scrape(3).await;
    while synced(&text) == 0.0 && resumed.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        text = scrape(3).await;
    }
    assert!(synced(&text) > 0.0, "the paused validator synced blocks:\n{text}");
    assert_eq!(synced(&scrape(0).await), 0.0, "a validator that kept up synced nothing");
    // SERVING, NOT_SERVING while syncing, SERVING again (the last may come after the metric).
    let went_and_came_back = |seen: &[ServingStatus]| {
        let not_serving = seen.iter().position(|s| *s == ServingStatus::NotServing);
        seen.first() == Some(&ServingStatus::Serving)
            && not_serving.is_some_and(|i| seen[i..].contains(&ServingStatus::Serving))
    };
    let waiting = Instant::now();
    while !went_and_came_back(&statuses.lock()) && waiting.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = statuses.lock().clone();
    assert!(went_and_came_back(&seen), "gRPC health: {seen:?}");

    for task in load {
        task.abort();
    }
    let _ = prometheus.kill().await;
    net.stop(Duration::from_secs(10)).await.unwrap();
}
