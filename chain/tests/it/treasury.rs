//! The treasury multisig through real transactions on a real store: multisig2 calls from
//! member accounts and member keys, each invariant and each refused path.

use chain_types::{AccessKeyPermission, ActionErrorKind, ExecutionStatus, SecretKey};
use serde_json::{json, Value};

use crate::harness::{action_error, function_call, ok, TestChain};

pub const TREASURY: &str = "treasury";

/// The genesis preset's treasury: 2 of alice, bob, carol; `edit` may change its limits.
pub fn chain(edit: impl FnOnce(&mut genesis::TreasurySpec)) -> TestChain {
    TestChain::with_genesis(|g| edit(&mut g.genesis.treasury))
}

/// `signer` calls `method` on the treasury with JSON `args`.
pub fn call(c: &mut TestChain, signer: &str, method: &str, args: Value) -> ExecutionStatus {
    let tx = c.tx(signer, TREASURY, vec![function_call(method, args.to_string().as_bytes(), 0)]);
    c.run(tx).status
}

/// The module's error message of a failed call.
pub fn refused(status: &ExecutionStatus) -> String {
    match action_error(status).1 {
        ActionErrorKind::FunctionCallError { message } => message,
        other => panic!("expected a module error, got {other:?}"),
    }
}

pub fn returned(status: &ExecutionStatus) -> Value {
    match status {
        ExecutionStatus::SuccessValue(v) => serde_json::from_slice(v).expect("JSON result"),
        other => panic!("expected success, got {other:?}"),
    }
}

/// `signer` adds `request`; returns its id.
pub fn propose(c: &mut TestChain, signer: &str, request: Value) -> u32 {
    let status = call(c, signer, "add_request", json!({ "request": request }));
    returned(&status).as_u64().expect("request id") as u32
}

pub fn confirm(c: &mut TestChain, signer: &str, id: u32) -> ExecutionStatus {
    call(c, signer, "confirm", json!({ "request_id": id }))
}

/// alice proposes and confirms `request`, bob confirms (the preset's 2 of 3): it runs. Returns
/// the request as `get_request` shows it after.
pub fn approve(c: &mut TestChain, request: Value) -> Value {
    let id = propose(c, "alice.acme", request);
    ok(&confirm(c, "alice.acme", id));
    ok(&confirm(c, "bob.acme", id));
    get_request(c, id)
}

pub fn get_request(c: &TestChain, id: u32) -> Value {
    c.view(TREASURY, "get_request", json!({ "request_id": id })).expect("get_request")
}

pub fn transfer_request(to: &str, amount: u128) -> Value {
    json!({"receiver_id": to, "actions": [{"type": "Transfer", "amount": amount.to_string()}]})
}

pub fn config_request(action: Value) -> Value {
    json!({"receiver_id": TREASURY, "actions": [action]})
}

#[test]
fn two_of_three_transfer_runs_on_the_second_confirmation() {
    let mut c = chain(|_| {});
    let (t0, a0) = (c.balance(TREASURY), c.balance("acme"));
    let id = propose(&mut c, "alice.acme", transfer_request("acme", 500));
    assert_eq!(c.view(TREASURY, "list_request_ids", json!({})).unwrap(), json!([id]));
    ok(&confirm(&mut c, "alice.acme", id));
    assert_eq!(c.balance(TREASURY), t0, "one confirmation moves nothing");
    assert_eq!(get_request(&c, id)["outcome"]["status"], "pending");
    ok(&confirm(&mut c, "bob.acme", id));
    assert_eq!((c.balance(TREASURY), c.balance("acme")), (t0 - 500, a0 + 500));
    let r = get_request(&c, id);
    assert_eq!(r["outcome"]["status"], "executed", "{r}");
    assert_eq!(r["outcome"]["logs"], json!(["transferred 500 to acme"]));
    assert_eq!(r["confirmations"], json!([{"account_id": "alice.acme"}, {"account_id": "bob.acme"}]));
    assert_eq!(c.view(TREASURY, "list_request_ids", json!({})).unwrap(), json!([]));
    assert_eq!(c.view(TREASURY, "get_request_nonce", json!({})).unwrap(), json!(1));
    assert_eq!(c.view(TREASURY, "get_num_confirmations", json!({})).unwrap(), json!(2));
    assert_eq!(c.view(TREASURY, "get_confirmations", json!({"request_id": id})).unwrap().as_array().unwrap().len(), 2);
    assert_eq!(c.total_balance(), c.generated.genesis.total_supply);

    // add_request_and_confirm counts the proposer's confirmation and returns the id.
    let status = call(&mut c, "carol.acme", "add_request_and_confirm", json!({"request": transfer_request("acme", 1)}));
    let id2 = returned(&status).as_u64().unwrap() as u32;
    assert_eq!(id2, 1);
    assert_eq!(c.view(TREASURY, "get_confirmations", json!({"request_id": id2})).unwrap().as_array().unwrap().len(), 1);
    ok(&confirm(&mut c, "alice.acme", id2));
    assert_eq!(c.balance("acme"), a0 + 501);
}

#[test]
fn non_members_and_double_confirmations_are_refused() {
    let mut c = chain(|_| {});
    let m = refused(&call(&mut c, "acme", "add_request", json!({"request": transfer_request("acme", 1)})));
    assert!(m.contains("account acme is not a member"), "{m}");
    let id = propose(&mut c, "alice.acme", transfer_request("acme", 1));
    assert!(refused(&confirm(&mut c, "acme", id)).contains("not a member"));
    ok(&confirm(&mut c, "alice.acme", id));
    let m = refused(&confirm(&mut c, "alice.acme", id));
    assert!(m.contains("already confirmed"), "{m}");
    assert!(refused(&confirm(&mut c, "bob.acme", 99)).contains("no request 99"));
    assert!(refused(&call(&mut c, "bob.acme", "transfer_everything", json!({}))).contains("does not exist"));
    let m = refused(&call(&mut c, "bob.acme", "confirm", json!({"request_id": "x"})));
    assert!(m.starts_with("invalid arguments"), "{m}");
}

#[test]
fn expired_requests_cannot_be_confirmed_and_are_deletable_at_once() {
    let mut c = chain(|t| {
        t.request_lifetime_blocks = 2;
        t.delete_cooldown_blocks = 100;
    });
    let id = propose(&mut c, "alice.acme", transfer_request("acme", 1));
    ok(&confirm(&mut c, "alice.acme", id));
    c.block(vec![]);
    c.block(vec![]);
    let m = refused(&confirm(&mut c, "bob.acme", id));
    assert!(m.contains("expired"), "{m}");
    assert_eq!(get_request(&c, id)["outcome"]["status"], "expired");
    ok(&call(&mut c, "carol.acme", "delete_request", json!({"request_id": id})));
    assert!(c.view(TREASURY, "get_request", json!({"request_id": id})).unwrap_err().contains("no request"));
}

#[test]
fn each_member_has_an_active_request_limit() {
    let mut c = chain(|t| t.active_requests_limit = 2);
    propose(&mut c, "alice.acme", transfer_request("acme", 1));
    propose(&mut c, "alice.acme", transfer_request("acme", 2));
    let m = refused(&call(&mut c, "alice.acme", "add_request", json!({"request": transfer_request("acme", 3)})));
    assert!(m.contains("already has 2 active requests"), "{m}");
    propose(&mut c, "bob.acme", transfer_request("acme", 3));
}

#[test]
fn threshold_stays_between_one_and_the_member_count() {
    let mut c = chain(|_| {});
    for (k, why) in [(0, "between 1 and the number of members (3), not 0"), (4, "not 4")] {
        let r = approve(&mut c, config_request(json!({"type": "SetNumConfirmations", "num_confirmations": k})));
        assert_eq!(r["outcome"]["status"], "failed");
        assert!(r["outcome"]["error"].as_str().unwrap().contains(why), "{r}");
    }
    assert_eq!(c.view(TREASURY, "get_num_confirmations", json!({})).unwrap(), json!(2));

    // Deleting members down to K is fine; one more would leave N < K and fails.
    approve(&mut c, config_request(json!({"type": "DeleteMember", "member": {"account_id": "carol.acme"}})));
    assert_eq!(c.view(TREASURY, "get_members", json!({})).unwrap().as_array().unwrap().len(), 2);
    let r = approve(&mut c, config_request(json!({"type": "DeleteMember", "member": {"account_id": "bob.acme"}})));
    assert_eq!(r["outcome"]["status"], "failed");
    assert_eq!(c.view(TREASURY, "get_members", json!({})).unwrap().as_array().unwrap().len(), 2);
}

#[test]
fn config_changes_are_single_action_requests_to_the_treasury() {
    let mut c = chain(|_| {});
    let mixed = json!({"receiver_id": TREASURY, "actions": [
        {"type": "SetNumConfirmations", "num_confirmations": 1}, {"type": "SetActiveRequestsLimit", "active_requests_limit": 3}]});
    let m = refused(&call(&mut c, "alice.acme", "add_request", json!({"request": mixed})));
    assert!(m.contains("only action"), "{m}");
    let elsewhere =
        json!({"receiver_id": "acme", "actions": [{"type": "SetNumConfirmations", "num_confirmations": 1}]});
    assert!(refused(&call(&mut c, "alice.acme", "add_request", json!({"request": elsewhere})))
        .contains("receiver_id treasury"));
    let key = json!({"receiver_id": TREASURY, "actions": [{"type": "AddKey", "public_key": SecretKey::generate().public_key()}]});
    assert!(refused(&call(&mut c, "alice.acme", "add_request", json!({"request": key}))).contains("member keys"));
    let escape = json!({"receiver_id": "acme", "actions": [{"type": "DeployContract", "code": "AA=="}]});
    assert!(refused(&call(&mut c, "alice.acme", "add_request", json!({"request": escape})))
        .starts_with("invalid arguments"));
}

#[test]
fn confirmations_are_recounted_against_current_members() {
    let mut c = chain(|_| {});
    let a0 = c.balance("acme");
    let pay = propose(&mut c, "alice.acme", transfer_request("acme", 7));
    ok(&confirm(&mut c, "alice.acme", pay));
    let drop_alice = propose(
        &mut c,
        "bob.acme",
        config_request(json!({"type": "DeleteMember", "member": {"account_id": "alice.acme"}})),
    );
    ok(&confirm(&mut c, "bob.acme", drop_alice));
    ok(&confirm(&mut c, "carol.acme", drop_alice));
    // alice's confirmation no longer counts: bob's makes one of two.
    ok(&confirm(&mut c, "bob.acme", pay));
    assert_eq!(c.balance("acme"), a0);
    assert_eq!(get_request(&c, pay)["outcome"]["status"], "pending");
    ok(&confirm(&mut c, "carol.acme", pay));
    assert_eq!(c.balance("acme"), a0 + 7);
}

#[test]
fn execution_is_atomic_and_its_error_is_stored() {
    let mut c = chain(|_| {});
    let (t0, a0) = (c.balance(TREASURY), c.balance("acme"));
    let req = json!({"receiver_id": "ghost.acme", "actions": [
        {"type": "Transfer", "amount": "5"}, {"type": "Transfer", "amount": "6"}]});
    let r = approve(&mut c, req);
    assert_eq!(r["outcome"]["status"], "failed");
    assert!(r["outcome"]["error"].as_str().unwrap().contains("ghost.acme does not exist"), "{r}");
    assert_eq!((c.balance(TREASURY), c.balance("acme")), (t0, a0));

    // No transfer creates an implicit account, from the treasury either.
    let r = approve(&mut c, transfer_request(&"ab".repeat(32), 1));
    assert!(r["outcome"]["error"].as_str().unwrap().contains("implicit"));

    // A request whose second action fails leaves the first undone too.
    let too_much = (t0 + 1).to_string();
    let req = json!({"receiver_id": "acme", "actions": [
        {"type": "Transfer", "amount": "5"}, {"type": "Transfer", "amount": too_much}]});
    let id = propose(&mut c, "alice.acme", req);
    ok(&confirm(&mut c, "alice.acme", id));
    ok(&confirm(&mut c, "carol.acme", id));
    assert_eq!(get_request(&c, id)["outcome"]["status"], "failed");
    assert_eq!((c.balance(TREASURY), c.balance("acme")), (t0, a0));
}

#[test]
fn confirm_checks_the_approved_hash() {
    let mut c = chain(|_| {});
    let request = transfer_request("acme", 3);
    let id = propose(&mut c, "alice.acme", request.clone());
    let parsed: contracts::treasury::MultiSigRequest = serde_json::from_value(request).unwrap();
    let expected = parsed.hash("test-chain", &TREASURY.parse().unwrap(), id);
    assert_eq!(get_request(&c, id)["hash"], json!(expected.to_string()));
    let wrong = parsed.hash("test-chain", &TREASURY.parse().unwrap(), id + 1);
    let m = refused(&call(&mut c, "bob.acme", "confirm", json!({"request_id": id, "hash": wrong.to_string()})));
    assert!(m.contains("has hash"), "{m}");
    ok(&call(&mut c, "bob.acme", "confirm", json!({"request_id": id, "hash": expected.to_string()})));
}

#[test]
fn key_members_sign_as_the_treasury_with_a_multisig_only_key() {
    let mut c = chain(|_| {});
    let dave = SecretKey::generate();
    let add = config_request(json!({"type": "AddMember", "member": {"public_key": dave.public_key()}}));
    approve(&mut c, add);
    let key = c.access_key(TREASURY, &dave.public_key()).expect("member key added");
    let AccessKeyPermission::FunctionCall(p) = key.permission else { panic!("a member key is not full access") };
    assert_eq!(p.receiver_id.as_str(), TREASURY);
    assert_eq!(p.method_names, contracts::treasury::MEMBER_METHODS.map(String::from).to_vec());

    // dave signs as the treasury: his key is the member.
    let pay = propose(&mut c, "alice.acme", transfer_request("acme", 9));
    let a0 = c.balance("acme");
    let args = json!({"request_id": pay}).to_string();
    let tx = c.tx_with_key(TREASURY, &dave, TREASURY, vec![function_call("confirm", args.as_bytes(), 0)]);
    ok(&c.run(tx).status);
    let confirmations = c.view(TREASURY, "get_confirmations", json!({"request_id": pay})).unwrap();
    assert_eq!(confirmations, json!([{"public_key": dave.public_key()}]));
    ok(&confirm(&mut c, "carol.acme", pay));
    assert_eq!(c.balance("acme"), a0 + 9);

    // The key signs nothing else.
    let tx = c.tx_with_key(TREASURY, &dave, "acme", vec![crate::harness::transfer(1)]);
    assert!(matches!(c.run(tx).status, ExecutionStatus::Failure(chain_types::TxExecutionError::InvalidTxError(_))));

    let del = config_request(json!({"type": "DeleteMember", "member": {"public_key": dave.public_key()}}));
    let id = propose(&mut c, "bob.acme", del);
    ok(&confirm(&mut c, "bob.acme", id));
    ok(&confirm(&mut c, "carol.acme", id));
    assert!(c.access_key(TREASURY, &dave.public_key()).is_none(), "the key goes with the member");
}
