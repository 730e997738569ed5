//! Validator-set changes through treasury requests: recorded as pending, applied at the end
//! of the epoch, the constant total stake re-divided equally and shown as `locked`.

use chain_types::{Action, CreateAccountAction, SecretKey};
use serde_json::{json, Value};

use crate::harness::{ok, transfer, TestChain};
use crate::treasury::{approve, config_request, TREASURY};

const EPOCH: u64 = 5;

fn validator(account: &str) -> Value {
    let network = genesis::NetworkKeyFile::new(SecretKey::generate());
    json!({"account_id": account, "consensus_key": SecretKey::generate().public_key(),
        "peer_id": network.peer_id, "address": format!("/ip4/127.0.0.1/tcp/{}", 20000 + account.len())})
}

fn decide(c: &mut TestChain, action: Value) -> Value {
    approve(c, config_request(action))
}

fn until_epoch_end(c: &mut TestChain) {
    while !c.head().block.header.height.is_multiple_of(EPOCH) {
        c.block(vec![]);
    }
}

fn locked(c: &TestChain, account: &str) -> u128 {
    c.account(account).map(|a| a.locked).unwrap_or_default()
}

fn current(c: &TestChain) -> Vec<String> {
    let s = c.view(TREASURY, "get_validators", json!({})).unwrap();
    s["current"].as_array().unwrap().iter().map(|v| v["account_id"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn set_changes_apply_at_the_epoch_end_and_redivide_the_stake() {
    let mut c = TestChain::with_genesis(|g| g.genesis.epoch_length = EPOCH);
    let total = c.generated.genesis.total_stake;
    assert_eq!(locked(&c, "v0.acme"), total);
    let tx = c.tx("acme", "v1.acme", vec![Action::CreateAccount(CreateAccountAction {}), transfer(1)]);
    ok(&c.run(tx).status);

    let r = decide(&mut c, json!({"type": "AddValidator", "validator": validator("v1.acme"), "organization": "acme"}));
    assert_eq!(r["outcome"]["status"], "executed", "{r}");
    let s = c.view(TREASURY, "get_validators", json!({})).unwrap();
    assert_eq!(s["pending"].as_array().unwrap().len(), 2);
    assert_eq!((locked(&c, "v0.acme"), locked(&c, "v1.acme")), (total, 0), "nothing moves before the epoch ends");
    assert_eq!(current(&c), ["v0.acme"]);

    until_epoch_end(&mut c);
    assert_eq!(current(&c), ["v0.acme", "v1.acme"]);
    assert!(c.view(TREASURY, "get_validators", json!({})).unwrap()["pending"].is_null());
    assert_eq!((locked(&c, "v0.acme"), locked(&c, "v1.acme")), (total / 2, total / 2));
    assert_eq!(c.total_balance(), c.generated.genesis.total_supply);

    let r = decide(
        &mut c,
        json!({"type": "ReplaceValidator", "account_id": "v0.acme", "validator": validator("carol.acme")}),
    );
    assert_eq!(r["outcome"]["status"], "executed", "{r}");
    until_epoch_end(&mut c);
    assert_eq!(current(&c), ["carol.acme", "v1.acme"]);
    assert_eq!((locked(&c, "v0.acme"), locked(&c, "carol.acme")), (0, total / 2));
    // The workspace follows: the replacement belongs to the replaced validator's organization.
    let acme = c.view("workspace", "get_organization", json!({"org_id": "acme"})).unwrap();
    assert_eq!(acme["validators"], json!(["v1.acme", "carol.acme"]));

    let r = decide(&mut c, json!({"type": "RemoveValidator", "account_id": "carol.acme"}));
    assert_eq!(r["outcome"]["status"], "executed", "{r}");
    until_epoch_end(&mut c);
    assert_eq!(current(&c), ["v1.acme"]);
    let acme = c.view("workspace", "get_organization", json!({"org_id": "acme"})).unwrap();
    assert_eq!(acme["validators"], json!(["v1.acme"]));
    assert_eq!((locked(&c, "carol.acme"), locked(&c, "v1.acme")), (0, total));
    assert_eq!(c.total_balance(), c.generated.genesis.total_supply);
}

#[test]
fn invalid_set_changes_fail_and_change_nothing() {
    let mut c = TestChain::with_genesis(|g| g.genesis.epoch_length = EPOCH);
    for (action, why) in [
        (json!({"type": "RemoveValidator", "account_id": "v0.acme"}), "cannot be empty"),
        (
            json!({"type": "AddValidator", "validator": validator("ghost.acme"), "organization": "acme"}),
            "ghost.acme does not exist",
        ),
        (json!({"type": "RemoveValidator", "account_id": "bob.acme"}), "not a validator"),
    ] {
        let r = decide(&mut c, action);
        assert_eq!(r["outcome"]["status"], "failed", "{r}");
        assert!(r["outcome"]["error"].as_str().unwrap().contains(why), "{r}");
    }
    let mut dup = validator("bob.acme");
    dup["consensus_key"] = json!(c.generated.genesis.validators[0].consensus_key);
    let r = decide(&mut c, json!({"type": "AddValidator", "validator": dup, "organization": "acme"}));
    assert!(r["outcome"]["error"].as_str().unwrap().contains("already in the validator set"), "{r}");
    until_epoch_end(&mut c);
    assert_eq!(current(&c), ["v0.acme"]);
}
