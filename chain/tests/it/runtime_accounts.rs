//! Transfers, sub-accounts, keys and deletion; the TLA and implicit-account rules;
//! atomicity of a transaction's actions.

use chain_types::{
    AccessKey, AccessKeyPermission, Action, ActionErrorKind, AddKeyAction, CreateAccountAction, DeleteAccountAction,
    DeleteKeyAction, FunctionCallPermission, SecretKey,
};

use crate::harness::{action_error, id, ok, transfer, TestChain};

fn add_key(key: &SecretKey, access_key: AccessKey) -> Action {
    Action::AddKey(Box::new(AddKeyAction { public_key: key.public_key(), access_key }))
}

#[test]
fn transfer_moves_tokens_and_conserves_supply() {
    let mut c = TestChain::new();
    let supply = c.generated.genesis.total_supply;
    assert_eq!(c.total_balance(), supply);
    let (a, b) = (c.balance("alice.acme"), c.balance("bob.acme"));
    let tx = c.tx("alice.acme", "bob.acme", vec![transfer(700), transfer(300)]);
    ok(&c.run(tx).status);
    assert_eq!(c.balance("alice.acme"), a - 1000);
    assert_eq!(c.balance("bob.acme"), b + 1000);
    assert_eq!(c.total_balance(), supply);
    assert_eq!(c.access_key("alice.acme", &c.key("alice.acme").public_key()).unwrap().nonce, 1);
}

#[test]
fn parent_creates_funds_and_keys_a_sub_account() {
    let mut c = TestChain::new();
    let new_key = SecretKey::from_seed([5; 32]);
    let tx = c.tx(
        "alice.acme",
        "pay.alice.acme",
        vec![
            Action::CreateAccount(CreateAccountAction {}),
            transfer(2_000),
            add_key(&new_key, AccessKey::full_access()),
        ],
    );
    ok(&c.run(tx).status);
    assert_eq!(c.balance("pay.alice.acme"), 2_000);
    let spend = c.tx_with_key("pay.alice.acme", &new_key, "bob.acme", vec![transfer(500)]);
    ok(&c.run(spend).status);
    assert_eq!(c.balance("pay.alice.acme"), 1_500);
}

#[test]
fn account_creation_rules() {
    let mut c = TestChain::new();
    let before = c.balance("bob.acme");
    let create = || vec![Action::CreateAccount(CreateAccountAction {}), transfer(10)];

    let tx = c.tx("bob.acme", "pay.alice.acme", create());
    let (i, kind) = action_error(&c.run(tx).status);
    assert_eq!(
        (i, kind),
        (
            0,
            ActionErrorKind::CreateAccountNotAllowed {
                account_id: id("pay.alice.acme"),
                predecessor_id: id("bob.acme")
            }
        )
    );

    let tx = c.tx("bob.acme", "newtla", create());
    let (_, kind) = action_error(&c.run(tx).status);
    assert_eq!(
        kind,
        ActionErrorKind::CreateAccountNotAllowed { account_id: id("newtla"), predecessor_id: id("bob.acme") }
    );

    let tx = c.tx("bob.acme", "alice.acme", create());
    assert_eq!(
        action_error(&c.run(tx).status).1,
        ActionErrorKind::AccountAlreadyExists { account_id: id("alice.acme") }
    );

    assert_eq!(c.balance("bob.acme"), before, "failed creations refund their deposits");
    assert!(c.account("newtla").is_none() && c.account("pay.alice.acme").is_none());
}

#[test]
fn implicit_and_missing_receivers() {
    let mut c = TestChain::new();
    let implicit = "ab".repeat(32);
    let tx = c.tx("alice.acme", &implicit, vec![transfer(1)]);
    let not_created = |account: &str| ActionErrorKind::CreateAccountNotAllowed {
        account_id: id(account),
        predecessor_id: id("alice.acme"),
    };
    assert_eq!(action_error(&c.run(tx).status).1, not_created(&implicit));
    let eth = format!("0x{}", "1".repeat(40));
    let tx = c.tx("alice.acme", &eth, vec![transfer(1)]);
    assert_eq!(action_error(&c.run(tx).status).1, not_created(&eth));
    let tx = c.tx("alice.acme", "ghost.acme", vec![transfer(1)]);
    assert_eq!(
        action_error(&c.run(tx).status).1,
        ActionErrorKind::AccountDoesNotExist { account_id: id("ghost.acme") }
    );
}

#[test]
fn failed_action_rolls_back_the_whole_transaction_but_consumes_the_nonce() {
    let mut c = TestChain::new();
    let (a, b) = (c.balance("alice.acme"), c.balance("bob.acme"));
    let stranger = SecretKey::from_seed([8; 32]);
    let tx = c.tx("alice.acme", "bob.acme", vec![transfer(5), add_key(&stranger, AccessKey::full_access())]);
    let (index, kind) = action_error(&c.run(tx).status);
    assert_eq!(
        (index, kind),
        (1, ActionErrorKind::ActorNoPermission { account_id: id("bob.acme"), actor_id: id("alice.acme") })
    );
    assert_eq!((c.balance("alice.acme"), c.balance("bob.acme")), (a, b));
    assert!(c.access_key("bob.acme", &stranger.public_key()).is_none());
    assert_eq!(c.access_key("alice.acme", &c.key("alice.acme").public_key()).unwrap().nonce, 1);
}

#[test]
fn add_and_delete_keys() {
    let mut c = TestChain::new();
    let k = SecretKey::from_seed([9; 32]);
    let perm = AccessKey {
        nonce: 0,
        permission: AccessKeyPermission::FunctionCall(FunctionCallPermission {
            allowance: None,
            receiver_id: id("bob.acme"),
            method_names: vec![],
        }),
    };
    let tx = c.tx("alice.acme", "alice.acme", vec![add_key(&k, perm.clone())]);
    ok(&c.run(tx).status);
    assert_eq!(c.access_key("alice.acme", &k.public_key()), Some(perm.clone()));
    let tx = c.tx("alice.acme", "alice.acme", vec![add_key(&k, perm)]);
    assert!(matches!(action_error(&c.run(tx).status).1, ActionErrorKind::AddKeyAlreadyExists { .. }));
    let del =
        || Action::DeleteKey(Box::new(DeleteKeyAction { public_key: SecretKey::from_seed([9; 32]).public_key() }));
    let tx = c.tx("alice.acme", "alice.acme", vec![del()]);
    ok(&c.run(tx).status);
    assert!(c.access_key("alice.acme", &k.public_key()).is_none());
    let tx = c.tx("alice.acme", "alice.acme", vec![del()]);
    assert!(matches!(action_error(&c.run(tx).status).1, ActionErrorKind::DeleteKeyDoesNotExist { .. }));
}

#[test]
fn delete_account_pays_the_beneficiary_and_removes_keys() {
    // dave0.acme, not a treasury member (members' accounts cannot be deleted: treasury_members.rs).
    let mut c = TestChain::with_genesis(|g| g.add_funded_accounts("dave", 1, 1_000).unwrap());
    let supply = c.generated.genesis.total_supply;
    let (dave, bob) = (c.balance("dave0.acme"), c.balance("bob.acme"));
    let dave_key = c.key("dave0.acme").public_key();
    let tx = c.tx(
        "dave0.acme",
        "dave0.acme",
        vec![Action::DeleteAccount(DeleteAccountAction { beneficiary_id: id("bob.acme") })],
    );
    ok(&c.run(tx).status);
    assert!(c.account("dave0.acme").is_none());
    assert!(c.access_key("dave0.acme", &dave_key).is_none());
    assert_eq!(c.balance("bob.acme"), bob + dave);
    assert_eq!(c.total_balance(), supply);
    let tx = c.tx(
        "bob.acme",
        "alice.acme",
        vec![Action::DeleteAccount(DeleteAccountAction { beneficiary_id: id("bob.acme") })],
    );
    assert!(matches!(action_error(&c.run(tx).status).1, ActionErrorKind::ActorNoPermission { .. }));
}
