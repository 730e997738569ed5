//! Semantic checks on a parsed genesis. Every problem is collected, each naming its field.

use std::collections::{BTreeMap, BTreeSet};

use chain_types::{is_implicit, AccountId};
use contracts::staking::is_multiaddr_like;

use crate::{Genesis, Preset, Problem, TreasuryMember};

/// Minimum validators for the professional preset (tolerates one faulty validator).
pub const PROFESSIONAL_MIN_VALIDATORS: usize = 4;

/// Returns every problem found; empty means the genesis is valid.
pub fn validate(g: &Genesis) -> Vec<Problem> {
    let mut p = Vec::new();
    check_chain(g, &mut p);
    let orgs = check_organizations(g, &mut p);
    check_validators(g, &orgs, &mut p);
    check_treasury(g, &mut p);
    check_accounts(g, &mut p);
    check_supply(g, &mut p);
    p
}

fn check_chain(g: &Genesis, p: &mut Vec<Problem>) {
    let id_ok = !g.chain_id.is_empty()
        && g.chain_id.len() <= 64
        && g.chain_id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !id_ok {
        p.push(Problem::new("chain_id", format!("`{}` must be 1-64 chars of a-z, 0-9 and -", g.chain_id)));
    }
    if !g.workspace.master_account.is_top_level() {
        p.push(Problem::new("workspace.master_account", "must be a top-level account (no dot)"));
    }
    if g.workspace.name.trim().is_empty() {
        p.push(Problem::new("workspace.name", "must not be empty"));
    }
    if g.epoch_length == 0 {
        p.push(Problem::new("epoch_length", "must be at least 1"));
    }
    if g.transaction_validity_blocks == 0 {
        p.push(Problem::new("transaction_validity_blocks", "must be at least 1"));
    }
    let c = &g.consensus;
    for (name, v) in [
        ("max_block_interval_ms", c.max_block_interval_ms),
        ("timeout_propose_ms", c.timeout_propose_ms),
        ("timeout_vote_ms", c.timeout_vote_ms),
        ("timeout_max_ms", c.timeout_max_ms),
    ] {
        if v == 0 {
            p.push(Problem::new(format!("consensus.{name}"), "must be greater than 0"));
        }
    }
    if c.min_block_interval_ms > c.max_block_interval_ms {
        p.push(Problem::new("consensus.min_block_interval_ms", "must not exceed max_block_interval_ms"));
    }
    if c.timeout_max_ms < c.timeout_propose_ms.max(c.timeout_vote_ms) {
        p.push(Problem::new("consensus.timeout_max_ms", "must be at least the base propose and vote timeouts"));
    }
    if c.timeout_max_ms < MIN_TIMEOUT_CAP_MS {
        p.push(Problem::new(
            "consensus.timeout_max_ms",
            format!("must be at least {MIN_TIMEOUT_CAP_MS} ms: timeouts that stop growing early keep a slow network from ever finishing a round"),
        ));
    }
    for (name, v) in [
        ("max_tx_bytes", g.limits.max_tx_bytes),
        ("max_block_transactions", g.limits.max_block_transactions),
        ("mempool_capacity", g.limits.mempool_capacity),
        ("mempool_per_account", g.limits.mempool_per_account),
        ("mempool_bytes", g.limits.mempool_bytes),
        ("max_block_bytes", g.limits.max_block_bytes),
        ("max_block_cost", g.limits.max_block_cost),
    ] {
        if v == 0 {
            p.push(Problem::new(format!("limits.{name}"), "must be greater than 0"));
        }
    }
    let costliest = chain_types::max_transaction_cost(g.limits.max_tx_bytes);
    if g.limits.max_block_cost < costliest {
        p.push(Problem::new(
            "limits.max_block_cost",
            format!("must be at least {costliest}: the most a transaction of max_tx_bytes can cost, or one could never fit a block"),
        ));
    }
}

/// The lowest cap on growing timeouts a genesis may set.
pub const MIN_TIMEOUT_CAP_MS: u64 = 60_000;

fn check_organizations(g: &Genesis, p: &mut Vec<Problem>) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    if g.organizations.is_empty() {
        p.push(Problem::new("organizations", "at least one organization is required"));
    }
    for (i, o) in g.organizations.iter().enumerate() {
        if !contracts::workspace::is_valid_id(&o.id) {
            p.push(Problem::new(
                format!("organizations[{i}].id"),
                format!("`{}` must be 1 to 32 characters of a-z, 0-9, `-` and `_`", o.id),
            ));
        }
        if o.members.is_empty() {
            p.push(Problem::new(
                format!("organizations[{i}].members"),
                "an organization needs at least one member (its admin when none is named)",
            ));
        }
        if !ids.insert(o.id.clone()) {
            p.push(Problem::new(format!("organizations[{i}].id"), format!("duplicate organization `{}`", o.id)));
        }
    }
    let limits = &g.workspace.limits;
    for (field, value) in [
        ("max_users_per_organization", limits.max_users_per_organization),
        ("requests_per_sec_per_node", limits.requests_per_sec_per_node),
        ("max_connections_per_node", limits.max_connections_per_node),
    ] {
        if value == 0 {
            p.push(Problem::new(format!("workspace.limits.{field}"), "must be at least 1"));
        }
    }
    ids
}

fn check_validators(g: &Genesis, orgs: &BTreeSet<String>, p: &mut Vec<Problem>) {
    if g.validators.is_empty() {
        p.push(Problem::new("validators", "at least one validator is required"));
    }
    if g.preset == Preset::Professional && g.validators.len() < PROFESSIONAL_MIN_VALIDATORS {
        p.push(Problem::new(
            "validators",
            format!(
                "the professional preset needs at least {PROFESSIONAL_MIN_VALIDATORS}, found {}",
                g.validators.len()
            ),
        ));
    }
    if g.validators.len() > usize::from(u16::MAX) {
        p.push(Problem::new("validators", "too many validators"));
    }
    let (mut accounts, mut keys, mut peers, mut addrs) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for (i, v) in g.validators.iter().enumerate() {
        let f = |name: &str| format!("validators[{i}].{name}");
        if !accounts.insert(&v.account_id) {
            p.push(Problem::new(f("account_id"), format!("duplicate validator `{}`", v.account_id)));
        }
        if !keys.insert(v.consensus_key) {
            p.push(Problem::new(f("consensus_key"), format!("duplicate consensus key {}", v.consensus_key)));
        }
        if v.consensus_key.verifying_key().is_none() {
            p.push(Problem::new(f("consensus_key"), "not a valid ed25519 point"));
        }
        if !orgs.contains(&v.organization) {
            p.push(Problem::new(f("organization"), format!("unknown organization `{}`", v.organization)));
        }
        match v.peer_id.parse::<libp2p_identity::PeerId>() {
            Ok(_) if !peers.insert(&v.peer_id) => {
                p.push(Problem::new(f("peer_id"), format!("duplicate peer id {}", v.peer_id)));
            }
            Ok(_) => {}
            Err(e) => p.push(Problem::new(f("peer_id"), format!("not a libp2p peer id: {e}"))),
        }
        if !is_multiaddr_like(&v.address) {
            p.push(Problem::new(
                f("address"),
                format!("`{}` is not a multiaddr like /ip4/1.2.3.4/tcp/30333 or /dns/host/tcp/30333", v.address),
            ));
        } else if !addrs.insert(&v.address) {
            p.push(Problem::new(f("address"), format!("duplicate address {}", v.address)));
        }
    }
}

fn check_treasury(g: &Genesis, p: &mut Vec<Problem>) {
    let t = &g.treasury;
    if t.members.is_empty() {
        p.push(Problem::new("treasury.members", "at least one member is required"));
    }
    let mut seen = BTreeSet::new();
    for (i, m) in t.members.iter().enumerate() {
        if !seen.insert(m) {
            p.push(Problem::new(format!("treasury.members[{i}]"), "duplicate member"));
        }
        if let TreasuryMember::Account { account_id } = m {
            if account_id == &t.account_id {
                p.push(Problem::new(
                    format!("treasury.members[{i}].account_id"),
                    "the treasury cannot be its own member",
                ));
            }
        }
    }
    let n = t.members.len();
    if t.confirmations == 0 || t.confirmations as usize > n {
        p.push(Problem::new(
            "treasury.confirmations",
            format!("must be between 1 and the number of members ({n}), found {}", t.confirmations),
        ));
    }
    if t.active_requests_limit == 0 {
        p.push(Problem::new("treasury.active_requests_limit", "must be at least 1"));
    }
    if t.request_lifetime_blocks == 0 {
        p.push(Problem::new("treasury.request_lifetime_blocks", "must be at least 1"));
    }
    if !t.account_id.is_top_level() {
        p.push(Problem::new("treasury.account_id", "must be a top-level account (no dot)"));
    }
    if !g.registrar.account_id.is_top_level() {
        p.push(Problem::new("registrar.account_id", "must be a top-level account (no dot)"));
    }
    if t.account_id == g.registrar.account_id {
        p.push(Problem::new("registrar.account_id", "must differ from the treasury account"));
    }
}

fn check_accounts(g: &Genesis, p: &mut Vec<Problem>) {
    let mut all: Vec<(&AccountId, String)> = vec![
        (&g.treasury.account_id, "treasury.account_id".into()),
        (&g.registrar.account_id, "registrar.account_id".into()),
        (&g.workspace.account_id, "workspace.account_id".into()),
    ];
    all.extend(g.validators.iter().enumerate().map(|(i, v)| (&v.account_id, format!("validators[{i}].account_id"))));
    all.extend(g.accounts.iter().enumerate().map(|(i, a)| (&a.account_id, format!("accounts[{i}].account_id"))));
    let mut defined: BTreeMap<&AccountId, &str> = BTreeMap::new();
    for (id, field) in &all {
        if is_implicit(id) {
            p.push(Problem::new(field.clone(), format!("implicit account `{id}` is not allowed on this chain")));
        }
        match defined.get(id) {
            Some(first) => p.push(Problem::new(field.clone(), format!("account `{id}` is already defined at {first}"))),
            None => {
                defined.insert(id, field);
            }
        }
        let parent_known =
            id.get_parent_account_id().is_none_or(|parent| all.iter().any(|(o, _)| o.as_str() == parent.as_str()));
        if !parent_known {
            p.push(Problem::new(field.clone(), format!("the parent of `{id}` is not a genesis account")));
        }
    }
    for (i, org) in g.organizations.iter().enumerate() {
        for (j, admin) in org.admins.iter().enumerate() {
            if !org.members.contains(admin) {
                p.push(Problem::new(
                    format!("organizations[{i}].admins[{j}]"),
                    format!("`{admin}` is not one of the organization's members"),
                ));
            }
        }
    }
    if !g.workspace.account_id.is_top_level() {
        p.push(Problem::new("workspace.account_id", "must be a top-level account (no dot)"));
    }
    if !defined.contains_key(&g.workspace.master_account) {
        p.push(Problem::new(
            "workspace.master_account",
            format!("`{}` must be one of the genesis accounts", g.workspace.master_account),
        ));
    }
    for (i, m) in g.treasury.members.iter().enumerate() {
        if let TreasuryMember::Account { account_id } = m {
            if !defined.contains_key(account_id) {
                p.push(Problem::new(
                    format!("treasury.members[{i}].account_id"),
                    format!("`{account_id}` is not a genesis account"),
                ));
            }
        }
    }
    for (oi, o) in g.organizations.iter().enumerate() {
        for (mi, m) in o.members.iter().enumerate() {
            if !defined.contains_key(m) {
                p.push(Problem::new(
                    format!("organizations[{oi}].members[{mi}]"),
                    format!("`{m}` is not a genesis account"),
                ));
            }
        }
    }
    for (i, a) in g.accounts.iter().enumerate() {
        let mut keys = BTreeSet::new();
        for (k, key) in a.keys.iter().enumerate() {
            if !keys.insert(key) {
                p.push(Problem::new(format!("accounts[{i}].keys[{k}]"), "duplicate key"));
            }
        }
    }
}

fn check_supply(g: &Genesis, p: &mut Vec<Problem>) {
    if g.total_stake > g.total_supply {
        p.push(Problem::new("total_stake", format!("{} exceeds total_supply {}", g.total_stake, g.total_supply)));
        return;
    }
    if !g.validators.is_empty() && g.total_stake < g.validators.len() as u128 {
        p.push(Problem::new("total_stake", "must give every validator a non-zero stake"));
    }
    let balances = g.accounts.iter().try_fold(g.treasury.balance, |acc, a| acc.checked_add(a.balance));
    match balances.and_then(|b| b.checked_add(g.total_stake)) {
        Some(sum) if sum == g.total_supply => {}
        Some(sum) => p.push(Problem::new(
            "total_supply",
            format!("{} does not equal treasury balance + account balances + total stake = {sum}", g.total_supply),
        )),
        None => p.push(Problem::new("total_supply", "balances overflow u128")),
    }
}
