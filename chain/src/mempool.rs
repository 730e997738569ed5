//! Pending transactions: deduplicated by hash, ordered per access key by nonce, bounded in
//! total and per signer account. Only fully validated transactions (signature included) are
//! inserted.
//!
//! # Invariants
//! - At most `capacity` transactions and `max_bytes` bytes in all, and at most
//!   `per_account` transactions per signer account (nonce gaps are allowed, so without the
//!   last bound one account could fill the pool; its bytes are bounded by that count times
//!   the transaction size limit).
//! - For each signer the pool keeps the count and the summed deposits of its pending
//!   transactions; `insert` adds to them and `remove` (on commit) subtracts, so a committed
//!   block frees its signers' slots and the accounting always equals the pool's content.
//! - A checked insert is refused when the signer's pending deposits plus this
//!   transaction's exceed the balance the caller read at the head: one account cannot queue
//!   more spending than it holds.

use std::collections::{BTreeMap, HashMap};

use chain_types::{AccountId, Balance, CryptoHash, Nonce, PublicKey, SignedTransaction};
use parking_lot::Mutex;
use tokio::sync::Notify;

type KeyId = (AccountId, PublicKey);

#[derive(Debug)]
struct Entry {
    /// Arrival order.
    seq: u64,
    /// What the transaction spends from its signer (its deposits).
    cost: Balance,
    /// Its borsh size.
    bytes: usize,
    /// Its digest ([`SignedTransaction::digest`]): how proposals name it.
    digest: CryptoHash,
    tx: SignedTransaction,
}

/// One signer's pending transactions, summed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub count: usize,
    pub cost: Balance,
}

#[derive(Debug, Default)]
struct Inner {
    by_hash: HashMap<CryptoHash, Entry>,
    /// digest -> hash
    by_digest: HashMap<CryptoHash, CryptoHash>,
    /// per signer key: nonce -> hashes (two different transactions may share a nonce)
    by_key: HashMap<KeyId, BTreeMap<Nonce, Vec<CryptoHash>>>,
    by_signer: HashMap<AccountId, Pending>,
    next_seq: u64,
    bytes: usize,
}

#[derive(Debug)]
pub struct Mempool {
    inner: Mutex<Inner>,
    capacity: usize,
    per_account: usize,
    max_bytes: usize,
    arrived: Notify,
}

/// What a transaction spends and what its signer holds at the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spend {
    pub cost: Balance,
    pub balance: Balance,
}

/// Why a transaction was not added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsertError {
    #[error("mempool is full ({capacity} transactions)")]
    Full { capacity: usize },
    #[error("mempool is full ({held} transactions, {max_bytes} bytes)")]
    FullBytes { held: usize, max_bytes: usize },
    #[error("{signer_id} already has {limit} pending transactions, the most one account may have")]
    AccountFull { signer_id: AccountId, limit: usize },
    #[error("{signer_id} has {balance}; its pending transactions spend {pending} and this one {cost}")]
    NotEnoughBalance { signer_id: AccountId, balance: Balance, pending: Balance, cost: Balance },
}

/// The deposits `tx` moves from its signer (saturating: an overflowing sum is refused by
/// validation before it gets here).
pub fn deposits(tx: &SignedTransaction) -> Balance {
    tx.transaction.actions.iter().fold(0, |acc: Balance, a| acc.saturating_add(a.deposit()))
}

impl Mempool {
    /// A pool of at most `capacity` transactions, `per_account` of them per signer.
    pub fn new(capacity: usize, per_account: usize) -> Self {
        Mempool {
            inner: Mutex::new(Inner::default()),
            capacity,
            per_account,
            max_bytes: usize::MAX,
            arrived: Notify::new(),
        }
    }

    /// The same pool, holding at most `max_bytes` bytes of transactions.
    pub fn with_max_bytes(self, max_bytes: usize) -> Self {
        Mempool { max_bytes, ..self }
    }

    /// Bytes of the transactions held.
    pub fn bytes(&self) -> usize {
        self.inner.lock().bytes
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

    pub fn per_account(&self) -> usize {
        self.per_account
    }

    pub fn contains(&self, hash: &CryptoHash) -> bool {
        self.inner.lock().by_hash.contains_key(hash)
    }

    /// Whether this very signed transaction (hash and signature) is pending: only then was
    /// its signature verified when it was admitted.
    pub fn contains_signed(&self, tx: &SignedTransaction, hash: &CryptoHash) -> bool {
        self.inner.lock().by_hash.get(hash).is_some_and(|e| e.tx.signature == tx.signature)
    }

    /// The pending transactions with these digests, in order (`None` for those not here).
    pub fn by_digests(&self, digests: &[CryptoHash]) -> Vec<Option<SignedTransaction>> {
        let inner = self.inner.lock();
        digests
            .iter()
            .map(|d| inner.by_digest.get(d).and_then(|h| inner.by_hash.get(h)).map(|e| e.tx.clone()))
            .collect()
    }

    /// What `signer` has pending.
    pub fn pending(&self, signer: &AccountId) -> Pending {
        self.inner.lock().by_signer.get(signer).copied().unwrap_or_default()
    }

    /// Adds a transaction without a balance check (both bounds still apply). Returns false
    /// if it was already present.
    pub fn insert(&self, tx: SignedTransaction) -> Result<bool, InsertError> {
        let hash = tx.hash();
        let spend = Spend { cost: deposits(&tx), balance: Balance::MAX };
        self.insert_hashed(tx, hash, spend)
    }

    /// Adds a validated transaction whose signer holds `spend.balance` at the head. Returns
    /// false if it was already present.
    pub fn insert_hashed(&self, tx: SignedTransaction, hash: CryptoHash, spend: Spend) -> Result<bool, InsertError> {
        let encoded = chain_types::to_borsh(&tx);
        let (bytes, digest) = (encoded.len(), chain_types::sha3_256(&encoded));
        {
            let mut inner = self.inner.lock();
            if inner.by_hash.contains_key(&hash) {
                return Ok(false);
            }
            if inner.by_hash.len() >= self.capacity {
                return Err(InsertError::Full { capacity: self.capacity });
            }
            if inner.bytes.saturating_add(bytes) > self.max_bytes {
                return Err(InsertError::FullBytes { held: inner.by_hash.len(), max_bytes: self.max_bytes });
            }
            let t = &tx.transaction;
            let signer = inner.by_signer.get(&t.signer_id).copied().unwrap_or_default();
            if signer.count >= self.per_account {
                return Err(InsertError::AccountFull { signer_id: t.signer_id.clone(), limit: self.per_account });
            }
            let total = signer.cost.checked_add(spend.cost).filter(|total| *total <= spend.balance);
            let Some(total) = total else {
                return Err(InsertError::NotEnoughBalance {
                    signer_id: t.signer_id.clone(),
                    balance: spend.balance,
                    pending: signer.cost,
                    cost: spend.cost,
                });
            };
            inner.by_signer.insert(t.signer_id.clone(), Pending { count: signer.count + 1, cost: total });
            let key = (t.signer_id.clone(), t.public_key);
            inner.by_key.entry(key).or_default().entry(t.nonce).or_default().push(hash);
            let seq = inner.next_seq;
            inner.next_seq += 1;
            inner.bytes += bytes;
            inner.by_digest.insert(digest, hash);
            inner.by_hash.insert(hash, Entry { seq, cost: spend.cost, bytes, digest, tx });
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
                let first =
                    g.values().flatten().filter_map(|h| inner.by_hash.get(h)).map(|e| e.seq).min().unwrap_or(u64::MAX);
                (first, g)
            })
            .collect();
        groups.sort_by_key(|(seq, _)| *seq);
        groups
            .into_iter()
            .flat_map(|(_, g)| g.values().flatten())
            .filter_map(|h| inner.by_hash.get(h).map(|e| e.tx.clone()))
            .take(max)
            .collect()
    }

    /// Drops transactions that were included in a committed block, and their share of
    /// their signers' pending count and spend.
    pub fn remove(&self, txs: &[SignedTransaction]) {
        let mut inner = self.inner.lock();
        for tx in txs {
            let hash = tx.hash();
            let Some(entry) = inner.by_hash.remove(&hash) else { continue };
            inner.by_digest.remove(&entry.digest);
            inner.bytes -= entry.bytes;
            let t = &tx.transaction;
            if let Some(p) = inner.by_signer.get_mut(&t.signer_id) {
                p.count = p.count.saturating_sub(1);
                p.cost = p.cost.saturating_sub(entry.cost);
                if p.count == 0 {
                    inner.by_signer.remove(&t.signer_id);
                }
            }
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
        pay(signer, seed, nonce, 1)
    }

    fn pay(signer: &str, seed: u8, nonce: u64, deposit: Balance) -> SignedTransaction {
        let sk = SecretKey::from_seed([seed; 32]);
        Transaction {
            signer_id: signer.parse().unwrap(),
            public_key: sk.public_key(),
            nonce,
            receiver_id: "bob.acme".parse().unwrap(),
            block_hash: CryptoHash::default(),
            actions: vec![Action::Transfer(TransferAction { deposit })],
        }
        .sign(&sk)
    }

    #[test]
    fn dedup_bound_and_nonce_order() {
        let pool = Mempool::new(3, 10);
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

    #[test]
    fn transactions_are_found_by_digest_until_removed() {
        let pool = Mempool::new(10, 10);
        let (a, b) = (tx("a.acme", 1, 1), tx("b.acme", 2, 1));
        pool.insert(a.clone()).unwrap();
        pool.insert(b.clone()).unwrap();
        let mut resigned = a.clone();
        resigned.signature.0[0] ^= 1;
        let asked = [b.digest(), resigned.digest(), a.digest()];
        assert_eq!(
            pool.by_digests(&asked),
            vec![Some(b.clone()), None, Some(a.clone())],
            "a digest names one signed copy"
        );
        pool.remove(std::slice::from_ref(&a));
        assert_eq!(pool.by_digests(&asked), vec![Some(b), None, None]);
    }

    #[test]
    fn bytes_are_bounded_and_freed_on_remove() {
        let one = borsh::object_length(&tx("a.acme", 1, 1)).unwrap();
        let pool = Mempool::new(100, 10).with_max_bytes(2 * one);
        assert_eq!(pool.insert(tx("a.acme", 1, 1)), Ok(true));
        assert_eq!(pool.insert(tx("b.acme", 2, 1)), Ok(true));
        assert_eq!(pool.bytes(), 2 * one);
        assert_eq!(pool.insert(tx("c.acme", 3, 1)), Err(InsertError::FullBytes { held: 2, max_bytes: 2 * one }));
        pool.remove(&pool.select(1));
        assert_eq!(pool.bytes(), one);
        assert_eq!(pool.insert(tx("c.acme", 3, 1)), Ok(true));
    }

    #[test]
    fn per_account_quota_counts_every_key_of_the_signer_and_frees_on_remove() {
        let pool = Mempool::new(100, 2);
        let (k1, k2, k3) = (tx("a.acme", 1, 1), tx("a.acme", 2, 1), tx("a.acme", 1, 7));
        assert_eq!(pool.insert(k1.clone()), Ok(true));
        assert_eq!(pool.insert(k2), Ok(true), "a second key of the same account");
        let full = InsertError::AccountFull { signer_id: "a.acme".parse().unwrap(), limit: 2 };
        assert_eq!(pool.insert(k3.clone()), Err(full), "a nonce gap does not help");
        assert_eq!(pool.insert(tx("b.acme", 3, 1)), Ok(true), "another account still gets in");
        pool.remove(std::slice::from_ref(&k1));
        assert_eq!(pool.pending(&"a.acme".parse().unwrap()), Pending { count: 1, cost: 1 });
        assert_eq!(pool.insert(k3), Ok(true));
        pool.remove(&pool.select(10));
        assert!(pool.is_empty());
        assert_eq!(pool.pending(&"a.acme".parse().unwrap()), Pending::default());
    }

    #[test]
    fn pending_spend_is_checked_against_the_balance() {
        let pool = Mempool::new(100, 10);
        let spend = |tx: &SignedTransaction, balance| Spend { cost: deposits(tx), balance };
        let (a, b, c) = (pay("a.acme", 1, 1, 60), pay("a.acme", 1, 2, 50), pay("a.acme", 1, 3, 40));
        assert_eq!(pool.insert_hashed(a.clone(), a.hash(), spend(&a, 100)), Ok(true));
        let refused = pool.insert_hashed(b.clone(), b.hash(), spend(&b, 100));
        let why =
            InsertError::NotEnoughBalance { signer_id: "a.acme".parse().unwrap(), balance: 100, pending: 60, cost: 50 };
        assert_eq!(refused, Err(why));
        assert_eq!(pool.insert_hashed(c.clone(), c.hash(), spend(&c, 100)), Ok(true), "exactly the balance");
        // `a` commits: the head balance drops by 60 and so does the pending spend.
        pool.remove(std::slice::from_ref(&a));
        assert_eq!(
            pool.insert_hashed(b.clone(), b.hash(), spend(&b, 40)),
            Err(InsertError::NotEnoughBalance {
                signer_id: "a.acme".parse().unwrap(),
                balance: 40,
                pending: 40,
                cost: 50
            })
        );
        assert_eq!(pool.insert_hashed(b.clone(), b.hash(), spend(&b, 90)), Ok(true));
    }
}
