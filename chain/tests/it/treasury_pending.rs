//! The treasury's pending requests over time: expiry drops them, deletion before expiry
//! needs the proposer or K members, and a config change re-checks every pending request.

use chain::store::StateKey;
use serde_json::{json, Value};

use crate::harness::{id, ok, TestChain};
use crate::treasury::{
    call, chain, config_request, confirm, get_request, propose, refused, returned, transfer_request, TREASURY,
};

fn list(c: &TestChain) -> Value {
    c.view(TREASURY, "list_request_ids", json!({})).unwrap()
}

/// The pending list as stored (not as the view filters it).
fn stored_pending(c: &TestChain) -> Vec<u32> {
    let raw = c.store.state(&StateKey::module_data(&id(TREASURY), b"pending")).unwrap();
    raw.map(|b| borsh::from_slice(&b).unwrap()).unwrap_or_default()
}

fn delete(c: &mut TestChain, signer: &str, request: u32) -> Value {
    returned(&call(c, signer, "delete_request", json!({ "request_id": request })))
}

fn deletion_votes(c: &TestChain, request: u32) -> Value {
    c.view(TREASURY, "get_deletion_votes", json!({ "request_id": request })).unwrap()
}

#[test]
fn expired_requests_leave_the_list_and_the_member_limit() {
    let mut c = chain(|t| {
        t.request_lifetime_blocks = 4;
        t.active_requests_limit = 2;
        t.delete_cooldown_blocks = 100;
    });
    let a = propose(&mut c, "alice.acme", transfer_request("acme", 1));
    let b = propose(&mut c, "alice.acme", transfer_request("acme", 2));
    ok(&confirm(&mut c, "alice.acme", a));
    let m = refused(&call(&mut c, "alice.acme", "add_request", json!({"request": transfer_request("acme", 3)})));
    assert!(m.contains("already has 2 active requests"), "{m}");
    for _ in 0..3 {
        c.block(vec![]);
    }

    // Expired: no longer listed, not confirmable, shown as expired until dropped.
    assert_eq!(list(&c), json!([]));
    assert_eq!(get_request(&c, a)["outcome"]["status"], "expired");
    assert!(refused(&confirm(&mut c, "bob.acme", a)).contains("expired"));

    // They no longer count against alice's limit; her next call drops them from storage.
    let fresh = propose(&mut c, "alice.acme", transfer_request("acme", 3));
    propose(&mut c, "alice.acme", transfer_request("acme", 4));
    assert_eq!(stored_pending(&c), vec![fresh, fresh + 1]);
    for gone in [a, b] {
        assert!(c.view(TREASURY, "get_request", json!({"request_id": gone})).unwrap_err().contains("no request"));
    }
    assert_eq!(list(&c), json!([fresh, fresh + 1]));
}

#[test]
fn deletion_before_expiry_takes_the_proposer_after_the_cooldown_or_k_members() {
    let mut c = chain(|t| t.delete_cooldown_blocks = 3);
    let r = propose(&mut c, "alice.acme", transfer_request("acme", 1));

    // One other member alone only votes, before the cooldown and after it.
    assert_eq!(delete(&mut c, "bob.acme", r), json!(false));
    assert!(refused(&call(&mut c, "bob.acme", "delete_request", json!({"request_id": r}))).contains("already voted"));
    assert!(refused(&call(&mut c, "acme", "delete_request", json!({"request_id": r}))).contains("not a member"));
    c.block(vec![]);
    assert_eq!(list(&c), json!([r]), "a single member has no veto, cooldown or not");
    assert_eq!(get_request(&c, r)["deletion_votes"], json!([{"account_id": "bob.acme"}]));
    // The second member's vote reaches K = 2.
    assert_eq!(delete(&mut c, "carol.acme", r), json!(true));
    assert!(refused(&confirm(&mut c, "carol.acme", r)).contains("no request"));
    assert_eq!(list(&c), json!([]));

    // The proposer: a vote before the cooldown, a deletion once it has passed.
    let mine = propose(&mut c, "alice.acme", transfer_request("acme", 2));
    assert_eq!(delete(&mut c, "alice.acme", mine), json!(false));
    assert_eq!(deletion_votes(&c, mine), json!([{"account_id": "alice.acme"}]));
    let again = call(&mut c, "alice.acme", "delete_request", json!({"request_id": mine}));
    assert!(refused(&again).contains("already voted"), "before the cooldown the proposer's call is a vote");
    c.block(vec![]);
    assert_eq!(delete(&mut c, "alice.acme", mine), json!(true), "its proposer, after the cooldown");
    assert_eq!(list(&c), json!([]));

    // K members delete at once, before any cooldown.
    let fast = propose(&mut c, "bob.acme", transfer_request("acme", 4));
    assert_eq!(delete(&mut c, "alice.acme", fast), json!(false));
    assert_eq!(delete(&mut c, "carol.acme", fast), json!(true));
    assert_eq!(list(&c), json!([]));
}

#[test]
fn lowering_k_runs_pending_requests_that_already_have_enough_confirmations() {
    let mut c = chain(|t| t.confirmations = 3);
    let a0 = c.balance("acme");
    // Two of three confirmations each: a payment, a failing one, and one also voted down.
    let pay = propose(&mut c, "alice.acme", transfer_request("acme", 7));
    let fails = propose(&mut c, "alice.acme", transfer_request("ghost.acme", 1));
    let doomed = propose(&mut c, "alice.acme", transfer_request("acme", 1000));
    let lonely = propose(&mut c, "bob.acme", transfer_request("acme", 5));
    for r in [pay, fails, doomed] {
        ok(&confirm(&mut c, "alice.acme", r));
        ok(&confirm(&mut c, "bob.acme", r));
    }
    ok(&confirm(&mut c, "bob.acme", lonely));
    assert_eq!(delete(&mut c, "bob.acme", doomed), json!(false));
    assert_eq!(delete(&mut c, "carol.acme", doomed), json!(false));
    assert_eq!(c.balance("acme"), a0);

    let lower =
        propose(&mut c, "carol.acme", config_request(json!({"type": "SetNumConfirmations", "num_confirmations": 2})));
    for m in ["alice.acme", "bob.acme", "carol.acme"] {
        ok(&confirm(&mut c, m, lower));
    }
    let height = c.head().block.header.height;
    assert_eq!(get_request(&c, lower)["outcome"]["status"], "executed");

    // The payment ran in the same block, atomically, its outcome recorded like any other.
    assert_eq!(c.balance("acme"), a0 + 7);
    let r = get_request(&c, pay);
    assert_eq!(r["outcome"], json!({"status": "executed", "height": height, "logs": ["transferred 7 to acme"]}));
    let r = get_request(&c, fails);
    assert_eq!(r["outcome"]["status"], "failed");
    assert!(r["outcome"]["error"].as_str().unwrap().contains("ghost.acme does not exist"), "{r}");
    // Deletion votes reach the lowered K as well, and deletion wins: nothing of it ran.
    assert!(c.view(TREASURY, "get_request", json!({"request_id": doomed})).unwrap_err().contains("no request"));
    // One confirmation is still short of two.
    assert_eq!(get_request(&c, lonely)["outcome"]["status"], "pending");
    assert_eq!(list(&c), json!([lonely]));
    assert_eq!(c.total_balance(), c.generated.genesis.total_supply);
}

#[test]
fn re_adding_a_member_runs_what_its_confirmation_completes() {
    let mut c = chain(|_| {});
    let a0 = c.balance("acme");
    let pay = propose(&mut c, "bob.acme", transfer_request("acme", 3));
    ok(&confirm(&mut c, "alice.acme", pay));
    let member = json!({"account_id": "alice.acme"});
    let drop = propose(&mut c, "bob.acme", config_request(json!({"type": "DeleteMember", "member": member})));
    ok(&confirm(&mut c, "bob.acme", drop));
    ok(&confirm(&mut c, "carol.acme", drop));
    // alice's confirmation no longer counts: bob's is one of two.
    ok(&confirm(&mut c, "bob.acme", pay));
    assert_eq!(get_request(&c, pay)["outcome"]["status"], "pending");
    let back = propose(&mut c, "bob.acme", config_request(json!({"type": "AddMember", "member": member})));
    ok(&confirm(&mut c, "bob.acme", back));
    ok(&confirm(&mut c, "carol.acme", back));
    // She is a member again, so her confirmation counts again: two of two, it runs.
    assert_eq!(get_request(&c, pay)["outcome"]["status"], "executed");
    assert_eq!(c.balance("acme"), a0 + 3);
}
