//! What each stage a transaction passes through costs on this machine, per transaction:
//! JSON-RPC ingress (body, base64, borsh, hash), signature checks (one core and every core),
//! admission (stateful checks and the mempool), gossip encoding and decoding, execution,
//! the Merkle update, the store commit. Run with `cargo bench -p chain --bench stages`; the
//! ceiling these give is in docs/BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use base64::Engine as _;
use chain::consensus::{build_block, commit};
use chain::network::NetMessage;
use chain::node::{init_store, Node};
use chain::runtime::{BlockContext, Runtime};
use chain::store::Store;
use chain::verification::verify_signatures;
use chain_types::{
    to_borsh, verify_signatures_batch, Action, CommitCertificate, CryptoHash, SignedTransaction, Transaction,
    TransferAction,
};
use contracts::ModuleRegistry;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use genesis::{KeyFile, NewGenesisOptions, Preset};

/// Transactions per measured batch: one full development block.
const BLOCK: usize = 1000;

struct Setup {
    _dir: tempfile::TempDir,
    node: std::sync::Arc<Node>,
    runtime: Runtime,
    accounts: Vec<KeyFile>,
    nonce: u64,
}

impl Setup {
    fn new() -> Setup {
        let mut g = genesis::generate(&NewGenesisOptions {
            validators: 1,
            preset: Preset::Development,
            chain_id: "stages".into(),
            host: "127.0.0.1".into(),
            base_port: 24000,
            genesis_time_ms: 1_700_000_000_000,
        })
        .unwrap();
        g.add_funded_accounts("load", BLOCK, 10u128.pow(24)).unwrap();
        let accounts: Vec<KeyFile> =
            g.accounts.iter().filter(|a| a.account_id.as_str().starts_with("load")).cloned().collect();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        init_store(&Store::open(&db).unwrap(), &g.genesis).unwrap();
        let node = Node::open(&db, g.genesis.clone(), ModuleRegistry::standard(), None).unwrap();
        let runtime = Runtime::new(&g.genesis, ModuleRegistry::standard());
        Setup { _dir: dir, node, runtime, accounts, nonce: 0 }
    }

    /// One transfer from each account to the next, with the next nonce.
    fn transfers(&mut self) -> Vec<SignedTransaction> {
        self.nonce += 1;
        let recent = self.node.store().head_block().unwrap().unwrap().block.hash();
        let n = self.accounts.len();
        (0..n)
            .map(|i| {
                let (from, to) = (&self.accounts[i], &self.accounts[(i + 1) % n]);
                Transaction {
                    signer_id: from.account_id.clone(),
                    public_key: from.public_key,
                    nonce: self.nonce,
                    receiver_id: to.account_id.clone(),
                    block_hash: recent,
                    actions: vec![Action::Transfer(TransferAction { deposit: 1 })],
                }
                .sign(&from.secret_key)
            })
            .collect()
    }

    fn context(&self) -> BlockContext<'_> {
        let head = self.node.store().head_block().unwrap().unwrap().block.header;
        BlockContext {
            chain_id: "stages",
            height: head.height + 1,
            timestamp_ms: head.timestamp_ms + 1,
            validity_blocks: self.node.genesis().transaction_validity_blocks,
            store: self.node.store(),
        }
    }
}

fn stages(c: &mut Criterion) {
    let mut s = Setup::new();
    let txs = s.transfers();
    let hashes: Vec<CryptoHash> = txs.iter().map(SignedTransaction::hash).collect();
    let refs: Vec<&SignedTransaction> = txs.iter().collect();
    let mut g = c.benchmark_group("per 1000 transfers");
    g.throughput(Throughput::Elements(BLOCK as u64));
    g.sample_size(20);

    let bodies: Vec<Vec<u8>> = txs
        .iter()
        .map(|t| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(to_borsh(t));
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "broadcast_tx_async", "params": [b64]})
                .to_string()
                .into_bytes()
        })
        .collect();
    g.bench_function("rpc ingress: JSON, base64, borsh, hash", |b| {
        b.iter(|| {
            for body in &bodies {
                let v: serde_json::Value = serde_json::from_slice(body).unwrap();
                let bytes = base64::engine::general_purpose::STANDARD.decode(v["params"][0].as_str().unwrap()).unwrap();
                let tx: SignedTransaction = borsh::from_slice(&bytes).unwrap();
                black_box(tx.hash());
            }
        })
    });
    g.bench_function("signatures: one core, batches of 64", |b| {
        b.iter(|| {
            for (t, h) in refs.chunks(64).zip(hashes.chunks(64)) {
                assert!(verify_signatures_batch(t, h));
            }
        })
    });
    g.bench_function("signatures: every core (chain::verification)", |b| {
        b.iter(|| assert!(verify_signatures(&refs, &hashes).iter().all(|ok| *ok)))
    });
    let batch = NetMessage::Transactions(txs.clone());
    g.bench_function("gossip: encode and decode a batch", |b| {
        b.iter(|| {
            let bytes = to_borsh(&batch);
            black_box(borsh::from_slice::<NetMessage>(&bytes).unwrap());
        })
    });
    g.bench_function("admission: signatures, state checks, mempool", |b| {
        b.iter_batched(
            || s.node.mempool().remove(&txs),
            |()| assert_eq!(s.node.accept_from_peer(txs.clone()), BLOCK),
            BatchSize::PerIteration,
        )
    });
    s.node.mempool().remove(&txs);
    g.bench_function("execution (state changes, no Merkle)", |b| {
        b.iter(|| black_box(s.runtime.apply_block(&s.context(), &txs, false).unwrap()))
    });
    let changes = s.runtime.apply_block(&s.context(), &txs, false).unwrap().changes;
    g.bench_function("Merkle update (JMT)", |b| b.iter(|| black_box(s.node.store().prepare_tree(&changes).unwrap())));
    let node = s.node.clone();
    g.bench_function("store commit (one fsynced batch)", |b| {
        b.iter_batched(
            || {
                let txs = s.transfers();
                for tx in txs {
                    s.node.mempool().insert(tx).unwrap();
                }
                let head = s.node.store().head_block().unwrap().unwrap().block.header;
                let proposer = s.node.genesis().validators[0].account_id.clone();
                build_block(&s.node, proposer, head.timestamp_ms + 1).unwrap()
            },
            |executed| {
                let certificate = CommitCertificate {
                    height: executed.block.header.height,
                    round: 0,
                    block_hash: executed.block.hash(),
                    signatures: Vec::new(),
                };
                commit(&node, executed, certificate).unwrap();
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
