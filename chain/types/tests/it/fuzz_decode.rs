//! Fuzz target (bolero): decoding bytes as a `SignedTransaction` never panics, and whatever
//! decodes re-encodes to exactly the same bytes. Under `cargo test` bolero runs a bounded
//! random sample (`BOLERO_RANDOM_ITERATIONS`, 1000 by default): raw bytes, and the
//! near-api-js vectors with random byte edits and truncations (so inputs reach every field).
//! `cargo bolero test fuzz_decode::<name> -p chain-types` fuzzes the same targets for real.

use chain_types::SignedTransaction;

fn seeds() -> Vec<Vec<u8>> {
    let text = include_str!("../fixtures/near-api-js-vectors.json");
    let vectors: Vec<serde_json::Value> = serde_json::from_str(text).expect("fixture is JSON");
    vectors
        .iter()
        .map(|v| hex::decode(v["signed_transaction_borsh_hex"].as_str().expect("hex field")).expect("hex"))
        .collect()
}

fn check(bytes: &[u8]) {
    if let Ok(tx) = borsh::from_slice::<SignedTransaction>(bytes) {
        assert_eq!(borsh::to_vec(&tx).expect("encode"), bytes, "decode then encode changed the bytes");
        let _ = tx.hash();
        let _ = tx.verify_signature();
    }
}

#[test]
fn raw_bytes_decode_without_panic() {
    bolero::check!().for_each(check);
}

#[test]
fn edited_vectors_decode_without_panic() {
    let seeds = seeds();
    bolero::check!().with_type::<(u8, Vec<(u16, u8)>, u8)>().for_each(|(seed, edits, cut)| {
        let mut bytes = seeds[usize::from(*seed) % seeds.len()].clone();
        for (at, value) in edits {
            let i = usize::from(*at) % bytes.len();
            bytes[i] = *value;
        }
        // Cut the tail a quarter of the time.
        if cut % 4 == 0 {
            let keep = bytes.len() * usize::from(*cut) / 256;
            bytes.truncate(keep);
        }
        check(&bytes);
    });
}
