//! Property: any sequence of requests, confirmations, member changes and deletions keeps
//! `1 <= K <= N`, and the treasury's balance moves only when a request executes with
//! confirmations from at least K of the members as they were just before it ran.

use contracts::treasury::Config;
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
            if c.balance(TREASURY) != balance || after != before {
                let r = ran.ok_or_else(|| TestCaseError::fail(format!("state moved without an execution: {op:?}")))?;
                let confirmations: Vec<contracts::treasury::MultisigMember> =
                    serde_json::from_value(r["confirmations"].clone()).unwrap();
                let valid = confirmations.iter().filter(|m| before.is_member(m)).count();
                prop_assert!(valid >= before.num_confirmations as usize,
                    "request {r} ran with {valid} current confirmations, needs {}", before.num_confirmations);
            }
            prop_assert_eq!(c.total_balance(), c.generated.genesis.total_supply);
        }
    }
}
