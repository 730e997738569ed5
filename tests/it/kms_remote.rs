//! The `kms` daemon (remote signer) on a Unix socket with an OpenBao Transit backend, killed
//! with SIGKILL while a validator-like client streams sign requests: no position ever gets
//! two different signatures, the daemon refuses to sign other bytes where it already signed,
//! and the client signs again once the daemon is back (on the socket file the killed daemon
//! left behind).

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;
use std::time::Duration;

use chain_types::Signature;
use kms::remote::{DaemonTarget, RemoteSigner};
use kms::sign_bytes::consensus_bytes;
use kms::vault::admin;
use kms::{SignRequest, Signer, SignerError, Step};
use parking_lot::Mutex;
use testnet::openbao::{write_secret, OpenBao, Storage};
use testnet::signing::spawn_kms;
use tests::free_port;

const CHAIN: &str = "kms-e2e";
const STEPS: [Step; 3] = [Step::Propose, Step::Prevote, Step::Precommit];

fn request(height: u64, step: Step, value: u8) -> SignRequest {
    SignRequest { height, round: 0, step, bytes: consensus_bytes(CHAIN, height, 0, step, [value; 32]) }
}

type Seen = Arc<Mutex<HashMap<(u64, u32, Step), Vec<Signature>>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_holds_across_a_kill_9_of_the_daemon_mid_stream() {
    let dir = tempfile::tempdir().unwrap();
    let mut bao = OpenBao::start(&dir.path().join("bao"), free_port(), Storage::Dev).await.unwrap();
    let admin = bao.admin().await.unwrap();
    let key = admin::create_key(&admin, "transit", "v0").await.unwrap();
    admin::signer_policy(&admin, "v0", "transit", "v0").await.unwrap();
    let kms_dir = dir.path().join("kms");
    std::fs::create_dir_all(&kms_dir).unwrap();
    let token = admin::token(&admin, "v0", "1h").await.unwrap();
    write_secret(&kms_dir.join("vault-token"), &token).unwrap();
    std::fs::write(
        kms_dir.join("kms.toml"),
        format!(
            "listen = \"unix:kms.sock\"\nchain_id = \"{CHAIN}\"\n\n[signer]\nkind = \"vault\"\n\n[signer.vault]\naddress = \"{}\"\nkey_name = \"v0\"\nkey_version = 1\n\n[signer.vault.auth]\nmethod = \"token\"\ntoken_file = \"vault-token\"\n",
            bao.address
        ),
    )
    .unwrap();
    let mut daemon = spawn_kms(&kms_dir).await.unwrap();
    let socket = kms_dir.join("kms.sock");
    assert_eq!(std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777, 0o600, "only its owner connects");
    let target = DaemonTarget::parse("unix:kms.sock", None, &kms_dir).unwrap();
    assert_eq!(target, DaemonTarget::Unix(socket.clone()));
    let signer = RemoteSigner::connect(&target, Duration::from_millis(250), CHAIN).await.unwrap();
    assert_eq!(signer.public_key(), key);
    let e = RemoteSigner::connect(&target, Duration::from_millis(250), "other-chain").await.unwrap_err();
    assert!(e.to_string().contains("signs for chain `kms-e2e`"), "{e}");

    // The stream: every position once, in order, as a validator signs; failures (while the
    // daemon is dead) are skipped like missed votes.
    let seen: Seen = Arc::default();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let streamer = {
        let (signer, seen) = (signer.clone(), seen.clone());
        tokio::spawn(async move {
            let (mut ok, mut failed, mut height) = (0u32, 0u32, 0u64);
            while !*stop_rx.borrow() {
                height += 1;
                for step in STEPS {
                    let r = request(height, step, 1);
                    match signer.sign(&r).await {
                        Ok(sig) => {
                            assert!(key.verify(&r.bytes, &sig));
                            seen.lock().entry(r.position()).or_default().push(sig);
                            ok += 1;
                        }
                        Err(_) => failed += 1,
                    }
                }
            }
            (ok, failed, height)
        })
    };
    let before = wait_for_signatures(&seen, 30).await;
    daemon.kill().await.unwrap(); // SIGKILL, mid-stream
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(socket.exists(), "a killed daemon leaves its socket file; the next one replaces it");
    let _daemon = spawn_kms(&kms_dir).await.unwrap();
    let after = wait_for_signatures(&seen, before + 30).await;
    let _ = stop_tx.send(true);
    let (ok, failed, last) = streamer.await.unwrap();
    assert!(failed > 0, "the kill must have cost some signatures");
    assert!(ok as usize >= after, "{ok} signed");

    // Whatever was signed before the kill stays fixed: other bytes at a signed position
    // are refused, the same bytes get the same signature, lower positions are refused.
    let seen = seen.lock().clone();
    for (pos, sigs) in &seen {
        assert!(sigs.windows(2).all(|w| w[0] == w[1]), "two signatures at {pos:?}: {sigs:?}");
    }
    let (&top, top_sigs) = seen.iter().max_by_key(|(p, _)| **p).unwrap();
    let (h, _, step) = top;
    match signer.sign(&request(h, step, 2)).await {
        Err(SignerError::Refused(m)) => assert!(m.contains("other bytes") || m.contains("below"), "{m}"),
        other => panic!("other bytes at a signed position must be refused, got {other:?}"),
    }
    assert_eq!(signer.sign(&request(h, step, 1)).await.unwrap(), top_sigs[0]);
    assert!(matches!(
        signer.sign(&request(h.saturating_sub(1).max(1), Step::Propose, 1)).await,
        Err(SignerError::Refused(_))
    ));
    assert!(signer.sign(&request(last + 1, Step::Propose, 1)).await.is_ok());
    bao.stop().await.unwrap();
}

/// Waits (bounded) until at least `n` positions are signed; returns how many are.
async fn wait_for_signatures(seen: &Seen, n: usize) -> usize {
    for _ in 0..200 {
        let count = seen.lock().len();
        if count >= n {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} signatures within 10 s");
}
