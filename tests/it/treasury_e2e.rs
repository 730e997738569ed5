//! The treasury on a 4-validator testnet, as one story:
//! 1. the 2-of-3 treasury mints a top-level account through the registrar and funds it;
//! 2. the new account creates a sub-account of its own;
//! 3. a fifth validator (keys not in the genesis) is added: from the next epoch all five
//!    sign and each holds total_stake / 5;
//! 4. one validator is removed: the set is four again, each with total_stake / 4, the chain
//!    goes on without a halt, and the removed one is cut off the network.

use std::time::Duration;

use base64::Engine as _;
use chain_types::{Action, AddKeyAction, CreateAccountAction, SecretKey, TransferAction};
use genesis::{KeyFile, NetworkKeyFile};
use rpc::client::RpcClient;
use serde_json::{json, Value};
use testnet::{Layout, Network, NetworkOptions};
use tests::{
    account_key, block, free_port, free_port_range, height, locked, submit, treasury_decides, wait_all, wait_all_sign,
    wait_for_set,
};

const EPOCH: u64 = 10;
const TOKEN: u128 = 10u128.pow(24);

async fn account(rpc: &RpcClient, id: &str) -> Value {
    rpc.view_account(&id.parse().unwrap()).await.unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn treasury_mints_a_tla_and_changes_the_validator_set_without_a_halt() {
    let dir = tempfile::tempdir().unwrap();
    let opts = NetworkOptions {
        epoch_length: Some(EPOCH),
        ..NetworkOptions::new(4, free_port_range(4), free_port_range(4), "treasury-e2e")
    };
    let mut net = Network::up(Layout::new(dir.path()), &opts).await.expect("4 validators up");
    let rpc = net.nodes[0].rpc.clone();
    let total_stake = net.genesis.total_stake;

    // 1. Mint `globex` through the registrar, funded by the treasury.
    let globex = KeyFile::new("globex".parse().unwrap(), SecretKey::generate());
    let treasury_before: u128 = account(&rpc, "treasury").await["amount"].as_str().unwrap().parse().unwrap();
    let mint = json!({"new_account_id": "globex", "new_public_key": globex.public_key});
    let request = json!({"receiver_id": "registrar", "actions": [{"type": "FunctionCall", "method_name": "create_account",
        "args": base64::engine::general_purpose::STANDARD.encode(mint.to_string()), "deposit": (50 * TOKEN).to_string(), "gas": "30000000000000"}]});
    treasury_decides(&net, request).await;
    assert_eq!(account(&rpc, "globex").await["amount"], json!((50 * TOKEN).to_string()));
    let treasury_after: u128 = account(&rpc, "treasury").await["amount"].as_str().unwrap().parse().unwrap();
    assert_eq!(treasury_before - treasury_after, 50 * TOKEN);

    // 2. globex creates, funds and keys a sub-account.
    let pay = SecretKey::generate();
    submit(
        &rpc,
        &globex,
        "pay.globex",
        vec![
            Action::CreateAccount(CreateAccountAction {}),
            Action::Transfer(TransferAction { deposit: 5 * TOKEN }),
            Action::AddKey(Box::new(AddKeyAction {
                public_key: pay.public_key(),
                access_key: chain_types::AccessKey::full_access(),
            })),
        ],
    )
    .await;
    // Final on node 0; node 3 commits the same block independently, moments later.
    let mut seen = Value::Null;
    for _ in 0..100 {
        seen = account(&net.nodes[3].rpc, "pay.globex").await;
        if !seen.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen["amount"], json!((5 * TOKEN).to_string()), "node 3 sees the sub-account");

    // 3. A fifth validator: its account, its node (following as an observer), the request.
    let acme = account_key(&net, "acme");
    submit(
        &rpc,
        &acme,
        "v4.acme",
        vec![Action::CreateAccount(CreateAccountAction {}), Action::Transfer(TransferAction { deposit: 1 })],
    )
    .await;
    let consensus = KeyFile::new("v4.acme".parse().unwrap(), SecretKey::generate());
    let network = NetworkKeyFile::new(SecretKey::generate());
    let p2p_port = free_port();
    net.join("v4.acme", &consensus, &network, free_port(), p2p_port).await.expect("fifth node up");
    let add = json!({"receiver_id": "treasury", "actions": [{"type": "AddValidator", "validator": {
        "account_id": "v4.acme", "consensus_key": consensus.public_key, "peer_id": network.peer_id,
        "address": format!("/ip4/127.0.0.1/tcp/{p2p_port}")}, "organization": "acme"}]});
    treasury_decides(&net, add).await;
    let five_from = wait_for_set(&net, 5, 3 * EPOCH + 10).await;
    assert!(
        five_from > 1 && (five_from - 1) % EPOCH == 0,
        "the set changes after an epoch's last block, not at {five_from}"
    );
    let five = ["v0.acme", "v1.acme", "v2.acme", "v3.acme", "v4.acme"];
    for v in five {
        assert_eq!(locked(&rpc, v).await, total_stake / 5, "{v} holds a fifth of the stake");
    }
    let looked = wait_all_sign(&rpc, five_from, &five, 60).await;
    eprintln!("all five proposed and signed within {looked} blocks from height {five_from}");

    // 4. Remove v1: four again, the chain goes on.
    let remove = json!({"receiver_id": "treasury", "actions": [{"type": "RemoveValidator", "account_id": "v1.acme"}]});
    treasury_decides(&net, remove).await;
    let four_from = wait_for_set(&net, 4, 3 * EPOCH + 10).await;
    assert_eq!(locked(&rpc, "v1.acme").await, 0);
    let four = ["v0.acme", "v2.acme", "v3.acme", "v4.acme"];
    for v in four {
        assert_eq!(locked(&rpc, v).await, total_stake / 4, "{v} holds a quarter of the stake");
    }
    wait_all_sign(&rpc, four_from, &four, 60).await;
    // The four go on; v1, removed, is disconnected and refused (it is in no allowlist), so it
    // stops where the set changed.
    let target = height(&rpc).await + 5;
    let staying: Vec<usize> = (0..net.nodes.len()).filter(|i| net.nodes[*i].account != "v1.acme").collect();
    let rpcs: Vec<RpcClient> = net.nodes.iter().map(|n| n.rpc.clone()).collect();
    let reached = wait_all(&rpcs, &staying, target, 30).await;
    assert!(reached.iter().all(|h| *h >= target), "the four keep going: {reached:?} for {target}");
    let removed = net.nodes.iter().position(|n| n.account == "v1.acme").expect("v1 runs");
    let cut_off = height(&rpcs[removed]).await;
    assert!(cut_off < target, "v1 was removed but still follows the chain to {cut_off}");
    // A light client follows both validator-set changes from the genesis file alone and
    // proves a transaction of the last set and an account's state.
    let alice = account_key(&net, "alice.acme");
    let nonce = rpc.nonce(&alice.account_id, &alice.public_key).await.unwrap() + 1;
    let tx = tests::transfer(&alice, "bob.acme", nonce, rpc.final_block_hash().await.unwrap(), 1);
    rpc.send_tx(&tx, "FINAL").await.unwrap();
    tests::reach(&rpc, height(&rpc).await + 2, 30).await;
    let out = std::process::Command::new(tests::binary("chain"))
        .args(["verify", "--rpc", rpc.url(), "--tx", &format!("{}:alice.acme", tx.hash()), "--account", "v4.acme"])
        .arg("--genesis")
        .arg(Layout::new(dir.path()).genesis_file())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "chain verify: {shown}{}", String::from_utf8_lossy(&out.stderr));
    assert!(shown.contains("validator set of 5") && shown.contains("validator set of 4"), "{shown}");
    assert!(shown.contains(&format!("transaction {}: in block", tx.hash())), "{shown}");
    for h in 1..target {
        let first = block(&net.nodes[0].rpc, h).await["header"]["hash"].clone();
        for (i, node) in net.nodes.iter().enumerate().skip(1) {
            if i == removed && h > cut_off {
                continue;
            }
            assert_eq!(block(&node.rpc, h).await["header"]["hash"], first, "{} has the same block {h}", node.account);
        }
    }
    net.stop(Duration::from_secs(10)).await.unwrap();
}
