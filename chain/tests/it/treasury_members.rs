//! Treasury members are named by account id, so a member's account cannot be deleted while
//! it is a member: its parent could recreate the id and inherit the seat.

use chain_types::{
    AccessKey, Action, ActionErrorKind, AddKeyAction, CreateAccountAction, DeleteAccountAction, SecretKey,
};
use serde_json::json;

use crate::harness::{action_error, function_call, id, ok, transfer};
use crate::treasury::{approve, chain, config_request, refused, transfer_request, TREASURY};

/// DeleteAccount of the signer itself, its balance to `acme`.
fn delete_self() -> Vec<Action> {
    vec![Action::DeleteAccount(DeleteAccountAction { beneficiary_id: id("acme") })]
}

#[test]
fn a_member_account_is_deleted_only_after_the_member_is_removed() {
    let mut c = chain(|_| {});
    let carol = c.balance("carol.acme");
    let tx = c.tx("carol.acme", "carol.acme", delete_self());
    let (index, kind) = action_error(&c.run(tx).status);
    assert_eq!(
        (index, kind),
        (0, ActionErrorKind::DeleteAccountTreasuryMember { account_id: id("carol.acme"), treasury_id: id(TREASURY) })
    );
    assert_eq!(c.balance("carol.acme"), carol, "nothing of the deletion applied");

    // Removed by a treasury request, the account can go.
    let remove = config_request(json!({"type": "DeleteMember", "member": {"account_id": "carol.acme"}}));
    assert_eq!(approve(&mut c, remove)["outcome"]["status"], "executed");
    let tx = c.tx("carol.acme", "carol.acme", delete_self());
    ok(&c.run(tx).status);
    assert!(c.account("carol.acme").is_none());

    // Its parent recreates the id: a new account, not a member.
    let key = SecretKey::from_seed([42; 32]);
    let add_key =
        Action::AddKey(Box::new(AddKeyAction { public_key: key.public_key(), access_key: AccessKey::full_access() }));
    let tx = c.tx("acme", "carol.acme", vec![Action::CreateAccount(CreateAccountAction {}), transfer(10), add_key]);
    ok(&c.run(tx).status);
    let members = c.view(TREASURY, "get_members", json!({})).unwrap();
    assert_eq!(members, json!([{"account_id": "alice.acme"}, {"account_id": "bob.acme"}]));
    let args = json!({"request": transfer_request("carol.acme", 1)}).to_string();
    let tx = c.tx_with_key("carol.acme", &key, TREASURY, vec![function_call("add_request", args.as_bytes(), 0)]);
    assert!(refused(&c.run(tx).status).contains("account carol.acme is not a member"));
}
