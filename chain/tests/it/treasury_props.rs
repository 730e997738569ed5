//! Property: any sequence of requests, confirmations, member changes and deletions keeps
//! `1 <= K <= N`; leaves no live request pending with confirmations (or deletion votes)
//! from K current members; and the treasury's balance or config moves only when requests
//! execute, each with confirmations from at least K of the members as they were just before
//! it ran: the confirmed request against the config before the call, and the requests a
//! config change released (lowest id first, as the module re-checks) against the config as
//! the earlier ones left it.

use contracts::treasury::{Config, MultisigMember};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::harness::TestChain;
use crate::treasury::{call, config_request, transfer_request, TREASURY};

/// Who may act: the three genesis members and two outsiders (one of which may be added).
const ACTORS: [&str; 5] = ["alice.acme", "bob.acme", "carol.acme", "acme", "dave0.acme"];

#[derive(Debug, Clone)]
enum Op {
    Propose {
        by: usize,
        what: Proposal,
    },
    Confirm {
        by: usize,
        request: u32,
    },
    Delete {
        by: usize,
        request: u32,
    },
    /// An empty block: time passes.
    Wait,
}

#[derive(Debug, Clone)]
enum Proposal {
    Transfer(u128),
    AddMember(usize),
    DeleteMember(usize),
    SetK(u32),
}

fn op() -> impl Strategy<Value = Op> {
    let proposal = prop_oneof![
        (1u128..1_000).prop_map(Proposal::Transfer),
        (0usize..5).prop_map(Proposal::AddMember),
        (0usize..5).prop_map(Proposal::DeleteMember),
        (0u32..6).prop_map(Proposal::SetK),
    ];
    // Mostly the genesis members, sometimes an outsider; mostly the first few requests.
    let by = || prop_oneof![4 => 0usize..3, 1 => 3usize..5];
    prop_oneof![
        3 => (by(), proposal).prop_map(|(by, what)| Op::Propose { by, what }),
        6 => (by(), 0u32..4).prop_map(|(by, request)| Op::Confirm { by, request }),
        1 => (by(), 0u32..4).prop_map(|(by, request)| Op::Delete { by, request }),
        1 => Just(Op::Wait),
    ]
}

fn request(p: &Proposal) -> Value {
    let member = |i: usize| json!({"account_id": ACTORS[i]});
    match p {
        Proposal::Transfer(a) => transfer_request("acme", *a),
        Proposal::AddMember(i) => config_request(json!({"type": "AddMember", "member": member(*i)})),
        Proposal::DeleteMember(i) => config_request(json!({"type": "DeleteMember", "member": member(*i)})),
        Proposal::SetK(k) => config_request(json!({"type": "SetNumConfirmations", "num_confirmations": k})),
    }
}

fn config(c: &TestChain) -> Config {
    serde_json::from_value(c.view(TREASURY, "get_config", json!({})).unwrap()).unwrap()
}

fn executed_now(c: &TestChain, request: u32) -> Option<Value> {
    let r = c.view(TREASURY, "get_request", json!({"request_id": request})).ok()?;
    let height = c.head().block.header.height;
    (r["outcome"]["status"] == "executed" && r["outcome"]["height"] == json!(height)).then_some(r)
}

fn members(v: &Value) -> Vec<MultisigMember> {
    serde_json::from_value(v.clone()).unwrap()
}

/// The live pending requests as the views show them.
fn pending(c: &TestChain) -> Vec<Value> {
    let ids: Vec<u32> = serde_json::from_value(c.view(TREASURY, "list_request_ids", json!({})).unwrap()).unwrap();
    ids.into_iter().map(|id| c.view(TREASURY, "get_request", json!({"request_id": id})).unwrap()).collect()
}

/// What an executed request did to the config.
fn apply(config: &mut Config, request: &Value) {
    let action = &request["actions"][0];
    match action["type"].as_str() {
        Some("AddMember") => config.members.push(serde_json::from_value(action["member"].clone()).unwrap()),
        Some("DeleteMember") => {
            let gone: MultisigMember = serde_json::from_value(action["member"].clone()).unwrap();
            config.members.retain(|m| *m != gone);
        }
        Some("SetNumConfirmations") => config.num_confirmations = action["num_confirmations"].as_u64().unwrap() as u32,
        _ => {}
    }
}

/// Checks the requests a config change released at this height: repeatedly, the lowest id
/// with K current deletion votes is deleted, else the lowest with K current confirmations
/// ran. `config` is the config after the confirmed request; returns it as the released
/// requests left it.
fn check_released(c: &TestChain, mut config: Config, mut waiting: Vec<Value>) -> Result<Config, TestCaseError> {
    let height = c.head().block.header.height;
    waiting.retain(|r| r["expires_after_height"].as_u64().unwrap() >= height);
    loop {
        let reached = |r: &Value, field: &str| config.reached(config.count_members(&members(&r[field])));
        let Some(pos) = waiting.iter().position(|r| reached(r, "deletion_votes") || reached(r, "confirmations")) else {
            return Ok(config);
        };
        let r = waiting.remove(pos);
        let id = r["request_id"].as_u64().unwrap();
        let now = c.view(TREASURY, "get_request", json!({"request_id": id}));
        if reached(&r, "deletion_votes") {
            prop_assert!(now.is_err(), "request {id} should have been deleted: {now:?}");
            continue;
        }
        let now = now.map_err(TestCaseError::fail)?;
        prop_assert_eq!(&now["outcome"]["height"], &json!(height), "request {} should have run: {}", id, now);
        if now["outcome"]["status"] == "executed" {
            apply(&mut config, &now);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn threshold_and_funds_are_always_guarded(ops in proptest::collection::vec(op(), 1..60)) {
        let mut c = TestChain::with_genesis(|g| {
            g.add_funded_accounts("dave", 1, 1_000).unwrap();
            g.genesis.treasury.request_lifetime_blocks = 15;
            g.genesis.treasury.delete_cooldown_blocks = 4;
        });
        for op in ops {
            let before = config(&c);
            let waiting = pending(&c);
            let balance = c.balance(TREASURY);
            let confirmed = match &op {
                Op::Propose { by, what } => {
                    call(&mut c, ACTORS[*by], "add_request", json!({"request": request(what)}));
                    None
                }
                Op::Confirm { by, request } => {
                    call(&mut c, ACTORS[*by], "confirm", json!({"request_id": request}));
                    Some(*request)
                }
                Op::Delete { by, request } => {
                    call(&mut c, ACTORS[*by], "delete_request", json!({"request_id": request}));
                    None
                }
                Op::Wait => {
                    c.block(vec![]);
                    None
                }
            };
            let after = config(&c);
            let n = after.members.len() as u32;
            prop_assert!(1 <= after.num_confirmations && after.num_confirmations <= n, "K={} N={n}", after.num_confirmations);
            let ran = confirmed.and_then(|r| executed_now(&c, r));
            if let Some(r) = &ran {
                let valid = before.count_members(&members(&r["confirmations"]));
                prop_assert!(valid >= before.num_confirmations as usize,
                    "request {r} ran with {valid} current confirmations, needs {}", before.num_confirmations);
                let mut config = before.clone();
                apply(&mut config, r);
                let others = waiting.into_iter().filter(|w| w["request_id"] != r["request_id"]).collect();
                let released = check_released(&c, config, others)?;
                prop_assert_eq!(&released, &after, "the config is what the requests that ran made it");
            } else {
                prop_assert!(c.balance(TREASURY) == balance && after == before, "state moved without an execution: {op:?}");
            }
            for r in pending(&c) {
                for field in ["confirmations", "deletion_votes"] {
                    let have = after.count_members(&members(&r[field]));
                    prop_assert!(!after.reached(have), "request {} pending with {have} current {field}", r["request_id"]);
                }
            }
            prop_assert_eq!(c.total_balance(), c.generated.genesis.total_supply);
        }
    }
}
