//! Each vector: decode, re-encode to identical bytes, hash to the given sha256, verify the
//! signature over the hash (and not over the raw bytes), and match the decoded fields.

use base64::Engine as _;
use chain_types::{Action, PublicKey, SecretKey, SignedTransaction, Transaction};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let text = include_str!("../fixtures/near-api-js-vectors.json");
    serde_json::from_str(text).expect("fixture is JSON")
}

fn hex(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().expect(field)).expect("hex")
}

#[test]
fn all_vectors_decode_reencode_hash_and_verify() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 4);
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        let tx_bytes = hex(v, "transaction_borsh_hex");
        let tx: Transaction = borsh::from_slice(&tx_bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(borsh::to_vec(&tx).unwrap(), tx_bytes, "{name}: re-encoding differs");
        assert_eq!(tx.hash().0.to_vec(), hex(v, "sha256_tx_hex"), "{name}: sha256");
        assert_eq!(tx.hash().to_string(), v["tx_hash_b58"].as_str().unwrap(), "{name}: base58 hash");

        let signed_bytes = hex(v, "signed_transaction_borsh_hex");
        let b64 = base64::engine::general_purpose::STANDARD.decode(v["signed_tx_base64"].as_str().unwrap()).unwrap();
        assert_eq!(b64, signed_bytes, "{name}: base64 and hex disagree");
        let signed: SignedTransaction = borsh::from_slice(&signed_bytes).unwrap();
        assert_eq!(borsh::to_vec(&signed).unwrap(), signed_bytes, "{name}: signed re-encoding");
        assert_eq!(signed.signature.0.to_vec(), hex(v, "signature_hex"));
        assert!(signed.verify_signature(), "{name}: signature must verify over sha256(tx)");
        assert!(
            !signed.transaction.public_key.verify(&tx_bytes, &signed.signature),
            "{name}: a signature over raw bytes must not verify"
        );

        // Keys: text forms and the seed reproduce the same key and signature.
        let pk: PublicKey = v["public_key"].as_str().unwrap().parse().unwrap();
        assert_eq!(pk.0.to_vec(), hex(v, "public_key_hex"));
        assert_eq!(tx.public_key, pk);
        let sk: SecretKey = v["secret_key"].as_str().unwrap().parse().unwrap();
        let seed: [u8; 32] = hex(v, "seed_hex").try_into().unwrap();
        assert_eq!(SecretKey::from_seed(seed).public_key(), pk);
        assert_eq!(tx.clone().sign(&sk), signed, "{name}: our signature equals near-api-js's");

        let d = &v["decoded"];
        assert_eq!(tx.signer_id.as_str(), d["signer_id"].as_str().unwrap());
        assert_eq!(tx.receiver_id.as_str(), d["receiver_id"].as_str().unwrap());
        assert_eq!(tx.nonce.to_string(), d["nonce"].as_str().unwrap());
        assert_eq!(tx.block_hash.to_string(), d["block_hash"].as_str().unwrap());
        let actions = d["actions"].as_array().unwrap();
        assert_eq!(tx.actions.len(), actions.len());
        for (a, expected) in tx.actions.iter().zip(actions) {
            check_action(name, a, expected);
        }
    }
}

fn check_action(name: &str, action: &Action, expected: &Value) {
    let tag = expected["tag"].as_u64().unwrap();
    let body = &expected[action.name()];
    assert!(!body.is_null(), "{name}: action {} vs tag {tag}", action.name());
    match action {
        Action::Transfer(t) => {
            assert_eq!(tag, 3);
            assert_eq!(t.deposit.to_string(), body["deposit"].as_str().unwrap());
        }
        Action::FunctionCall(f) => {
            assert_eq!(tag, 2);
            assert_eq!(f.method_name, body["method_name"].as_str().unwrap());
            assert_eq!(f.args, body["args"].as_str().unwrap().as_bytes());
            assert_eq!(f.gas.to_string(), body["gas"].as_str().unwrap());
            assert_eq!(f.deposit.to_string(), body["deposit"].as_str().unwrap());
        }
        Action::CreateAccount(_) => assert_eq!(tag, 0),
        Action::AddKey(k) => {
            assert_eq!(tag, 5);
            let data: Vec<u8> = body["public_key"]["data"]["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_u64().unwrap() as u8)
                .collect();
            assert_eq!(k.public_key.0.to_vec(), data);
            assert_eq!(k.access_key.nonce.to_string(), body["access_key"]["nonce"].as_str().unwrap());
        }
        other => panic!("{name}: unexpected action {other:?}"),
    }
}
