//! The workspace module through real transactions on a real store: organizations seeded from
//! genesis, invited by the treasury and accepted by their admin; users invited with a role;
//! roles, removals and credentials by the organization's own admins and operators; every
//! refusal typed by name and changing nothing.

use base64::Engine as _;
use chain_types::ExecutionStatus;
use serde_json::{json, Value};

use crate::harness::{function_call, ok, TestChain};
use crate::treasury::{approve, refused, returned};

const WORKSPACE: &str = "workspace";

fn call(c: &mut TestChain, signer: &str, method: &str, args: Value) -> ExecutionStatus {
    let tx = c.tx(signer, WORKSPACE, vec![function_call(method, args.to_string().as_bytes(), 0)]);
    c.run(tx).status
}

fn view(c: &TestChain, method: &str, args: Value) -> Value {
    c.view(WORKSPACE, method, args).expect("workspace view")
}

/// Everything the module shows, to check a refusal changed nothing.
fn snapshot(c: &TestChain) -> Value {
    let orgs = view(c, "get_organizations", json!({}));
    let creds: Vec<Value> =
        orgs.as_array().unwrap().iter().map(|o| view(c, "get_credentials", json!({"org_id": o["id"]}))).collect();
    // `expired` is how views show a pending invitation past its height, not stored state.
    let mut invitations = view(c, "get_invitations", json!({}));
    for i in invitations.as_array_mut().unwrap() {
        if i["status"] == "expired" {
            i["status"] = json!("pending");
        }
    }
    json!([orgs, invitations, creds])
}

/// A refusal named `name`, with nothing changed.
fn refused_as(c: &mut TestChain, signer: &str, method: &str, args: Value, name: &str) -> String {
    let before = snapshot(c);
    let message = refused(&call(c, signer, method, args));
    assert!(message.starts_with(&format!("{name}: ")), "{method} by {signer}: {message}");
    assert_eq!(snapshot(c), before, "{method} refused changes nothing");
    message
}

/// The treasury (2 of alice, bob, carol) calls the workspace.
fn by_treasury(c: &mut TestChain, method: &str, args: Value) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD.encode(args.to_string());
    let request = json!({"receiver_id": WORKSPACE, "actions": [{"type": "FunctionCall", "method_name": method, "args": b64, "deposit": "0", "gas": "100000000000000"}]});
    let r = approve(c, request);
    assert_eq!(r["outcome"]["status"], "executed", "{r}");
    r
}

/// The treasury's `RemoveOrganization` request, decided; returns the request.
fn remove_organization(c: &mut TestChain, org_id: &str) -> Value {
    approve(c, json!({"receiver_id": "treasury", "actions": [{"type": "RemoveOrganization", "org_id": org_id}]}))
}

fn password_hash(password: &str) -> String {
    chain_types::sha256(password.as_bytes()).to_string()
}

#[test]
fn organizations_join_by_invitation_and_admins_manage_their_own() {
    let mut c = TestChain::new();
    let orgs = view(&c, "get_organizations", json!({}));
    assert_eq!(orgs[0]["id"], "acme");
    assert_eq!(orgs[0]["members"]["acme"], "admin", "the first member administers a genesis organization");
    assert_eq!(orgs[0]["members"]["alice.acme"], "member");

    // Only the treasury invites organizations.
    let invite = json!({"org_id": "globex", "name": "Globex", "admin": "carol.acme"});
    refused_as(&mut c, "alice.acme", "invite_organization", invite.clone(), "NotTreasury");
    by_treasury(&mut c, "invite_organization", invite.clone());
    let invitations = view(&c, "get_invitations", json!({"account_id": "carol.acme"}));
    assert_eq!(invitations[0]["kind"], "organization");
    assert_eq!(invitations[0]["status"], "pending");
    refused_as(&mut c, "bob.acme", "accept_invitation", json!({"invitation_id": 0}), "NotInvitee");
    refused_as(&mut c, "alice.acme", "accept_invitation", json!({"invitation_id": 9}), "UnknownInvitation");
    ok(&call(&mut c, "carol.acme", "accept_invitation", json!({"invitation_id": 0})));
    refused_as(&mut c, "carol.acme", "accept_invitation", json!({"invitation_id": 0}), "InvitationUsed");
    let globex = view(&c, "get_organization", json!({"org_id": "globex"}));
    assert_eq!(globex["members"], json!({"carol.acme": "admin"}));

    // Globex's admin invites bob as an operator; acme's admin has no say in globex.
    let bob_invite = json!({"org_id": "globex", "account_id": "bob.acme", "role": "operator"});
    refused_as(&mut c, "alice.acme", "invite_user", bob_invite.clone(), "NotAdmin");
    let boss = json!({"org_id": "globex", "account_id": "bob.acme", "role": "boss"});
    refused_as(&mut c, "carol.acme", "invite_user", boss, "UnknownRole");
    let id = returned(&call(&mut c, "carol.acme", "invite_user", bob_invite)).as_u64().unwrap();
    ok(&call(&mut c, "bob.acme", "accept_invitation", json!({"invitation_id": id})));
    assert_eq!(view(&c, "get_organization", json!({"org_id": "globex"}))["members"]["bob.acme"], "operator");
    let again = json!({"org_id": "globex", "account_id": "bob.acme", "role": "viewer"});
    refused_as(&mut c, "carol.acme", "invite_user", again, "AlreadyMember");
    let not_admin = json!({"org_id": "globex", "account_id": "carol.acme", "role": "viewer"});
    refused_as(&mut c, "bob.acme", "set_role", not_admin, "NotAdmin");
    let demote = json!({"org_id": "globex", "account_id": "carol.acme", "role": "member"});
    refused_as(&mut c, "carol.acme", "set_role", demote, "LastAdmin");

    // An expired invitation, and a declined one.
    let short = json!({"org_id": "globex", "account_id": "alice.acme", "role": "viewer", "expires_in_blocks": 0});
    let id = returned(&call(&mut c, "carol.acme", "invite_user", short)).as_u64().unwrap();
    refused_as(&mut c, "alice.acme", "accept_invitation", json!({"invitation_id": id}), "InvitationExpired");
    let viewer = json!({"org_id": "globex", "account_id": "alice.acme", "role": "viewer"});
    let id = returned(&call(&mut c, "carol.acme", "invite_user", viewer)).as_u64().unwrap();
    ok(&call(&mut c, "alice.acme", "decline_invitation", json!({"invitation_id": id})));
    refused_as(&mut c, "alice.acme", "accept_invitation", json!({"invitation_id": id}), "InvitationUsed");

    // Credentials: by admins and operators of the organization, metadata only.
    let cred =
        json!({"org_id": "globex", "username": "app1", "role": "submit", "password_sha256": password_hash("secret")});
    refused_as(&mut c, "alice.acme", "create_credential", cred.clone(), "NotAdminOrOperator");
    let created = returned(&call(&mut c, "bob.acme", "create_credential", cred.clone()));
    assert_eq!((created["username"].clone(), created["role"].clone()), (json!("app1"), json!("submit")));
    refused_as(&mut c, "carol.acme", "create_credential", cred, "CredentialExists");
    let listed = view(&c, "get_credentials", json!({"org_id": "globex"}));
    assert_eq!(listed[0]["created_by"], "bob.acme");
    assert!(listed[0].get("password_sha256").is_none(), "no password hash in views: {listed}");
    let bad_role =
        json!({"org_id": "globex", "username": "app2", "role": "root", "password_sha256": password_hash("x")});
    refused_as(&mut c, "carol.acme", "create_credential", bad_role, "UnknownRole");
    ok(&call(&mut c, "carol.acme", "revoke_credential", json!({"org_id": "globex", "username": "app1"})));
    refused_as(
        &mut c,
        "carol.acme",
        "revoke_credential",
        json!({"org_id": "globex", "username": "app1"}),
        "UnknownCredential",
    );
    assert!(view(&c, "get_credentials", json!({"org_id": "globex"}))[0]["revoked_at"].is_u64());

    // Removing a user, then the organization (treasury only): its credentials end.
    ok(&call(&mut c, "carol.acme", "remove_user", json!({"org_id": "globex", "account_id": "bob.acme"})));
    let cred = json!({"org_id": "globex", "username": "app3", "role": "read", "password_sha256": password_hash("y")});
    ok(&call(&mut c, "carol.acme", "create_credential", cred));
    refused_as(&mut c, "carol.acme", "remove_organization", json!({"org_id": "globex"}), "NotTreasury");
    let r = remove_organization(&mut c, "globex");
    assert_eq!(r["outcome"]["status"], "executed", "{r}");
    let ids: Vec<Value> =
        view(&c, "get_organizations", json!({})).as_array().unwrap().iter().map(|o| o["id"].clone()).collect();
    assert_eq!(ids, vec![json!("acme")]);
    let err = c.view(WORKSPACE, "get_credentials", json!({"org_id": "globex"})).unwrap_err();
    assert!(err.contains("UnknownOrganization"), "{err}");
}

#[test]
fn per_organization_limits_come_from_genesis() {
    let mut c = TestChain::with_genesis(|g| {
        g.genesis.workspace.limits.max_users_per_organization = 1;
        g.genesis.workspace.limits.max_credentials_per_organization = 1;
    });
    by_treasury(&mut c, "invite_organization", json!({"org_id": "globex", "name": "Globex", "admin": "carol.acme"}));
    ok(&call(&mut c, "carol.acme", "accept_invitation", json!({"invitation_id": 0})));
    // Globex has carol: a second user is over the limit of one.
    let invite = json!({"org_id": "globex", "account_id": "bob.acme", "role": "viewer"});
    let id = returned(&call(&mut c, "carol.acme", "invite_user", invite)).as_u64().unwrap();
    let m = refused_as(&mut c, "bob.acme", "accept_invitation", json!({"invitation_id": id}), "OverLimit");
    assert!(m.contains("limit of 1 users"), "{m}");
    let cred =
        |u: &str| json!({"org_id": "globex", "username": u, "role": "read", "password_sha256": password_hash(u)});
    ok(&call(&mut c, "carol.acme", "create_credential", cred("one")));
    refused_as(&mut c, "carol.acme", "create_credential", cred("two"), "OverLimit");
}

#[test]
fn expired_invitations_stop_counting_and_show_as_expired() {
    let mut c = TestChain::with_genesis(|g| g.genesis.workspace.limits.max_pending_invitations_per_organization = 1);
    let invite = |who: &str, blocks: u64| json!({"org_id": "acme", "account_id": who, "role": "viewer", "expires_in_blocks": blocks});
    let first = returned(&call(&mut c, "acme", "invite_user", invite("dave.acme", 1))).as_u64().unwrap();
    let m = refused_as(&mut c, "acme", "invite_user", invite("erin.acme", 1), "OverLimit");
    assert!(m.contains("limit of 1 pending invitations"), "{m}");
    c.block(vec![]);
    c.block(vec![]);
    // Expired: no longer open, no longer counted, shown as such, and never acceptable.
    let listed = view(&c, "get_invitations", json!({"account_id": "dave.acme"}));
    assert_eq!(listed[0]["status"], "expired", "{listed}");
    refused_as(&mut c, "alice.acme", "accept_invitation", json!({"invitation_id": first}), "InvitationExpired");
    ok(&call(&mut c, "acme", "invite_user", invite("erin.acme", 100)));
    // An organization id is free again once its invitation expired.
    let org = json!({"org_id": "globex", "name": "Globex", "admin": "carol.acme", "expires_in_blocks": 0});
    by_treasury(&mut c, "invite_organization", org.clone());
    by_treasury(&mut c, "invite_organization", org);
}

#[test]
fn nobody_acts_on_another_organizations_users_credentials_or_ids() {
    let mut c = TestChain::new();
    by_treasury(&mut c, "invite_organization", json!({"org_id": "globex", "name": "Globex", "admin": "carol.acme"}));
    ok(&call(&mut c, "carol.acme", "accept_invitation", json!({"invitation_id": 0})));
    let cred = json!({"org_id": "acme", "username": "acme-app", "role": "read", "password_sha256": password_hash("a")});
    ok(&call(&mut c, "acme", "create_credential", cred));
    // globex's admin on acme's credential and user, and acme's on globex's.
    let theirs = json!({"org_id": "acme", "username": "acme-app"});
    refused_as(&mut c, "carol.acme", "revoke_credential", theirs, "NotAdminOrOperator");
    let user = json!({"org_id": "acme", "account_id": "alice.acme"});
    refused_as(&mut c, "carol.acme", "remove_user", user, "NotAdmin");
    refused_as(&mut c, "acme", "remove_user", json!({"org_id": "globex", "account_id": "carol.acme"}), "NotAdmin");
    // A username is the workspace's, not the organization's.
    let same =
        json!({"org_id": "globex", "username": "acme-app", "role": "read", "password_sha256": password_hash("b")});
    let m = refused_as(&mut c, "carol.acme", "create_credential", same, "CredentialExists");
    assert!(m.contains("by organization acme"), "{m}");
    let bad = json!({"org_id": "globex", "username": "App One", "role": "read", "password_sha256": password_hash("c")});
    refused_as(&mut c, "carol.acme", "create_credential", bad, "InvalidId");
}

fn validator(account: &str) -> Value {
    let network = genesis::NetworkKeyFile::new(chain_types::SecretKey::generate());
    json!({"account_id": account, "consensus_key": chain_types::SecretKey::generate().public_key(),
        "peer_id": network.peer_id, "address": format!("/ip4/127.0.0.1/tcp/{}", 20000 + account.len())})
}

fn validator_set(c: &TestChain, which: &str) -> Vec<Value> {
    let s = c.view("treasury", "get_validators", json!({})).unwrap();
    s[which].as_array().unwrap().iter().map(|v| v["account_id"].clone()).collect()
}

#[test]
fn an_organizations_validators_leave_with_it() {
    let mut c = TestChain::new();
    assert_eq!(view(&c, "get_organization", json!({"org_id": "acme"}))["validators"], json!(["v0.acme"]));
    by_treasury(&mut c, "invite_organization", json!({"org_id": "globex", "name": "Globex", "admin": "carol.acme"}));
    ok(&call(&mut c, "carol.acme", "accept_invitation", json!({"invitation_id": 0})));
    let add = |account: &str, org: &str| json!({"receiver_id": "treasury", "actions": [{"type": "AddValidator", "validator": validator(account), "organization": org}]});
    // Only to an organization that exists, and the treasury's actions are the only way in.
    let r = approve(&mut c, add("carol.acme", "initech"));
    assert!(r["outcome"]["error"].as_str().unwrap().contains("UnknownOrganization"), "{r}");
    let r = approve(&mut c, add("carol.acme", "globex"));
    assert_eq!(r["outcome"]["status"], "executed", "{r}");
    // A validator is in one place: the set refuses a duplicate before the workspace would.
    let again = json!({"receiver_id": "treasury", "actions": [{"type": "ReplaceValidator", "account_id": "v0.acme", "validator": validator("carol.acme")}]});
    let r = approve(&mut c, again);
    assert!(r["outcome"]["error"].as_str().unwrap().contains("already"), "{r}");
    assert_eq!(view(&c, "get_organization", json!({"org_id": "globex"}))["validators"], json!(["carol.acme"]));
    assert_eq!(validator_set(&c, "pending"), [json!("v0.acme"), json!("carol.acme")]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(json!({"org_id": "globex"}).to_string());
    let direct = json!({"receiver_id": WORKSPACE, "actions": [{"type": "FunctionCall", "method_name": "remove_organization", "args": b64, "deposit": "0", "gas": "100000000000000"}]});
    let r = approve(&mut c, direct);
    assert!(r["outcome"]["error"].as_str().unwrap().contains("use the RemoveOrganization action"), "{r}");

    // Removing globex removes carol.acme from the next set; acme keeps its validator.
    let r = remove_organization(&mut c, "globex");
    assert_eq!(r["outcome"]["status"], "executed", "{r}");
    assert_eq!(validator_set(&c, "pending"), [json!("v0.acme")]);
    // The last organization with validators cannot leave: the set would be empty.
    let r = remove_organization(&mut c, "acme");
    assert!(r["outcome"]["error"].as_str().unwrap().contains("cannot be empty"), "{r}");
    assert!(view(&c, "get_organization", json!({"org_id": "acme"}))["id"] == "acme", "nothing changed");
}
