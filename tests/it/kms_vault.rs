//! The Transit signer against a real OpenBao (started here on a free loopback port):
//! signing and verifying, export refused, rotation with a pinned version, a hung server,
//! AppRole login with token renewal and re-login, TLS with a custom CA, and clear start-up
//! errors that never carry the token; plain http:// to a non-loopback host and secret files
//! that group or others may read are refused at start.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use kms::sign_bytes::consensus_bytes;
use kms::vault::{admin, VaultAuth, VaultConfig, VaultSigner};
use kms::{SecretFileError, SignRequest, Signer, SignerConfig, SignerError, Step, TransportError};
use nix::sys::signal::Signal;
use testnet::openbao::{write_secret, OpenBao, Storage};
use tests::free_port;
use vaultrs::api::transit::requests::{ExportKeyType, ExportVersion};

fn request(height: u64) -> SignRequest {
    SignRequest {
        height,
        round: 0,
        step: Step::Prevote,
        bytes: consensus_bytes("vault-test", height, 0, Step::Prevote, [5; 32]),
    }
}

/// A least-privilege token for `key` in `dir/<key>-token`, and a config using it.
async fn token_config(bao: &OpenBao, admin: &vaultrs::client::VaultClient, key: &str, dir: &Path) -> VaultConfig {
    admin::signer_policy(admin, key, "transit", key).await.unwrap();
    let token = admin::token(admin, key, "1h").await.unwrap();
    let file = dir.join(format!("{key}-token"));
    write_secret(&file, &token).unwrap();
    VaultConfig::with_token(&bao.address, key, 1, file)
}

fn config_error(r: Result<VaultSigner, SignerError>) -> String {
    match r {
        Err(SignerError::Config(m)) => m,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_signer_signs_pins_its_version_and_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let mut bao = OpenBao::start(&dir.path().join("bao"), free_port(), Storage::Dev).await.unwrap();
    let admin = bao.admin().await.unwrap();
    let created = admin::create_key(&admin, "transit", "v0").await.unwrap();
    let config = token_config(&bao, &admin, "v0", dir.path()).await;

    // Sign and verify, with a token that may only sign with and read this key.
    let signer = VaultSigner::connect(&config).await.unwrap();
    assert_eq!(signer.public_key(), created);
    let sig = signer.sign(&request(1)).await.unwrap();
    assert!(created.verify(&request(1).bytes, &sig));
    assert_eq!(signer.sign(&request(1)).await.unwrap(), sig, "Transit ed25519 is deterministic");
    signer.health().await.unwrap();

    // The key never leaves: export is refused, even to the root token.
    for (who, client) in [
        ("root", &admin),
        (
            "signer",
            &admin::client(&bao.address, &std::fs::read_to_string(dir.path().join("v0-token")).unwrap(), None).unwrap(),
        ),
    ] {
        let r =
            vaultrs::transit::key::export(client, "transit", "v0", ExportKeyType::SigningKey, ExportVersion::All).await;
        assert!(r.is_err(), "export with the {who} token must be refused");
    }
    // An exportable key is refused as a validator key.
    let mut opts = vaultrs::api::transit::requests::CreateKeyRequestBuilder::default();
    opts.key_type(vaultrs::api::transit::KeyType::Ed25519).exportable(true);
    vaultrs::transit::key::create(&admin, "transit", "leaky", Some(&mut opts)).await.unwrap();
    let leaky = VaultConfig { key_name: "leaky".into(), ..token_config(&bao, &admin, "leaky", dir.path()).await };
    assert!(config_error(VaultSigner::connect(&leaky).await).contains("exportable"));

    // Rotation: the signer keeps version 1; version 2 is another key.
    vaultrs::transit::key::rotate(&admin, "transit", "v0").await.unwrap();
    let v2 = admin::public_key(&admin, "transit", "v0", 2).await.unwrap();
    assert_ne!(v2, created);
    let sig = signer.sign(&request(2)).await.unwrap();
    assert!(created.verify(&request(2).bytes, &sig) && !v2.verify(&request(2).bytes, &sig));
    let pinned_v2 = VaultSigner::connect(&VaultConfig { key_version: 2, ..config.clone() }).await.unwrap();
    assert_eq!(pinned_v2.public_key(), v2);
    assert!(v2.verify(&request(3).bytes, &pinned_v2.sign(&request(3)).await.unwrap()));
    let e = config_error(VaultSigner::connect(&VaultConfig { key_version: 9, ..config.clone() }).await);
    assert!(e.contains("no version 9"), "{e}");

    // A hung server: calls fail within the request timeout instead of blocking consensus.
    bao.signal(Signal::SIGSTOP).unwrap();
    let t = Instant::now();
    let hung = signer.sign(&request(4)).await;
    assert!(matches!(hung, Err(SignerError::Unavailable(_))), "a stopped server: {hung:?}");
    assert!(signer.health().await.is_err());
    assert!(t.elapsed() < Duration::from_secs(2), "two calls took {:?}", t.elapsed());
    bao.signal(Signal::SIGCONT).unwrap();
    signer.sign(&request(4)).await.unwrap();

    // Start-up errors say what is wrong and never echo the token.
    let bad_token = "hvs.not-a-real-token-0123456789";
    write_secret(&dir.path().join("bad"), bad_token).unwrap();
    let e = config_error(
        VaultSigner::connect(&VaultConfig::with_token(&bao.address, "v0", 1, dir.path().join("bad"))).await,
    );
    assert!(e.contains("cannot log in to Vault") && e.contains("refused") && !e.contains(bad_token), "{e}");
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let e = config_error(VaultSigner::connect(&VaultConfig { address: nowhere.clone(), ..config.clone() }).await);
    assert!(e.contains(&nowhere) && e.contains("is Vault running"), "{e}");
    let e = config_error(VaultSigner::connect(&VaultConfig { key_name: "missing".into(), ..config.clone() }).await);
    assert!(e.contains("cannot read Transit key `missing`"), "{e}");
    let e = config_error(
        VaultSigner::connect(&VaultConfig::with_token(&bao.address, "v0", 1, dir.path().join("absent"))).await,
    );
    assert!(e.contains("cannot read the Vault token file"), "{e}");
    bao.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approle_tokens_are_renewed_and_replaced_before_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    let mut bao = OpenBao::start(&dir.path().join("bao"), free_port(), Storage::Dev).await.unwrap();
    let admin = bao.admin().await.unwrap();
    admin::create_key(&admin, "transit", "v0").await.unwrap();
    admin::signer_policy(&admin, "v0", "transit", "v0").await.unwrap();
    // Tokens live 2 s and at most 4 s: without renewal the signer fails after 2 s, without
    // a new login after 4 s.
    let (role_id, secret_id) = admin::approle(&admin, "approle", "validator", &["v0"], 2).await.unwrap();
    write_secret(&dir.path().join("secret-id"), &secret_id).unwrap();
    let config = VaultConfig {
        auth: VaultAuth::AppRole { role_id, secret_id_file: dir.path().join("secret-id"), mount: "approle".into() },
        ..VaultConfig::with_token(&bao.address, "v0", 1, "unused".into())
    };
    let signer = VaultSigner::connect(&config).await.unwrap();
    let started = Instant::now();
    let mut height = 0;
    while started.elapsed() < Duration::from_secs(9) {
        height += 1;
        let r = signer.sign(&request(height)).await;
        assert!(r.is_ok(), "sign at {:?} failed: {r:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    bao.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_custom_ca() {
    let dir = tempfile::tempdir().unwrap();
    let mut bao = OpenBao::start(&dir.path().join("bao"), free_port(), Storage::DevTls).await.unwrap();
    assert!(bao.address.starts_with("https://"));
    let admin = bao.admin().await.unwrap();
    let key = admin::create_key(&admin, "transit", "v0").await.unwrap();
    let config = token_config(&bao, &admin, "v0", dir.path()).await;
    let e = config_error(VaultSigner::connect(&config).await);
    assert!(e.contains("cannot log in to Vault") && e.contains("TLS"), "without the CA: {e}");
    let signer = VaultSigner::connect(&VaultConfig { ca_cert: Some(bao.ca_cert()), ..config }).await.unwrap();
    assert!(key.verify(&request(1).bytes, &signer.sign(&request(1)).await.unwrap()));
    bao.stop().await.unwrap();
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A loose secret file's refusal: the ssh-like message with the fix, never the secret.
fn assert_too_open(r: Result<VaultSigner, SignerError>, path: &Path, mode: u32, secret: &str) {
    let e = match r {
        Err(e @ SignerError::SecretFile(SecretFileError::TooOpen { .. })) => e.to_string(),
        other => panic!("expected a refusal of {}, got {:?}", path.display(), other.map(|s| s.public_key())),
    };
    let shown = path.display();
    assert!(e.contains(&format!("permissions {mode:04o} for {shown} are too open; chmod 600 {shown}")), "{e}");
    assert!(!e.contains(secret), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_to_a_remote_vault_and_loose_secret_files_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    // Refused before anything is sent (nothing answers at that address).
    write_secret(&dir.path().join("token"), "hvs.never-sent").unwrap();
    let remote = VaultConfig::with_token("http://10.1.2.3:8200", "v0", 1, dir.path().join("token"));
    let started = Instant::now();
    match VaultSigner::connect(&remote).await {
        Err(SignerError::Transport(e @ TransportError::PlaintextVault { .. })) => {
            let e = e.to_string();
            assert!(e.contains("refusing Vault at http://10.1.2.3:8200") && e.contains("https://"), "{e}");
        }
        other => panic!("expected a refusal, got {:?}", other.map(|s| s.public_key())),
    }
    assert!(started.elapsed() < Duration::from_secs(1), "refused at once, not after a timeout");
    let node_signer = SignerConfig::Vault { vault: remote, state_file: "state.json".into(), max_height: None };
    assert!(matches!(node_signer.check(), Err(SignerError::Transport(TransportError::PlaintextVault { .. }))));

    // Plain http:// to loopback is accepted, by address and as localhost.
    let mut bao = OpenBao::start(&dir.path().join("bao"), free_port(), Storage::Dev).await.unwrap();
    let admin = bao.admin().await.unwrap();
    admin::create_key(&admin, "transit", "v0").await.unwrap();
    let config = token_config(&bao, &admin, "v0", dir.path()).await;
    assert!(config.address.starts_with("http://127.0.0.1:"));
    VaultSigner::connect(&config).await.unwrap();
    let localhost = VaultConfig { address: config.address.replace("127.0.0.1", "localhost"), ..config.clone() };
    VaultSigner::connect(&localhost).await.unwrap();

    // A token file others may read: refused with the chmod hint; 0600 accepted.
    let token_file = dir.path().join("v0-token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    chmod(&token_file, 0o644);
    assert_too_open(VaultSigner::connect(&config).await, &token_file, 0o644, &token);
    chmod(&token_file, 0o600);
    VaultSigner::connect(&config).await.unwrap();

    // The AppRole secret id likewise.
    let (role_id, secret_id) = admin::approle(&admin, "approle", "validator", &["v0"], 60).await.unwrap();
    let secret_file = dir.path().join("secret-id");
    write_secret(&secret_file, &secret_id).unwrap();
    let approle = VaultConfig {
        auth: VaultAuth::AppRole { role_id, secret_id_file: secret_file.clone(), mount: "approle".into() },
        ..config
    };
    chmod(&secret_file, 0o640);
    assert_too_open(VaultSigner::connect(&approle).await, &secret_file, 0o640, &secret_id);
    chmod(&secret_file, 0o600);
    VaultSigner::connect(&approle).await.unwrap();
    bao.stop().await.unwrap();
}
