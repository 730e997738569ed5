//! The workspace on a running chain, as one story on 4 validators of 2 organizations (acme
//! runs v0 and v1, beta runs v2 and v3), driven with `chain workspace`:
//! 1. the treasury invites organization `c` (one member proposes, another confirms); c's
//!    admin accepts;
//! 2. the treasury adds c's validator; c's node, started from the genesis file with
//!    credentials required and no membership configured, syncs, signs from the next epoch
//!    and serves membership `c` (its validator's organization);
//! 3. c's admin invites a user, who accepts; refusals change nothing;
//! 4. c's admin creates a credential: it works on c's node, gets 403 naming the membership on
//!    acme's node (membership configured), and 401 from the block that revoked it;
//! 5. removing c takes its validator out at the epoch's end (stake re-divided over four) and
//!    its credentials stop.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use genesis::{KeyFile, NetworkKeyFile};
use rpc::client::{ClientError, RpcClient};
use serde_json::{json, Value};
use testnet::{Layout, Network, NetworkOptions};
use tests::{binary, free_port, free_port_range, height, wait_all_sign, wait_for_set};

const EPOCH: u64 = 10;
const BALANCE: u128 = 10u128.pow(25);

/// Genesis: acme (v0, v1) and beta (v2, v3, admin `badmin0.acme`), plus funded accounts for
/// c's admin, c's user and c's validator.
fn write_genesis(layout: &Layout, p2p_base: u16) {
    let mut g = genesis::generate(&genesis::NewGenesisOptions {
        validators: 4,
        preset: genesis::Preset::Development,
        chain_id: "workspace-e2e".into(),
        host: "127.0.0.1".into(),
        base_port: p2p_base,
        genesis_time_ms: genesis::unix_time_ms(),
    })
    .unwrap();
    for prefix in ["badmin", "cadmin", "cuser", "cval"] {
        g.add_funded_accounts(prefix, 1, BALANCE).unwrap();
    }
    g.genesis.epoch_length = EPOCH;
    g.genesis.organizations.push(genesis::Organization {
        id: "beta".into(),
        name: "Beta".into(),
        members: vec!["badmin0.acme".parse().unwrap()],
        admins: vec![],
    });
    for v in &mut g.genesis.validators[2..] {
        v.organization = "beta".into();
    }
    std::fs::create_dir_all(layout.genesis_dir()).unwrap();
    g.write(&layout.genesis_dir()).unwrap();
}

/// Runs `chain workspace <args>` against `rpc`; returns (success, stdout, stderr).
fn cli(rpc: &RpcClient, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(binary("chain"));
    cmd.arg("workspace").args(args).args(["--rpc", rpc.url()]);
    if let Some((user, password)) = rpc.basic_auth() {
        cmd.env("CHAIN_RPC_CREDENTIAL", format!("{user}:{password}"));
    }
    let out = cmd.output().expect("chain workspace");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8");
    (out.status.success(), text(out.stdout), text(out.stderr))
}

/// `chain workspace` that must succeed; returns its stdout.
fn ok(rpc: &RpcClient, args: &[&str]) -> String {
    let (success, out, err) = cli(rpc, args);
    assert!(success, "chain workspace {args:?}: {out}{err}");
    out
}

fn key_path(layout: &Layout, account: &str) -> String {
    layout.accounts_dir().join(format!("{account}.json")).display().to_string()
}

async fn view(rpc: &RpcClient, method: &str, args: Value) -> Value {
    let args = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, args.to_string());
    let r = rpc
        .call(
            "query",
            json!({"request_type": "call_function", "finality": "final", "account_id": "workspace",
                "method_name": method, "args_base64": args}),
        )
        .await
        .expect("workspace view");
    let bytes: Vec<u8> = serde_json::from_value(r["result"].clone()).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Everything the workspace shows: organizations, invitations, credentials.
async fn snapshot(rpc: &RpcClient) -> Value {
    let orgs = view(rpc, "get_organizations", json!({})).await;
    let mut credentials = Vec::new();
    for o in orgs.as_array().unwrap() {
        credentials.push(view(rpc, "get_credentials", json!({"org_id": o["id"]})).await);
    }
    json!([orgs, view(rpc, "get_invitations", json!({})).await, credentials])
}

/// The HTTP status a credential gets from `status` on the node at `url`, and the message.
async fn answer(url: &str, user: &str, password: &str) -> (u16, String) {
    match RpcClient::new(url).with_basic_auth(user, password).status().await {
        Ok(_) => (200, String::new()),
        Err(ClientError::Refused { status, body }) => (status, body["message"].as_str().unwrap_or("").to_owned()),
        Err(e) => panic!("{url}: {e}"),
    }
}

/// [`answer`], asked again (bounded) until it is `status`: the node at `url` may be a block
/// behind the one the change was final on.
async fn answer_becomes(url: &str, user: &str, password: &str, status: u16) -> String {
    let mut last = (0, String::new());
    for _ in 0..100 {
        last = answer(url, user, password).await;
        if last.0 == status {
            return last.1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url}: {user} got {} ({}), not {status}", last.0, last.1);
}

fn node_log(home: &Path) -> String {
    std::fs::read_to_string(home.join("node.log")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_joins_gets_credentials_honoured_by_its_node_and_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let opts = NetworkOptions {
        epoch_length: Some(EPOCH),
        ..NetworkOptions::new(4, free_port_range(4), free_port_range(4), "workspace-e2e")
    };
    write_genesis(&layout, opts.p2p_base_port);
    let mut net = Network::up(Layout::new(dir.path()), &opts).await.expect("4 validators up");
    let total_stake = net.genesis.total_stake;
    let key = |account: &str| key_path(&Layout::new(dir.path()), account);
    // Transactions and the views that check them go through one node (v0).
    let mut rpc = net.nodes[0].rpc.clone();

    // Two organizations, each with its genesis validators.
    let orgs = view(&rpc, "get_organizations", json!({})).await;
    assert_eq!(orgs[0]["validators"], json!(["v0.acme", "v1.acme"]));
    assert_eq!(orgs[1]["validators"], json!(["v2.acme", "v3.acme"]));
    assert_eq!(orgs[1]["members"], json!({"badmin0.acme": "admin"}));

    // 1. The treasury invites c: alice proposes, bob confirms; c's admin accepts.
    let invited = ok(
        &rpc,
        &[
            "invite-organization",
            "--key",
            &key("alice.acme"),
            "--org",
            "c",
            "--name",
            "C Corp",
            "--admin",
            "cadmin0.acme",
        ],
    );
    assert!(invited.contains("pending with 1 of 2 confirmations"), "{invited}");
    let request = invited.split("treasury request ").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    let confirmed = ok(&rpc, &["confirm-request", "--key", &key("bob.acme"), "--request", &request]);
    assert!(confirmed.contains("executed"), "{confirmed}");
    let invitations = view(&rpc, "get_invitations", json!({"account_id": "cadmin0.acme"})).await;
    assert_eq!(
        (invitations[0]["kind"].clone(), invitations[0]["status"].clone()),
        (json!("organization"), json!("pending"))
    );
    let id = invitations[0]["id"].to_string();
    // Only the invitee may accept.
    let before = snapshot(&rpc).await;
    let (success, _, err) = cli(&rpc, &["accept", "--key", &key("cuser0.acme"), "--invitation", &id]);
    assert!(!success && err.contains("NotInvitee: invitation 0 is for cadmin0.acme"), "{err}");
    assert_eq!(snapshot(&rpc).await, before, "a refusal changes nothing");
    ok(&rpc, &["accept", "--key", &key("cadmin0.acme"), "--invitation", &id]);

    // 2. c's node joins from the genesis file, with credentials required and membership c,
    //    then the treasury adds its validator for organization c.
    let consensus = KeyFile::new("cval0.acme".parse().unwrap(), chain_types::SecretKey::generate());
    let network = NetworkKeyFile::new(chain_types::SecretKey::generate());
    let p2p_port = free_port();
    let c_node = net.join("cval0.acme", &consensus, &network, free_port(), p2p_port).await.expect("c's node up");
    // No membership configured: it takes its validator's organization once it has one.
    tests::restart_with_credentials(&mut net, c_node, None).await;
    let add = json!({"receiver_id": "treasury", "actions": [{"type": "AddValidator", "validator": {
        "account_id": "cval0.acme", "consensus_key": consensus.public_key, "peer_id": network.peer_id,
        "address": format!("/ip4/127.0.0.1/tcp/{p2p_port}")}, "organization": "c"}]});
    tests::treasury_decides(&net, add).await;
    assert_eq!(view(&rpc, "get_organization", json!({"org_id": "c"})).await["validators"], json!(["cval0.acme"]));
    let five_from = wait_for_set(&net, 5, 3 * EPOCH + 20).await;
    assert!((five_from - 1).is_multiple_of(EPOCH), "the set changes at an epoch boundary, not at {five_from}");
    let five = ["v0.acme", "v1.acme", "v2.acme", "v3.acme", "cval0.acme"];
    wait_all_sign(&rpc, five_from, &five, 60).await;

    // 3. c's admin invites a user, who accepts. Refusals, each by name, change nothing.
    let invited = ok(
        &rpc,
        &["invite-user", "--key", &key("cadmin0.acme"), "--org", "c", "--account", "cuser0.acme", "--role", "member"],
    );
    let id = invited.split("invitation ").nth(1).unwrap().split(':').next().unwrap().to_owned();
    let before = snapshot(&rpc).await;
    for (args, name) in [
        (
            vec![
                "invite-user",
                "--key",
                &key("badmin0.acme"),
                "--org",
                "c",
                "--account",
                "bob.acme",
                "--role",
                "member",
            ],
            "NotAdmin",
        ),
        (
            vec!["invite-user", "--key", &key("cadmin0.acme"), "--org", "c", "--account", "bob.acme", "--role", "boss"],
            "UnknownRole",
        ),
        (vec!["accept", "--key", &key("cadmin0.acme"), "--invitation", &id], "NotInvitee"),
        (
            vec!["create-credential", "--key", &key("cuser0.acme"), "--org", "c", "--username", "x", "--role", "read"],
            "NotAdminOrOperator",
        ),
    ] {
        let (success, _, err) = cli(&rpc, &args);
        assert!(!success && err.contains(&format!("{name}: ")), "{args:?}: {err}");
    }
    assert_eq!(snapshot(&rpc).await, before, "refusals change nothing");
    ok(&rpc, &["accept", "--key", &key("cuser0.acme"), "--invitation", &id]);
    let (success, _, err) = cli(&rpc, &["accept", "--key", &key("cuser0.acme"), "--invitation", &id]);
    assert!(!success && err.contains("InvitationUsed"), "{err}");
    let listed = ok(&rpc, &["list", "--org", "c"]);
    assert!(listed.contains("c (C Corp)") && listed.contains("cuser0.acme") && listed.contains("member"), "{listed}");

    // 4. A credential for membership c: works on c's node, 403 on acme's, 401 once revoked.
    let created = ok(
        &rpc,
        &["create-credential", "--key", &key("cadmin0.acme"), "--org", "c", "--username", "c-app", "--role", "submit"],
    );
    let (user, password) = created.trim().split_once(':').expect("username:password");
    assert_eq!((user, password.len()), ("c-app", 43), "a 256-bit password, base64url");
    let c_url = net.nodes[c_node].rpc.url().to_owned();
    answer_becomes(&c_url, user, password, 200).await;
    assert_eq!(answer(&c_url, user, "wrong").await.0, 401);
    tests::restart_with_credentials(&mut net, 0, Some("acme")).await;
    rpc = net.nodes[0].rpc.clone();
    assert!(node_log(&net.nodes[0].home).contains("membership=acme"), "v0 serves acme, as configured");
    let acme_url = net.nodes[0].rpc.url().to_owned();
    let (status, message) = answer(&acme_url, user, password).await;
    assert_eq!(status, 403, "{message}");
    assert!(message.contains("belongs to membership `c`; this node serves membership `acme`"), "{message}");
    let listed = ok(&net.nodes[c_node].rpc, &["list", "--org", "c"]);
    assert!(listed.contains("c-app") && listed.contains("submit"), "through c's node, with its credential: {listed}");
    ok(&rpc, &["revoke-credential", "--key", &key("cadmin0.acme"), "--org", "c", "--username", "c-app"]);
    let revoked_at = view(&rpc, "get_credentials", json!({"org_id": "c"})).await[0]["revoked_at"].as_u64().unwrap();
    // From the block that revoked it on: any request made once c's node is at that height.
    let c_rpc = net.nodes[c_node].rpc.clone();
    let mut refused = None;
    for _ in 0..200 {
        let at = height(&c_rpc).await;
        let (status, message) = answer(&c_url, user, password).await;
        if at >= revoked_at {
            assert_eq!(status, 401, "c's node at {at}, revoked in block {revoked_at}: {message}");
            refused = Some(message);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let message = refused.expect("c's node reached the revoking block");
    assert!(message.contains("revoked at block"), "{message}");

    // 5. Removing c: its validator leaves at the epoch's end, the stake is re-divided over
    //    four, and its credentials stop.
    let created = ok(
        &rpc,
        &["create-credential", "--key", &key("cadmin0.acme"), "--org", "c", "--username", "c-app2", "--role", "read"],
    );
    let (user, password) = created.trim().split_once(':').unwrap();
    answer_becomes(&c_url, user, password, 200).await;
    let removing = ok(&rpc, &["remove-organization", "--key", &key("alice.acme"), "--org", "c"]);
    let request = removing.split("treasury request ").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    let removed = ok(&rpc, &["confirm-request", "--key", &key("carol.acme"), "--request", &request]);
    assert!(
        removed.contains("removed organization c") && removed.contains("validator set from the next epoch"),
        "{removed}"
    );
    let message = answer_becomes(&c_url, user, password, 401).await;
    assert!(message.contains("of membership `c` was revoked at block"), "{message}");
    let ids: Vec<Value> =
        view(&rpc, "get_organizations", json!({})).await.as_array().unwrap().iter().map(|o| o["id"].clone()).collect();
    assert_eq!(ids, [json!("acme"), json!("beta")]);
    // The other nodes see the set of four; c's node is cut off once its validator is out.
    let others: Vec<usize> = (0..net.nodes.len()).filter(|i| *i != c_node).collect();
    let four_from = tests::wait_for_set_on(&net, &others, 4, 3 * EPOCH + 20).await;
    assert!((four_from - 1).is_multiple_of(EPOCH), "at an epoch boundary, not {four_from}");
    for v in ["v0.acme", "v1.acme", "v2.acme", "v3.acme"] {
        assert_eq!(tests::locked(&rpc, v).await, total_stake / 4, "{v} holds a quarter of the stake");
    }
    assert_eq!(tests::locked(&rpc, "cval0.acme").await, 0);
    wait_all_sign(&rpc, four_from, &["v0.acme", "v1.acme", "v2.acme", "v3.acme"], 60).await;
    net.stop(Duration::from_secs(10)).await.unwrap();
}
