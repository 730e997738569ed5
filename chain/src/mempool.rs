//! Pending transactions: deduplicated by hash, ordered per access key by nonce, bounded.
//! Only fully validated transactions (signature included) are inserted.

use std::collections::{BTreeMap, HashMap};

use chain_types::{AccountId, CryptoHash, Nonce, PublicKey, SignedTransaction};
use parking_lot::Mutex;
use tokio::sync::Notify;

type KeyId = (AccountId, PublicKey);

#[derive(Debug, Default)]
struct Inner {
    /// hash -> (arrival sequence, transaction)
    by_hash: HashMap<CryptoHash, (u64, SignedTransaction)>,
    /// per signer key: nonce -> hashes (two different transactions may share a nonce)
    by_key: HashMap<KeyId, BTreeMap<Nonce, Vec<CryptoHash>>>,
    next_seq: u64,
}

#[derive(Debug)]
pub struct Mempool {
    inner: Mutex<Inner>,
    capacity: usize,
    arrived: Notify,
}

/// Why a transaction was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertError {
    Full { capacity: usize },
}

impl Mempool {
    pub fn new(capacity: usize) -> Self {
        Mempool { inner: Mutex::new(Inner::default()), capacity, arrived: Notify::new() }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn contains(&self, hash: &CryptoHash) -> bool {
        self.inner.lock().by_hash.contains_key(hash)
    }

    /// Adds a validated transaction. Returns false if it was already present.
    pub fn insert(&self, tx: SignedTransaction) -> Result<bool, InsertError> {
        let hash = tx.hash();
        self.insert_hashed(tx, hash)
    }

    /// [`Mempool::insert`] for a caller that has the hash already.
    pub fn insert_hashed(&self, tx: SignedTransaction, hash: CryptoHash) -> Result<bool, InsertError> {
        {
            let mut inner = self.inner.lock();
            if inner.by_hash.contains_key(&hash) {
                return Ok(false);
            }
            if inner.by_hash.len() >= self.capacity {
                return Err(InsertError::Full { capacity: self.capacity });
            }
            let t = &tx.transaction;
            let key = (t.signer_id.clone(), t.public_key);
            inner.by_key.entry(key).or_default().entry(t.nonce).or_default().push(hash);
            let seq = inner.next_seq;
            inner.next_seq += 1;
            inner.by_hash.insert(hash, (seq, tx));
        }
        self.arrived.notify_one();
        Ok(true)
    }

    /// Waits until a transaction arrives (returns at once if one arrived since the last wait).
    pub async fn wait_for_transaction(&self) {
        self.arrived.notified().await;
    }

    /// Up to `max` transactions for a block, without removing them. Signer keys are served
    /// in the order their oldest pending transaction arrived; each key's in nonce order.
    pub fn select(&self, max: usize) -> Vec<SignedTransaction> {
        let inner = self.inner.lock();
        let mut groups: Vec<(u64, &BTreeMap<Nonce, Vec<CryptoHash>>)> = inner
            .by_key
            .values()
            .map(|g| {
                let first = g
                    .values()
                    .flatten()
                    .filter_map(|h| inner.by_hash.get(h))
                    .map(|(s, _)| *s)
                    .min()
                    .unwrap_or(u64::MAX);
                (first, g)
            })
            .collect();
        groups.sort_by_key(|(seq, _)| *seq);
        groups
            .into_iter()
            .flat_map(|(_, g)| g.values().flatten())
            .filter_map(|h| inner.by_hash.get(h).map(|(_, tx)| tx.clone()))
            .take(max)
            .collect()
    }

    /// Drops transactions that were included in a committed block.
    pub fn remove(&self, txs: &[SignedTransaction]) {
        let mut inner = self.inner.lock();
        for tx in txs {
            let hash = tx.hash();
            if inner.by_hash.remove(&hash).is_none() {
                continue;
            }
            let t = &tx.transaction;
            let key = (t.signer_id.clone(), t.public_key);
            if let Some(group) = inner.by_key.get_mut(&key) {
                if let Some(hashes) = group.get_mut(&t.nonce) {
                    hashes.retain(|h| h != &hash);
                    if hashes.is_empty() {
                        group.remove(&t.nonce);
                    }
                }
                if group.is_empty() {
                    inner.by_key.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_types::{Action, SecretKey, Transaction, TransferAction};

    fn tx(signer: &str, seed: u8, nonce: u64) -> SignedTransaction {
        let sk = SecretKey::from_seed([seed; 32]);
        Transaction {
            signer_id: signer.parse().unwrap(),
            public_key: sk.public_key(),
            nonce,
            receiver_id: "bob.acme".parse().unwrap(),
            block_hash: CryptoHash::default(),
            actions: vec![Action::Transfer(TransferAction { deposit: 1 })],
        }
        .sign(&sk)
    }

    #[test]
    fn dedup_bound_and_nonce_order() {
        let pool = Mempool::new(3);
        assert_eq!(pool.insert(tx("a.acme", 1, 5)), Ok(true));
        assert_eq!(pool.insert(tx("a.acme", 1, 5)), Ok(false), "same hash is a duplicate");
        assert_eq!(pool.insert(tx("b.acme", 2, 9)), Ok(true));
        assert_eq!(pool.insert(tx("a.acme", 1, 3)), Ok(true));
        assert_eq!(pool.insert(tx("c.acme", 3, 1)), Err(InsertError::Full { capacity: 3 }));
        let picked: Vec<_> =
            pool.select(10).iter().map(|t| (t.transaction.signer_id.to_string(), t.transaction.nonce)).collect();
        assert_eq!(picked, vec![("a.acme".into(), 3), ("a.acme".into(), 5), ("b.acme".into(), 9)]);
        let first_two = pool.select(2);
        pool.remove(&first_two);
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.select(10)[0].transaction.nonce, 9);
    }
}
