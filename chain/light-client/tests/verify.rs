//! The light client against a chain built here with real keys, certificates, Merkle roots and
//! a real Jellyfish Merkle tree: what is genuine verifies, and every tampering is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

use chain_types::merkle::{merkle_path, merkle_root};
use chain_types::{
    sha3_256, to_borsh, validators_hash, AccountId, Action, Block, BlockHeader, CommitCertificate, CommitSignature,
    CryptoHash, ExecutionOutcome, ExecutionStatus, PublicKey, SecretKey, SignedTransaction, Transaction,
    TransferAction,
};
use genesis::{NewGenesisOptions, Preset};
use jmt::mock::MockTreeStore;
use jmt::{JellyfishMerkleTree, KeyHash};
use light_client::wire::{CertifiedHeader, ExecutionProof, LightClientBlock, StateEntryProof, StateProofSet};
use light_client::{LightClient, LightClientError};
use sha3::Sha3_256;

const EPOCH: u64 = 4;

struct Chain {
    chain_id: String,
    genesis: genesis::Genesis,
    /// Secret keys by epoch, in set order.
    keys: Vec<Vec<(AccountId, SecretKey)>>,
}

fn chain() -> Chain {
    let mut g = genesis::generate(&NewGenesisOptions {
        validators: 4,
        preset: Preset::Development,
        chain_id: "light".into(),
        host: "127.0.0.1".into(),
        base_port: 30_000,
        genesis_time_ms: 1_700_000_000_000,
    })
    .unwrap();
    g.genesis.epoch_length = EPOCH;
    let first: Vec<(AccountId, SecretKey)> =
        g.validators.iter().map(|v| (v.consensus.account_id.clone(), v.consensus.secret_key.clone())).collect();
    // Epoch 1: v3 replaced by a new validator v4.
    let mut second = first[..3].to_vec();
    second.push(("v4.acme".parse().unwrap(), SecretKey::from_seed([44; 32])));
    Chain { chain_id: "light".into(), genesis: g.genesis, keys: vec![first, second] }
}

fn pairs(keys: &[(AccountId, SecretKey)]) -> Vec<(AccountId, PublicKey)> {
    keys.iter().map(|(a, k)| (a.clone(), k.public_key())).collect()
}

impl Chain {
    fn epoch(&self, h: u64) -> usize {
        (h.saturating_sub(1) / EPOCH).min(1) as usize
    }

    /// The set deciding `h`.
    fn set(&self, h: u64) -> &[(AccountId, SecretKey)] {
        &self.keys[self.epoch(h)]
    }

    fn header(
        &self,
        h: u64,
        txs: &[SignedTransaction],
        outcome_root: CryptoHash,
        state_root: CryptoHash,
    ) -> BlockHeader {
        BlockHeader {
            height: h,
            prev_hash: sha3_256(&h.to_le_bytes()),
            timestamp_ms: 1_700_000_000_000 + h,
            proposer: self.set(h)[0].0.clone(),
            tx_root: Block::compute_tx_root(txs),
            outcome_root,
            next_bp_hash: validators_hash(pairs(self.set(h + 1)).iter().map(|(a, k)| (a, k))),
            prev_state_root: state_root,
        }
    }

    /// A certificate signed by the first `signers` of the set deciding the header's height.
    fn certify(&self, header: &BlockHeader, signers: usize, chain_id: &str) -> CommitCertificate {
        let hash = header.hash();
        let bytes = CommitCertificate::sign_bytes(chain_id, header.height, 0, hash);
        CommitCertificate {
            height: header.height,
            round: 0,
            block_hash: hash,
            signatures: self.set(header.height)[..signers]
                .iter()
                .enumerate()
                .map(|(i, (_, k))| CommitSignature { validator: i as u16, signature: k.sign(&bytes) })
                .collect(),
        }
    }

    fn light_block(&self, h: u64) -> LightClientBlock {
        let header = self.header(h, &[], CryptoHash::default(), CryptoHash::default());
        let certificate = self.certify(&header, 3, &self.chain_id);
        LightClientBlock { certified: CertifiedHeader { header, certificate }, next_bps: pairs(self.set(h + 1)) }
    }
}

fn transfer(nonce: u64) -> SignedTransaction {
    let sk = SecretKey::from_seed([9; 32]);
    Transaction {
        signer_id: "alice.acme".parse().unwrap(),
        public_key: sk.public_key(),
        nonce,
        receiver_id: "bob.acme".parse().unwrap(),
        block_hash: CryptoHash::default(),
        actions: vec![Action::Transfer(TransferAction { deposit: nonce as u128 })],
    }
    .sign(&sk)
}

fn outcome_bytes(tx: &SignedTransaction) -> Vec<u8> {
    let t = &tx.transaction;
    ExecutionOutcome::leaf_bytes_of(
        &tx.hash(),
        &t.signer_id,
        &t.receiver_id,
        &ExecutionStatus::SuccessValue(vec![]),
        &[],
    )
}

/// A proof of transaction 1 of three in a block at height `h`.
fn execution_proof(c: &Chain, h: u64) -> ExecutionProof {
    let txs: Vec<SignedTransaction> = (1..=3).map(transfer).collect();
    let outcomes: Vec<Vec<u8>> = txs.iter().map(outcome_bytes).collect();
    let leaves: Vec<CryptoHash> = outcomes.iter().map(|o| sha3_256(o)).collect();
    let header = c.header(h, &txs, merkle_root(&leaves), CryptoHash::default());
    let block = Block { header: header.clone(), transactions: txs.clone() };
    let certificate = c.certify(&header, 3, &c.chain_id);
    ExecutionProof {
        certified: CertifiedHeader { header, certificate },
        transaction: txs[1].clone(),
        tx_index: 1,
        tx_path: block.tx_path(1).unwrap(),
        outcome: outcomes[1].clone(),
        outcome_path: merkle_path(&leaves, 1).unwrap(),
    }
}

/// Follows the chain from genesis to height `to` through the light blocks the node would
/// answer (each epoch's last block, then `to`).
fn follow(c: &Chain, to: u64) -> LightClient {
    let mut lc = LightClient::from_genesis(&c.genesis);
    let mut h = 0;
    while h < to {
        let next = ((h / EPOCH) + 1) * EPOCH;
        h = next.min(to);
        lc.advance(&c.light_block(h)).unwrap();
    }
    lc
}

#[test]
fn headers_verify_across_a_validator_set_change_and_tampering_is_refused() {
    let c = chain();
    let lc = follow(&c, EPOCH + 2);
    assert_eq!(lc.head(), EPOCH + 2);
    assert_eq!(lc.sets()[&1], pairs(&c.keys[1]), "epoch 1's set learned from epoch 0's last header");
    // A proof in the new epoch and one in the old verify.
    for h in [EPOCH + 1, 2] {
        let v = lc.verify_transaction(&execution_proof(&c, h), &transfer(2).hash()).unwrap();
        assert_eq!((v.block_height, v.tx_hash), (h, transfer(2).hash()));
    }

    // Too few signatures.
    let mut p = execution_proof(&c, EPOCH + 1);
    p.certified.certificate = c.certify(&p.certified.header, 2, &c.chain_id);
    assert!(matches!(lc.verify_transaction(&p, &transfer(2).hash()), Err(LightClientError::Certificate { .. })));
    // Another chain's votes.
    p.certified.certificate = c.certify(&p.certified.header, 3, "other-chain");
    assert!(matches!(lc.verify_transaction(&p, &transfer(2).hash()), Err(LightClientError::Certificate { .. })));
    // The old set signing in the new epoch (the removed validator among them).
    let mut p = execution_proof(&c, EPOCH + 1);
    let old = Chain { keys: vec![c.keys[0].clone(), c.keys[0].clone()], ..chain() };
    p.certified.certificate = old.certify(&p.certified.header, 4, &c.chain_id);
    assert!(matches!(lc.verify_transaction(&p, &transfer(2).hash()), Err(LightClientError::Certificate { .. })));
    // A tampered header.
    let mut p = execution_proof(&c, EPOCH + 1);
    p.certified.header.timestamp_ms += 1;
    assert!(matches!(lc.verify_transaction(&p, &transfer(2).hash()), Err(LightClientError::Certificate { .. })));
    // Another transaction, a tampered path, a tampered outcome.
    let mut p = execution_proof(&c, EPOCH + 1);
    p.transaction = transfer(7);
    assert!(matches!(
        lc.verify_transaction(&p, &transfer(7).hash()),
        Err(LightClientError::TransactionNotIncluded { .. })
    ));
    // A genuine proof of another transaction than the one asked about.
    let p = execution_proof(&c, EPOCH + 1);
    assert!(matches!(lc.verify_transaction(&p, &transfer(1).hash()), Err(LightClientError::OtherTransaction { .. })));
    let mut p = execution_proof(&c, EPOCH + 1);
    p.tx_path[0].hash.0[0] ^= 1;
    assert!(matches!(
        lc.verify_transaction(&p, &transfer(2).hash()),
        Err(LightClientError::TransactionNotIncluded { .. })
    ));
    let mut p = execution_proof(&c, EPOCH + 1);
    let t = &p.transaction.transaction;
    let failure = ExecutionStatus::SuccessValue(b"forged".to_vec());
    p.outcome = to_borsh(&(p.transaction.hash(), &t.signer_id, &t.receiver_id, failure, Vec::<String>::new()));
    assert!(matches!(lc.verify_transaction(&p, &transfer(2).hash()), Err(LightClientError::OutcomeNotIncluded { .. })));
    // A block of an epoch the client has not reached.
    let p = execution_proof(&c, 3 * EPOCH);
    assert!(matches!(lc.verify_transaction(&p, &transfer(2).hash()), Err(LightClientError::UnknownEpoch { .. })));
}

#[test]
fn a_next_set_is_taken_only_from_a_certified_epoch_end() {
    let c = chain();
    let mut lc = LightClient::from_genesis(&c.genesis);
    // A forged set for the next epoch: the header commits to the real one.
    let mut b = c.light_block(EPOCH);
    b.next_bps = pairs(&c.keys[0]);
    b.next_bps[3].1 = SecretKey::from_seed([66; 32]).public_key();
    assert!(matches!(lc.advance(&b), Err(LightClientError::NextSetMismatch { .. })));
    // A header that names a new set mid-epoch (with the set to match).
    let mut mid = c.light_block(2);
    mid.next_bps = pairs(&c.keys[1]);
    mid.certified.header.next_bp_hash = validators_hash(mid.next_bps.iter().map(|(a, k)| (a, k)));
    mid.certified.certificate = c.certify(&mid.certified.header, 3, &c.chain_id);
    assert_eq!(lc.advance(&mid), Err(LightClientError::SetChangedMidEpoch { height: 2 }));
    // Too few signatures on the epoch end.
    let mut weak = c.light_block(EPOCH);
    weak.certified.certificate = c.certify(&weak.certified.header, 2, &c.chain_id);
    assert!(matches!(lc.advance(&weak), Err(LightClientError::Certificate { .. })));
    assert_eq!(lc.head(), 0, "nothing refused moved the client");
    lc.advance(&c.light_block(EPOCH)).unwrap();
    assert!(matches!(lc.advance(&c.light_block(EPOCH)), Err(LightClientError::NotNewer { .. })));
}

#[test]
fn state_entries_and_absences_verify_against_a_certified_root() {
    let c = chain();
    let lc = follow(&c, EPOCH + 3);
    let store = MockTreeStore::default();
    let tree: JellyfishMerkleTree<'_, MockTreeStore, Sha3_256> = JellyfishMerkleTree::new(&store);
    let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..20u8).map(|i| (vec![b'd', i], vec![i; 3])).collect();
    let (root, batch) =
        tree.put_value_set(entries.iter().map(|(k, v)| (KeyHash::with::<Sha3_256>(k), Some(v.clone()))), 0).unwrap();
    store.write_tree_update_batch(batch).unwrap();
    let prove = |key: &[u8]| {
        let (value, proof) = tree.get_with_proof(KeyHash::with::<Sha3_256>(key), 0).unwrap();
        StateEntryProof { key: key.to_vec(), value, proof: borsh::to_vec(&proof).unwrap() }
    };
    let h = EPOCH + 2;
    let header = c.header(h, &[], CryptoHash::default(), CryptoHash(root.0));
    let certificate = c.certify(&header, 3, &c.chain_id);
    let set = StateProofSet {
        root_block: CertifiedHeader { header, certificate },
        entries: vec![prove(&[b'd', 4]), prove(b"absent")],
    };
    let verified = lc.verify_state(&set).unwrap();
    assert_eq!(verified[0].value, Some(vec![4; 3]));
    assert_eq!(verified[1].value, None, "absence is proven too");

    let mut forged = set.clone();
    forged.entries[0].value = Some(vec![5; 3]);
    assert!(matches!(lc.verify_state(&forged), Err(LightClientError::StateProof { .. })));
    let mut hidden = set.clone();
    hidden.entries[0].value = None;
    assert!(matches!(lc.verify_state(&hidden), Err(LightClientError::StateProof { .. })));
    let mut other_proof = set.clone();
    other_proof.entries[0].proof = prove(&[b'd', 5]).proof;
    assert!(matches!(lc.verify_state(&other_proof), Err(LightClientError::StateProof { .. })));
    let mut other_root = set.clone();
    other_root.root_block.header.prev_state_root = CryptoHash([1; 32]);
    assert!(matches!(lc.verify_state(&other_root), Err(LightClientError::Certificate { .. })), "the root is certified");
}
