//! The workspace console (`/console`) in a real headless browser: Debian's chromium driven by
//! puppeteer-core (`tests/js/console.mjs`) against a 4-validator testnet whose node 0 requires
//! credentials (membership acme). Screenshots of each page go to
//! `<target dir>/artifacts/console/`. Also the page's signing code against near-api-js's
//! byte-exact vectors. Needs `npm ci --prefix tests/js` and `/usr/bin/chromium`
//! (scripts/test.sh installs both); a missing one fails with the command to fix it.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use testnet::{Layout, Network, NetworkOptions};
use tests::{free_port_range, restart_with_credentials};

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// Where the screenshots go: beside the binaries the tests run.
fn artifacts() -> PathBuf {
    let chain = tests::binary("chain");
    chain.parent().and_then(|d| d.parent()).unwrap_or(&chain).join("artifacts/console")
}

fn node(args: &[String]) -> (bool, String) {
    let out = Command::new("node")
        .current_dir(js_dir())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `node` (Node.js 20 is required): {e}"));
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_console_signs_exactly_what_near_api_js_signs() {
    let vectors =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../chain/types/tests/fixtures/near-api-js-vectors.json");
    let (ok, text) = node(&["console_near.mjs".into(), vectors.display().to_string()]);
    assert!(ok && text.contains("console signing matches near-api-js"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_the_chain_and_drives_treasury_and_workspace() {
    assert!(
        js_dir().join("node_modules/puppeteer-core/package.json").is_file(),
        "puppeteer-core is not installed: run `npm ci --prefix {}`",
        js_dir().display()
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(PathBuf::from(&chromium).is_file(), "{chromium} is missing: `apt-get install chromium` (or set CHROMIUM)");
    let dir = tempfile::tempdir().unwrap();
    let opts = NetworkOptions::new(4, free_port_range(4), free_port_range(4), "console-e2e");
    let mut net = Network::up(Layout::new(dir.path()), &opts).await.expect("4 validators up");
    let password = restart_with_credentials(&mut net, 0, Some("acme")).await;
    let newco = genesis::KeyFile::new("newco".parse().unwrap(), chain_types::SecretKey::generate());
    let secret = serde_json::to_value(&newco.secret_key).unwrap().as_str().unwrap().to_owned();
    let shots = artifacts();
    let args = vec![
        "console.mjs".into(),
        format!("{}/console", net.nodes[0].rpc.url()),
        "operator".into(),
        password,
        Layout::new(dir.path()).accounts_dir().display().to_string(),
        shots.display().to_string(),
        secret,
        newco.public_key.to_string(),
    ];
    let (ok, text) = tokio::task::spawn_blocking(move || node(&args)).await.unwrap();
    let log = std::fs::read_to_string(net.nodes[0].home.join("node.log")).unwrap_or_default();
    assert!(ok, "console flow failed:\n{text}\nnode 0 log tail:\n{}", &log[log.len().saturating_sub(4000)..]);
    assert!(text.contains("all passed"), "{text}");
    for page in [
        "overview",
        "overview-phone",
        "overview-later",
        "treasury",
        "explorer-account",
        "explorer-transaction",
        "explorer-block",
        "organizations",
        "organizations-phone",
    ] {
        let path = shots.join(format!("{page}.png"));
        assert!(path.metadata().is_ok_and(|m| m.len() > 10_000), "screenshot {} missing", path.display());
    }
    net.stop(Duration::from_secs(10)).await.unwrap();
}

/// The console's pages carry a content security policy and may not be framed; a browser's
/// request from another site (the console's Basic login cached in it) is refused on every
/// API, while same-origin pages and non-browser clients go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_are_locked_to_their_origin() {
    let node = tests::TestNode::start().await;
    let http = reqwest::Client::new();
    let url = node.rpc.url().to_owned();
    let page = http.get(format!("{url}/console")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.text().await.unwrap().contains("/console/app.js"));
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"status","params":[]}"#;
    let post = |headers: &[(&str, String)]| {
        let mut r = http.post(&url).header("content-type", "text/plain").body(body);
        for (k, v) in headers {
            r = r.header(*k, v);
        }
        r.send()
    };
    let host = url.trim_start_matches("http://").to_owned();
    for refused in [
        vec![("sec-fetch-site", "cross-site".to_owned())],
        vec![("sec-fetch-site", "same-site".to_owned())],
        vec![("origin", "http://evil.example".to_owned())],
    ] {
        let r = post(&refused).await.unwrap();
        assert_eq!(r.status(), 403, "{refused:?}");
        let text = r.text().await.unwrap();
        assert!(text.contains("cross-site browser requests are refused"), "{text}");
    }
    for allowed in [vec![("sec-fetch-site", "same-origin".to_owned()), ("origin", format!("http://{host}"))], vec![]] {
        assert_eq!(post(&allowed).await.unwrap().status(), 200, "{allowed:?}");
    }
    let events = http.get(format!("{url}/console/events")).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(events.status(), 403);
}
