//! The `kms` daemon behind mutual TLS, with certificates from `kms tls init` and a local key
//! backend: the node's remote signer signs and verifies over it; a client without a
//! certificate, with one from another CA, or in plaintext cannot call `GetPublicKey` or
//! `Sign` (refused in the handshake) and the watermark does not move; a node that does not
//! trust the daemon's CA refuses it. Plaintext on a non-loopback address is refused at start,
//! by `kms serve` and by the node's config (`SignerConfig::open`, `chain init`).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use chain_types::SecretKey;
use genesis::{NewGenesisOptions, Preset};
use kms::remote::proto::remote_signer_client::RemoteSignerClient;
use kms::remote::proto::{GetPublicKeyRequest, SignRequest as ProtoSignRequest, Step as ProtoStep};
use kms::remote::{DaemonTarget, RemoteSigner, TlsFiles};
use kms::sign_bytes::consensus_bytes;
use kms::{SignRequest, Signer, SignerConfig, SignerError, Step, TransportError};
use testnet::signing::spawn_kms;
use tests::{binary, free_port};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

const CHAIN: &str = "kms-tls";
const TIMEOUT: Duration = Duration::from_secs(2);

fn request(height: u64) -> SignRequest {
    SignRequest {
        height,
        round: 0,
        step: Step::Precommit,
        bytes: consensus_bytes(CHAIN, height, 0, Step::Precommit, [1; 32]),
    }
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// `kms tls init` into `dir/name`: a CA, a server certificate for 127.0.0.1 and localhost,
/// a client certificate `node`.
fn tls_init(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let o = Command::new(binary("kms"))
        .args(["tls", "init", "--out"])
        .arg(&out)
        .args(["--server-name", "127.0.0.1", "--server-name", "localhost", "--client", "node"])
        .output()
        .unwrap();
    assert!(o.status.success(), "kms tls init: {}", text(&o));
    for key in ["ca-key.pem", "server-key.pem", "node-key.pem"] {
        let mode = std::fs::metadata(out.join(key)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{key}");
    }
    out
}

/// A daemon directory with a local key (0600) and `kms.toml` listening on `listen`, with
/// `[tls]` from `tls` when given. Returns the directory and the key.
fn daemon_dir(dir: &Path, listen: &str, tls: Option<&Path>) -> (PathBuf, SecretKey) {
    let kms_dir = dir.join("kms");
    std::fs::create_dir_all(&kms_dir).unwrap();
    let key = SecretKey::from_seed([42; 32]);
    let json = serde_json::json!({"account_id": "v0", "public_key": key.public_key(), "secret_key": key.to_string()});
    kms::secret_file::write(&kms_dir.join("key.json"), json.to_string().as_bytes()).unwrap();
    let tls = tls.map_or(String::new(), |t| {
        format!(
            "[tls]\nca_cert = \"{0}/ca.pem\"\ncert = \"{0}/server.pem\"\nkey = \"{0}/server-key.pem\"\n",
            t.display()
        )
    });
    std::fs::write(
        kms_dir.join("kms.toml"),
        format!("listen = \"{listen}\"\nchain_id = \"{CHAIN}\"\n{tls}\n[signer]\nkind = \"local\"\nkey_file = \"key.json\"\n"),
    )
    .unwrap();
    (kms_dir, key)
}

fn node_tls(ca_dir: &Path, client_dir: &Path) -> TlsFiles {
    TlsFiles { ca_cert: ca_dir.join("ca.pem"), cert: client_dir.join("node.pem"), key: client_dir.join("node-key.pem") }
}

/// Calls `GetPublicKey` and a `Sign` far above the watermark (what would disable the
/// validator) through `endpoint`; both must fail in the transport, with no answer from the
/// service.
async fn both_refused(endpoint: Endpoint) {
    let mut client = RemoteSignerClient::new(endpoint.timeout(TIMEOUT).connect_lazy());
    let key = client.get_public_key(GetPublicKeyRequest {}).await;
    let high = 1u64 << 62;
    let sign = client
        .sign(ProtoSignRequest {
            height: high,
            round: 0,
            step: ProtoStep::Precommit.into(),
            sign_bytes: consensus_bytes(CHAIN, high, 0, Step::Precommit, [9; 32]),
        })
        .await;
    for result in [key.map(|_| ()), sign.map(|_| ())] {
        let status = result.expect_err("a call went through");
        let transport = std::error::Error::source(&status).is_some_and(|s| s.is::<tonic::transport::Error>());
        assert!(transport, "expected a transport failure, not an answer: {status:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_over_mtls_serves_only_clients_of_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ours = tls_init(dir.path(), "ours");
    let theirs = tls_init(dir.path(), "theirs");
    let port = free_port();
    let (kms_dir, key) = daemon_dir(dir.path(), &format!("127.0.0.1:{port}"), Some(&ours));
    let _daemon = spawn_kms(&kms_dir).await.unwrap();
    let address = format!("https://127.0.0.1:{port}");

    // The node's side over mTLS: the daemon's key, signatures that verify.
    let target = DaemonTarget::parse(&address, Some(&node_tls(&ours, &ours)), dir.path()).unwrap();
    let signer = RemoteSigner::connect(&target, TIMEOUT, CHAIN).await.unwrap();
    assert_eq!(signer.public_key(), key.public_key());
    let sig = signer.sign(&request(1)).await.unwrap();
    assert!(key.public_key().verify(&request(1).bytes, &sig));
    let state = kms_dir.join(kms::DEFAULT_STATE_FILE);
    let before = std::fs::read_to_string(&state).unwrap();

    // Without a client certificate, with one from another CA, or in plaintext: nothing is
    // served, the watermark stays.
    let ca = Certificate::from_pem(std::fs::read(ours.join("ca.pem")).unwrap());
    let server_only = ClientTlsConfig::new().ca_certificate(ca).domain_name("127.0.0.1");
    let foreign = Identity::from_pem(
        std::fs::read(theirs.join("node.pem")).unwrap(),
        std::fs::read(theirs.join("node-key.pem")).unwrap(),
    );
    let no_cert = Endpoint::from_shared(address.clone()).unwrap().tls_config(server_only.clone()).unwrap();
    both_refused(no_cert).await;
    let other_ca = Endpoint::from_shared(address.clone()).unwrap().tls_config(server_only.identity(foreign)).unwrap();
    both_refused(other_ca).await;
    both_refused(Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap()).await;
    assert_eq!(std::fs::read_to_string(&state).unwrap(), before, "the watermark did not move");
    // Refused in the handshake (the daemon says why), before any call reached the service.
    let log = std::fs::read_to_string(kms_dir.join("kms.log")).unwrap();
    let refusals: Vec<&str> = log.lines().filter(|l| l.contains("tls accept error")).collect();
    assert!(refusals.iter().any(|l| l.contains("peer sent no certificates")), "{log}");
    assert!(refusals.iter().any(|l| l.contains("invalid peer certificate")), "{log}");
    assert!(!log.contains("sign request not served") && !log.contains("without a client certificate"), "{log}");
    let sig = signer.sign(&request(2)).await.unwrap();
    assert!(key.public_key().verify(&request(2).bytes, &sig), "the validator still signs");

    // A node that trusts another CA refuses this daemon (its public key included).
    let wrong_ca = DaemonTarget::parse(&address, Some(&node_tls(&theirs, &ours)), dir.path()).unwrap();
    let e = RemoteSigner::connect(&wrong_ca, TIMEOUT, CHAIN).await.unwrap_err().to_string();
    assert!(e.contains("cannot reach the kms daemon") && e.contains("certificate"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_serve_refuses_plaintext_on_a_non_loopback_address_and_loose_keys() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (kms_dir, _) = daemon_dir(dir.path(), &format!("0.0.0.0:{port}"), None);
    let serve = || Command::new(binary("kms")).arg("serve").arg("--config").arg(kms_dir.join("kms.toml")).output();
    let o = serve().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains(&format!("refusing to listen on 0.0.0.0:{port} without TLS")), "{}", text(&o));

    // With TLS the same address is accepted, but not with a server key others can read.
    let tls = tls_init(dir.path(), "tls");
    std::fs::remove_dir_all(&kms_dir).unwrap();
    let (kms_dir, _) = daemon_dir(dir.path(), &format!("0.0.0.0:{port}"), Some(&tls));
    let key = tls.join("server-key.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = serve().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let want = format!("permissions 0644 for {} are too open", key.display());
    assert!(text(&o).contains(&want) && text(&o).contains(&format!("chmod 600 {}", key.display())), "{}", text(&o));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    drop(spawn_kms(&kms_dir).await.unwrap());

    // A local key file others can read is refused too.
    std::fs::set_permissions(kms_dir.join("key.json"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let o = serve().unwrap();
    assert!(!o.status.success() && text(&o).contains("permissions 0640"), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_plaintext_to_a_non_loopback_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let address = "http://10.1.2.3:26650";
    let config = SignerConfig::Remote { address: address.into(), timeout_ms: 250, tls: None };
    match config.open(dir.path(), CHAIN).await {
        Err(SignerError::Transport(e @ TransportError::PlaintextRemote { .. })) => {
            assert!(e.to_string().contains(&format!("refusing the kms daemon at {address}")), "{e}")
        }
        other => panic!("expected a refusal, got {:?}", other.map(|s| s.public_key())),
    }

    // `chain init` refuses such a [signer] before writing the home.
    let generated = genesis::generate(&NewGenesisOptions {
        validators: 1,
        preset: Preset::Development,
        chain_id: CHAIN.into(),
        host: "127.0.0.1".into(),
        base_port: free_port(),
        genesis_time_ms: 1_700_000_000_000,
    })
    .unwrap();
    generated.write(&dir.path().join("genesis")).unwrap();
    let signer = dir.path().join("signer.toml");
    std::fs::write(&signer, format!("kind = \"remote\"\naddress = \"{address}\"\n")).unwrap();
    let home = dir.path().join("home");
    let o = Command::new(binary("chain"))
        .arg("init")
        .arg("--genesis")
        .arg(dir.path().join("genesis/genesis.json"))
        .arg("--home")
        .arg(&home)
        .arg("--signer-config")
        .arg(&signer)
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&format!("refusing the kms daemon at {address}")), "{}", text(&o));
    assert!(!home.join("config.toml").exists());
}
