//! The node's answers to the RPC's verifiable and explorer reads: state changes per block,
//! module storage, state proofs, the keys a view reads, and the network as `network_info`
//! shows it.
//!
//! # Invariants
//! - A state proof is against the root after the block asked about, which the next block's
//!   header carries; the next block must be committed ([`NodeError::NotYetProvable`]).
//! - Historical listings (`module_state`) see every key that existed at the block: keys live
//!   at the head plus keys deleted since, from the stored per-block changes (within
//!   [`HISTORY_SCAN_BLOCKS`] of the head).

use chain_types::{AccessKey, Account, AccountId, Block, PublicKey};
use rpc::{
    BlockRef, NetworkInfo, NodeError, PeerView, StateChangeValue, StateChangeView, StateEntries, StateProof, StateRead,
};

use crate::node::Node;
use crate::store::{ParsedKey, StateKey};

/// How far back (in blocks) a storage listing is answered.
pub const HISTORY_SCAN_BLOCKS: u64 = 10_000;

fn corrupt(what: &str, e: impl std::fmt::Display) -> NodeError {
    NodeError::Internal(format!("corrupt {what}: {e}"))
}

/// Whether the account exists and which module it runs, as of tree `version`.
pub fn module_at(node: &Node, id: &AccountId, version: u64) -> Result<(bool, Option<String>), NodeError> {
    let exists = node.store.state_at(&StateKey::account(id), version).map_err(Node::internal)?.is_some();
    let module = node
        .store
        .state_at(&StateKey::module(id), version)
        .map_err(Node::internal)?
        .map(|b| String::from_utf8(b).map_err(|e| corrupt("module name", e)))
        .transpose()?;
    Ok((exists, module))
}

fn decode_change(
    node: &Node,
    key: &[u8],
    value: Option<Vec<u8>>,
    version: u64,
) -> Result<Option<StateChangeValue>, NodeError> {
    let Some(parsed) = StateKey::parse(key) else { return Ok(None) };
    Ok(Some(match (parsed, value) {
        (ParsedKey::Account(account_id), Some(v)) => {
            let account: Account = borsh::from_slice(&v).map_err(|e| corrupt("account", e))?;
            let (_, module) = module_at(node, &account_id, version)?;
            StateChangeValue::AccountUpdate { account_id, account, module }
        }
        (ParsedKey::Account(account_id), None) => StateChangeValue::AccountDeletion { account_id },
        (ParsedKey::AccessKey(account_id, public_key), Some(v)) => {
            let access_key: AccessKey = borsh::from_slice(&v).map_err(|e| corrupt("access key", e))?;
            StateChangeValue::AccessKeyUpdate { account_id, public_key, access_key }
        }
        (ParsedKey::AccessKey(account_id, public_key), None) => {
            StateChangeValue::AccessKeyDeletion { account_id, public_key }
        }
        (ParsedKey::Module(account_id), Some(v)) => StateChangeValue::ContractCodeUpdate {
            account_id,
            module: String::from_utf8(v).map_err(|e| corrupt("module name", e))?,
        },
        (ParsedKey::Module(account_id), None) => StateChangeValue::ContractCodeDeletion { account_id },
        (ParsedKey::ModuleData(account_id, key), Some(value)) => {
            StateChangeValue::DataUpdate { account_id, key, value }
        }
        (ParsedKey::ModuleData(account_id, key), None) => StateChangeValue::DataDeletion { account_id, key },
    }))
}

/// Every write of the block `at` names, decoded, with its cause.
pub fn state_changes(node: &Node, at: BlockRef) -> Result<(Vec<StateChangeView>, Block), NodeError> {
    let stored = node.resolve(at)?;
    let records = node.store.changes(stored.block.header.height).map_err(Node::internal)?;
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        if let Some(value) = decode_change(node, &r.key, r.value, stored.jmt_version)? {
            out.push(StateChangeView { cause: r.cause, value });
        }
    }
    Ok((out, stored.block))
}

/// A module's storage under `prefix` as of block `at`: `None` if the account does not exist.
pub fn module_state(
    node: &Node,
    id: &AccountId,
    prefix: &[u8],
    at: BlockRef,
) -> Result<(Option<StateEntries>, Block), NodeError> {
    let stored = node.resolve(at)?;
    let (exists, _) = module_at(node, id, stored.jmt_version)?;
    if !exists {
        return Ok((None, stored.block));
    }
    let base = StateKey::module_data_prefix(id);
    let mut full = base.clone();
    full.extend_from_slice(prefix);
    let mut candidates: std::collections::BTreeSet<Vec<u8>> =
        node.store.state_prefix(&full).map_err(Node::internal)?.into_iter().map(|(k, _)| k).collect();
    let height = stored.block.header.height;
    let head = node.store.head().map_err(Node::internal)?.unwrap_or(height);
    if head.saturating_sub(height) > HISTORY_SCAN_BLOCKS {
        return Err(NodeError::Internal(format!(
            "module storage is listed for the last {HISTORY_SCAN_BLOCKS} blocks; block {height} is older"
        )));
    }
    for h in height + 1..=head {
        for r in node.store.changes(h).map_err(Node::internal)? {
            if r.value.is_none() && r.key.starts_with(&full) {
                candidates.insert(r.key);
            }
        }
    }
    let mut entries = Vec::new();
    for key in candidates {
        if let Some(value) = node.store.state_at(&key, stored.jmt_version).map_err(Node::internal)? {
            entries.push((key[base.len()..].to_vec(), value));
        }
    }
    Ok((Some(entries), stored.block))
}

fn key_of(read: &StateRead) -> Vec<u8> {
    match read {
        StateRead::Account(id) => StateKey::account(id),
        StateRead::AccessKey(id, pk) => StateKey::access_key(id, pk),
        StateRead::ModuleData(id, key) => StateKey::module_data(id, key),
        StateRead::Raw(key) => key.clone(),
    }
}

/// Proofs of `reads` as of block `at`, against the root the next block's header carries.
pub fn prove_state(node: &Node, reads: &[StateRead], at: BlockRef) -> Result<(Vec<StateProof>, Block), NodeError> {
    let stored = node.resolve(at)?;
    let height = stored.block.header.height;
    let child = node.store.block(height + 1).map_err(Node::internal)?.ok_or(NodeError::NotYetProvable(height))?;
    let root = node.store.root_at(stored.jmt_version).map_err(Node::internal)?;
    if root != child.block.header.prev_state_root {
        return Err(NodeError::Internal(format!(
            "the state root after block {height} is {root}, but block {} carries {}",
            height + 1,
            child.block.header.prev_state_root
        )));
    }
    let mut proofs = Vec::with_capacity(reads.len());
    for read in reads {
        let key = key_of(read);
        let (value, proof) = node.store.prove_at(&key, stored.jmt_version).map_err(Node::internal)?;
        proofs.push(StateProof {
            key,
            value,
            proof,
            root_block: child.block.clone(),
            root_certificate: child.certificate.clone(),
        });
    }
    Ok((proofs, stored.block))
}

/// The state keys a view call reads as of block `at`.
pub fn view_reads(
    node: &Node,
    id: &AccountId,
    method: &str,
    args: &[u8],
    at: BlockRef,
) -> Result<Vec<StateRead>, NodeError> {
    let stored = node.resolve(at)?;
    let ctx = node.context_at(&stored);
    let keys = node
        .runtime
        .view_reads(&ctx, stored.jmt_version, id, method, args)
        .map_err(|e| NodeError::Internal(format!("the view failed when re-run to prove it: {e}")))?;
    Ok(keys.into_iter().map(StateRead::Raw).collect())
}

/// The node's network key as an ed25519 public key (its peer id's key). A node without p2p
/// (a one-validator chain) shows its consensus key, and a node with neither zeros.
pub fn network_key(node: &Node, validator_key: Option<PublicKey>) -> PublicKey {
    node.network().and_then(|n| peer_key(&n.local_peer_id)).or(validator_key).unwrap_or(PublicKey([0; 32]))
}

/// The ed25519 key a peer id holds (ed25519 peer ids inline their key).
fn peer_key(id: &libp2p::PeerId) -> Option<PublicKey> {
    let mh: &libp2p::multihash::Multihash<64> = id.as_ref();
    let key = libp2p::identity::PublicKey::try_decode_protobuf(mh.digest()).ok()?;
    Some(PublicKey(key.try_into_ed25519().ok()?.to_bytes()))
}

/// Connected peers (named when they are validators) and the validators of the current and
/// next sets with their addresses.
pub fn network_info(node: &Node) -> NetworkInfo {
    let schedule = node.validators.subscribe().borrow().clone();
    let mut producers: Vec<PeerView> = Vec::new();
    for v in schedule.current.iter().chain(schedule.next()) {
        if !producers.iter().any(|p| p.peer_id == v.peer_id) {
            producers.push(PeerView {
                peer_id: v.peer_id.clone(),
                addr: Some(v.address.clone()),
                account_id: Some(v.account_id.clone()),
            });
        }
    }
    let active_peers = node
        .network()
        .map(|n| n.connected_peer_ids())
        .unwrap_or_default()
        .into_iter()
        .map(|id| {
            let id = id.to_string();
            producers.iter().find(|p| p.peer_id == id).cloned().unwrap_or(PeerView {
                peer_id: id,
                addr: None,
                account_id: None,
            })
        })
        .collect();
    let uptime = node.started.elapsed().as_secs().max(1);
    let (sent, received) = node.metrics().network_bytes();
    NetworkInfo {
        active_peers,
        known_producers: producers,
        peer_max_count: u32::try_from(schedule.current.len() + schedule.next().len()).unwrap_or(u32::MAX),
        sent_bytes_per_sec: sent / uptime,
        received_bytes_per_sec: received / uptime,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_peer_id_gives_back_its_ed25519_key() {
        let key = libp2p::identity::Keypair::ed25519_from_bytes([3u8; 32]).unwrap();
        let expected = key.public().try_into_ed25519().unwrap().to_bytes();
        assert_eq!(super::peer_key(&key.public().to_peer_id()), Some(chain_types::PublicKey(expected)));
    }
}
