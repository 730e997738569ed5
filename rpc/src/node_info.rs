//! `EXPERIMENTAL_genesis_config`, `network_info` and `client_config` in nearcore's shapes.
//! Fields about fees, rewards, kick-outs and shards have no part on this chain and are
//! constants (no fees, no inflation, one shard): docs/ARCHITECTURE.md lists them.

use serde_json::{json, Value};

use crate::api::{NetworkInfo, PeerView};
use crate::{views, NodeApi, ProtocolConfig};

/// NEAR's `GenesisConfig` from the genesis this node runs.
pub fn genesis_config(c: &ProtocolConfig) -> Value {
    json!({
        "protocol_version": crate::methods::PROTOCOL_VERSION,
        "genesis_time": views::rfc3339(c.genesis_time_ms),
        "chain_id": c.chain_id,
        "genesis_height": 0,
        "num_block_producer_seats": c.genesis_validators.len(),
        "num_block_producer_seats_per_shard": [c.genesis_validators.len()],
        "avg_hidden_validator_seats_per_shard": [0],
        "dynamic_resharding": false,
        "epoch_length": c.epoch_length,
        "gas_limit": 0,
        "min_gas_price": "0",
        "max_gas_price": "0",
        "block_producer_kickout_threshold": 0,
        "chunk_producer_kickout_threshold": 0,
        "gas_price_adjustment_rate": [0, 1],
        "validators": c.genesis_validators.iter().map(|v| json!({
            "account_id": v.account_id,
            "public_key": v.public_key,
            "amount": v.stake.to_string(),
        })).collect::<Vec<_>>(),
        "transaction_validity_period": c.transaction_validity_blocks,
        "protocol_reward_rate": [0, 1],
        "max_inflation_rate": [0, 1],
        "total_supply": c.total_supply.to_string(),
        "num_blocks_per_year": 0,
        "protocol_treasury_account": c.treasury_account_id,
        "fishermen_threshold": "0",
    })
}

fn peer(p: &PeerView) -> Value {
    json!({ "id": p.peer_id, "addr": p.addr, "account_id": p.account_id })
}

/// NEAR's `RpcNetworkInfoResponse`.
pub fn network_info(n: &NetworkInfo) -> Value {
    json!({
        "active_peers": n.active_peers.iter().map(peer).collect::<Vec<_>>(),
        "num_active_peers": n.active_peers.len(),
        "peer_max_count": n.peer_max_count,
        "sent_bytes_per_sec": n.sent_bytes_per_sec,
        "received_bytes_per_sec": n.received_bytes_per_sec,
        "known_producers": n.known_producers.iter().map(|p| json!({
            "account_id": p.account_id,
            "peer_id": p.peer_id,
            "addr": p.addr,
        })).collect::<Vec<_>>(),
    })
}

/// NEAR's `RpcClientConfigResponse`: the settings of this node that NEAR clients know by
/// name (every field of that model is optional; the rest are in `chain run`'s config).
pub fn client_config<N: NodeApi>(node: &N) -> Value {
    let c = node.protocol_config();
    json!({
        "version": views::version(),
        "chain_id": c.chain_id,
        "epoch_length": c.epoch_length,
        "num_block_producer_seats": c.validators,
        "archive": true,
        "produce_empty_blocks": true,
        "tracked_shards_config": "AllShards",
        "save_tx_outcomes": true,
        "save_trie_changes": true,
        "save_state_changes": true,
    })
}
