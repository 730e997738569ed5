//! Transaction signatures checked on every core: a batch (RPC submissions gathered while the
//! previous batch was checked, or a peer's gossip) is split into chunks, each verified with
//! ed25519 batch verification on the rayon pool; a chunk that fails is checked one by one to
//! find the bad signatures. Each signature is verified once per node: what passes here enters
//! the mempool as verified, and a block's transactions found there with the same signature
//! are not checked again.

use chain_types::{verify_signatures_batch, CryptoHash, SignedTransaction};
use rayon::prelude::*;

/// Transactions per batch verification: large enough to amortise, small enough that both
/// cores get work from a few hundred arrivals.
const CHUNK: usize = 64;

/// Whether each transaction's signature is valid over its hash, in order.
pub fn verify_signatures(txs: &[&SignedTransaction], hashes: &[CryptoHash]) -> Vec<bool> {
    debug_assert_eq!(txs.len(), hashes.len());
    txs.par_chunks(CHUNK)
        .zip(hashes.par_chunks(CHUNK))
        .flat_map_iter(|(txs, hashes)| {
            let all = verify_signatures_batch(txs, hashes);
            txs.iter().map(move |t| all || t.verify_signature()).collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_types::{Action, SecretKey, Signature, Transaction, TransferAction};

    #[test]
    fn bad_signatures_are_singled_out_in_order() {
        let sk = SecretKey::from_seed([4; 32]);
        let txs: Vec<SignedTransaction> = (0..300u64)
            .map(|nonce| {
                let mut tx = Transaction {
                    signer_id: "alice.acme".parse().unwrap(),
                    public_key: sk.public_key(),
                    nonce,
                    receiver_id: "bob.acme".parse().unwrap(),
                    block_hash: CryptoHash::default(),
                    actions: vec![Action::Transfer(TransferAction { deposit: 1 })],
                }
                .sign(&sk);
                if nonce % 97 == 5 {
                    tx.signature = Signature([7; 64]);
                }
                tx
            })
            .collect();
        let hashes: Vec<CryptoHash> = txs.iter().map(SignedTransaction::hash).collect();
        let refs: Vec<&SignedTransaction> = txs.iter().collect();
        let ok = verify_signatures(&refs, &hashes);
        let bad: Vec<usize> = ok.iter().enumerate().filter(|(_, v)| !**v).map(|(i, _)| i).collect();
        assert_eq!(bad, vec![5, 102, 199, 296]);
    }
}
