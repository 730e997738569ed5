//! The registrar mints top-level accounts for the treasury and no one else; no other path
//! creates one.

use chain_types::{Action, CreateAccountAction, SecretKey};
use serde_json::json;

use crate::harness::{function_call, ok, transfer};
use crate::treasury::{approve, chain, refused, TREASURY};

fn mint_request(new: &str, key: &SecretKey, deposit: u128) -> serde_json::Value {
    let args = json!({"new_account_id": new, "new_public_key": key.public_key()}).to_string();
    json!({"receiver_id": "registrar", "actions": [{"type": "FunctionCall", "method_name": "create_account",
        "args": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, args), "deposit": deposit.to_string(), "gas": "30000000000000"}]})
}

#[test]
fn the_treasury_mints_and_funds_a_tla_which_creates_sub_accounts() {
    let mut c = chain(|_| {});
    let t0 = c.balance(TREASURY);
    let globex = SecretKey::generate();
    let r = approve(&mut c, mint_request("globex", &globex, 1_000));
    assert_eq!(r["outcome"]["status"], "executed", "{r}");
    assert_eq!(c.balance("globex"), 1_000);
    assert_eq!(c.balance(TREASURY), t0 - 1_000);
    assert_eq!(c.balance("registrar"), 0, "the deposit passes through");
    assert!(c.access_key("globex", &globex.public_key()).is_some());

    // The new TLA is a parent like any other.
    let tx = c.tx_with_key(
        "globex",
        &globex,
        "pay.globex",
        vec![Action::CreateAccount(CreateAccountAction {}), transfer(10)],
    );
    ok(&c.run(tx).status);
    assert_eq!(c.balance("pay.globex"), 10);
    assert_eq!(c.total_balance(), c.generated.genesis.total_supply);
}

#[test]
fn multisig2_create_account_goes_through_the_registrar() {
    let mut c = chain(|_| {});
    let key = SecretKey::generate();
    let r = approve(
        &mut c,
        json!({"receiver_id": "initech", "actions": [
        {"type": "CreateAccount"}, {"type": "Transfer", "amount": "77"},
        {"type": "AddKey", "public_key": key.public_key()}]}),
    );
    assert_eq!(r["outcome"]["status"], "executed", "{r}");
    assert_eq!(c.balance("initech"), 77);
    assert!(c.access_key("initech", &key.public_key()).is_some());
    // A sub-account of the treasury is created directly.
    let r = approve(
        &mut c,
        json!({"receiver_id": "ops.treasury", "actions": [{"type": "CreateAccount"}, {"type": "Transfer", "amount": "5"}]}),
    );
    assert_eq!(r["outcome"]["status"], "executed", "{r}");
    assert_eq!(c.balance("ops.treasury"), 5);
    // Keys only for accounts the request created.
    let r = approve(
        &mut c,
        json!({"receiver_id": "acme", "actions": [{"type": "AddKey", "public_key": key.public_key()}]}),
    );
    assert_eq!(r["outcome"]["status"], "failed", "{r}");
}

#[test]
fn the_registrar_obeys_only_the_treasury_and_only_mints_new_tlas() {
    let mut c = chain(|_| {});
    let key = SecretKey::generate();
    let args = json!({"new_account_id": "rogue", "new_public_key": key.public_key()}).to_string();
    let tx = c.tx("alice.acme", "registrar", vec![function_call("create_account", args.as_bytes(), 10)]);
    let a0 = c.balance("alice.acme");
    let m = refused(&c.run(tx).status);
    assert!(m.contains("only the treasury treasury may create top-level accounts, not alice.acme"), "{m}");
    assert!(c.account("rogue").is_none());
    assert_eq!(c.balance("alice.acme"), a0, "the deposit is refunded");

    for (id, why) in [("x.globex", "not a top-level account"), ("acme", "already exists")] {
        let r = approve(&mut c, mint_request(id, &key, 1));
        assert_eq!(r["outcome"]["status"], "failed", "{r}");
        assert!(r["outcome"]["error"].as_str().unwrap().contains(why), "{id}: {r}");
    }
    let implicit = "ab".repeat(32);
    let r = approve(&mut c, mint_request(&implicit, &key, 1));
    assert!(r["outcome"]["error"].as_str().unwrap().contains("implicit"), "{r}");
}
