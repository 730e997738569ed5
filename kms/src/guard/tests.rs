use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use chain_types::SecretKey;
use proptest::prelude::*;

use super::*;
use crate::sign_bytes::consensus_bytes;
use crate::{LocalSigner, Step};

const CHAIN: &str = "guard-test";

/// A local key that counts how often it is asked, and can be made to fail.
struct Backend {
    key: LocalSigner,
    calls: AtomicUsize,
    down: std::sync::atomic::AtomicBool,
}

impl Signer for Backend {
    fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }
    fn sign<'a>(&'a self, request: &'a SignRequest) -> SignFuture<'a> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Box::pin(async { Err(SignerError::Unavailable("backend down".into())) });
        }
        self.key.sign(request)
    }
}

fn backend() -> Arc<Backend> {
    Arc::new(Backend {
        key: LocalSigner::new(SecretKey::from_seed([9; 32])),
        calls: AtomicUsize::new(0),
        down: false.into(),
    })
}

fn config(dir: &tempfile::TempDir) -> GuardConfig {
    GuardConfig { state_file: dir.path().join("state").join("signer_state.json"), max_height: None }
}

fn req(height: u64, round: u32, step: Step, value: u8) -> SignRequest {
    SignRequest { height, round, step, bytes: consensus_bytes(CHAIN, height, round, step, [value; 32]) }
}

fn refused(r: Result<Signature, SignerError>) -> String {
    match r {
        Err(SignerError::Refused(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn refuses_lower_and_conflicting_and_repeats_the_stored_signature() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend();
    let g = Guard::open(b.clone(), CHAIN, &config(&dir)).unwrap();
    let first = g.sign(&req(5, 0, Step::Prevote, 1)).await.unwrap();
    assert_eq!(g.sign(&req(5, 0, Step::Prevote, 1)).await.unwrap(), first, "same bytes, same signature");
    assert_eq!(b.calls.load(Ordering::SeqCst), 1, "the repeat is answered from the watermark");
    assert!(refused(g.sign(&req(5, 0, Step::Prevote, 2)).await).contains("other bytes"));
    assert!(refused(g.sign(&req(5, 0, Step::Propose, 1)).await).contains("below the watermark"));
    assert!(refused(g.sign(&req(4, 9, Step::Precommit, 1)).await).contains("below the watermark"));
    g.sign(&req(5, 0, Step::Precommit, 1)).await.unwrap();
    g.sign(&req(5, 1, Step::Propose, 3)).await.unwrap();
    g.sign(&req(6, 0, Step::Prevote, 3)).await.unwrap();
    assert_eq!(b.calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn survives_reopen_and_persists_before_the_backend_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend();
    let sig = {
        let g = Guard::open(b.clone(), CHAIN, &config(&dir)).unwrap();
        g.sign(&req(7, 2, Step::Precommit, 1)).await.unwrap()
    };
    let g = Guard::open(b.clone(), CHAIN, &config(&dir)).unwrap();
    assert_eq!(g.sign(&req(7, 2, Step::Precommit, 1)).await.unwrap(), sig);
    assert!(refused(g.sign(&req(7, 2, Step::Prevote, 1)).await).contains("below"));

    // The backend is down: the position is taken anyway (it is on disk before the backend
    // is asked), so other bytes there stay refused, across a reopen too.
    b.down.store(true, Ordering::SeqCst);
    assert!(matches!(g.sign(&req(8, 0, Step::Prevote, 1)).await, Err(SignerError::Unavailable(_))));
    drop(g);
    let w = read(&config(&dir).state_file).unwrap().unwrap();
    assert_eq!((w.position(), w.signature), ((8, 0, Step::Prevote), None));
    let g = Guard::open(b.clone(), CHAIN, &config(&dir)).unwrap();
    assert!(refused(g.sign(&req(8, 0, Step::Prevote, 2)).await).contains("other bytes"));
    b.down.store(false, Ordering::SeqCst);
    let sig = g.sign(&req(8, 0, Step::Prevote, 1)).await.unwrap();
    assert_eq!(g.watermark().await.unwrap().signature, Some(sig), "the retry signs the same bytes");
}

#[tokio::test]
async fn refuses_other_chains_garbage_and_heights_above_the_maximum() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = GuardConfig { max_height: Some(10), ..config(&dir) };
    let g = Guard::open(backend(), CHAIN, &cfg).unwrap();
    let other =
        SignRequest { bytes: consensus_bytes("other", 3, 0, Step::Prevote, [1; 32]), ..req(3, 0, Step::Prevote, 1) };
    assert!(refused(g.sign(&other).await).contains("chain `other`"));
    let tx = SignRequest { bytes: b"a transfer".to_vec(), ..req(3, 0, Step::Prevote, 1) };
    assert!(refused(g.sign(&tx).await).contains("vote sign bytes"));
    assert!(refused(g.sign(&req(11, 0, Step::Propose, 1)).await).contains("max_height 10"));
    g.sign(&req(10, 0, Step::Precommit, 1)).await.unwrap();
    assert!(g.watermark().await.is_some_and(|w| w.height == 10));
}

#[tokio::test]
async fn one_holder_per_state_file_and_one_key_per_state() {
    let dir = tempfile::tempdir().unwrap();
    let g = Guard::open(backend(), CHAIN, &config(&dir)).unwrap();
    g.sign(&req(2, 0, Step::Prevote, 1)).await.unwrap();
    let e = Guard::open(backend(), CHAIN, &config(&dir)).unwrap_err().to_string();
    assert!(e.contains("held by another signer"), "{e}");
    drop(g);
    let other = Arc::new(LocalSigner::new(SecretKey::from_seed([1; 32])));
    let e = Guard::open(other, CHAIN, &config(&dir)).unwrap_err().to_string();
    assert!(e.contains("needs its own state file"), "{e}");
}

#[tokio::test]
async fn import_raises_never_lowers_and_only_when_free() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(&dir).state_file;
    let g = Guard::open(backend(), CHAIN, &config(&dir)).unwrap();
    g.sign(&req(20, 1, Step::Prevote, 1)).await.unwrap();
    let exported = g.watermark().await.unwrap();
    assert!(import(&path, exported.clone()).unwrap_err().to_string().contains("held by another"));
    drop(g);

    let fresh = tempfile::tempdir().unwrap();
    let moved = config(&fresh).state_file;
    assert_eq!(import(&moved, exported.clone()).unwrap(), Imported::Written);
    let lower = Watermark { height: 3, ..exported.clone() };
    assert_eq!(import(&moved, lower).unwrap(), Imported::KeptExisting(exported.clone()));
    let g = Guard::open(backend(), CHAIN, &config(&fresh)).unwrap();
    assert!(refused(g.sign(&req(20, 0, Step::Precommit, 1)).await).contains("below"));
    assert!(refused(g.sign(&req(20, 1, Step::Prevote, 2)).await).contains("other bytes"));
    drop(g);
    let stranger = Watermark { public_key: SecretKey::from_seed([2; 32]).public_key(), ..exported };
    assert!(import(&moved, stranger).unwrap_err().to_string().contains("holds the watermark of"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever the order of requests, a position never gets two different signatures and
    /// signed positions only go up.
    #[test]
    fn never_two_signatures_for_one_position(
        requests in proptest::collection::vec((0u64..4, 0u32..3, 0usize..3, 0u8..3, any::<bool>()), 1..40)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut seen: HashMap<(u64, u32, Step), Signature> = HashMap::new();
        let mut highest = None;
        let mut guard = Some(Guard::open(backend(), CHAIN, &config(&dir)).unwrap());
        for (h, r, s, v, reopen) in requests {
            if reopen {
                drop(guard.take());
                guard = Some(Guard::open(backend(), CHAIN, &config(&dir)).unwrap());
            }
            let step = [Step::Propose, Step::Prevote, Step::Precommit][s];
            let request = req(h, r, step, v);
            let g = guard.as_ref().unwrap();
            if let Ok(sig) = rt.block_on(g.sign(&request)) {
                let pos = request.position();
                prop_assert!(highest.is_none_or(|top| pos >= top), "signed below an earlier position");
                highest = Some(pos);
                prop_assert_eq!(*seen.entry(pos).or_insert(sig), sig, "two signatures at {:?}", pos);
            }
        }
    }
}
