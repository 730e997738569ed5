//! The member calls: `add_request`, `confirm`, `delete_request`.

use chain_types::CryptoHash;

use super::pending;
use super::request::{MultiSigRequest, MultisigMember};
use super::state::{self, Config, RequestRecord, RequestStatus};
use crate::{Host, ModuleError};

/// The member making this call: the signing key when the treasury signs for itself, the
/// calling account otherwise.
pub fn caller(host: &dyn Host) -> MultisigMember {
    if host.predecessor() == host.current_account() {
        MultisigMember::AccessKey { public_key: *host.signer_public_key() }
    } else {
        MultisigMember::Account { account_id: host.predecessor().clone() }
    }
}

fn member_caller(host: &dyn Host, config: &Config) -> Result<MultisigMember, ModuleError> {
    let who = caller(host);
    if !config.is_member(&who) {
        return Err(ModuleError::Rejected(format!("{who} is not a member of the treasury")));
    }
    Ok(who)
}

/// A request that is still pending (it may have expired: callers decide what that means).
fn pending_record(host: &dyn Host, id: u32) -> Result<RequestRecord, ModuleError> {
    let record = state::request(host, id)?;
    if record.status != RequestStatus::Pending {
        return Err(ModuleError::Rejected(format!("request {id} is no longer pending")));
    }
    Ok(record)
}

pub fn add_request(host: &mut dyn Host, request: MultiSigRequest) -> Result<u32, ModuleError> {
    if host.attached_deposit() > 0 {
        return Err(ModuleError::Rejected("treasury requests take no deposit".into()));
    }
    let config = state::config(host)?;
    let who = member_caller(host, &config)?;
    let treasury = host.current_account().clone();
    request.check_shape(&treasury)?;
    let height = host.block_height();
    let mut ids = pending::live_ids(host, &config)?;
    let mut live = 0u32;
    for id in &ids {
        if state::request(host, *id)?.proposer == who {
            live += 1;
        }
    }
    if live >= config.active_requests_limit {
        return Err(ModuleError::Rejected(format!(
            "{who} already has {live} active requests (the limit is {})",
            config.active_requests_limit
        )));
    }
    let id = state::nonce(host)?;
    let next = id.checked_add(1).ok_or_else(|| ModuleError::Rejected("request ids exhausted".into()))?;
    let hash = request.hash(host.chain_id(), &treasury, id);
    let record = RequestRecord {
        request,
        hash,
        proposer: who,
        added_at: height,
        confirmations: Vec::new(),
        status: RequestStatus::Pending,
    };
    state::write_request(host, id, &record);
    state::set_nonce(host, next);
    ids.push(id);
    state::set_pending_ids(host, &ids);
    host.log(format!("request {id} added, hash {hash}"));
    Ok(id)
}

/// Records the caller's confirmation; runs the request once current members' confirmations
/// reach the threshold. The confirmation stands even if the request then fails. A request
/// that changed the config is followed by a re-check of every pending request.
pub fn confirm(host: &mut dyn Host, id: u32, hash: Option<CryptoHash>) -> Result<(), ModuleError> {
    let config = state::config(host)?;
    let who = member_caller(host, &config)?;
    let mut record = pending_record(host, id)?;
    if let Some(h) = hash {
        if h != record.hash {
            return Err(ModuleError::Rejected(format!("request {id} has hash {}, not {h}", record.hash)));
        }
    }
    if record.is_expired(&config, host.block_height()) {
        return Err(ModuleError::Rejected(format!(
            "request {id} expired after height {}",
            record.expires_after(&config)
        )));
    }
    if record.confirmations.contains(&who) {
        return Err(ModuleError::Rejected(format!("{who} already confirmed request {id}")));
    }
    record.confirmations.push(who);
    let have = record.current_confirmations(&config);
    if !config.reached(have) {
        host.log(format!("request {id}: {have} of {} confirmations", config.num_confirmations));
        state::write_request(host, id, &record);
        return Ok(());
    }
    if pending::run(host, id, record)? {
        pending::settle(host)?;
    }
    Ok(())
}

/// Deletes a pending request, or records the caller's vote to delete it. Returns whether
/// the request is gone.
///
/// - An expired request: any member drops it at once.
/// - Its proposer, once `delete_cooldown_blocks` have passed since it was added: at once.
/// - Otherwise the call is a deletion vote (one per member); the request is deleted when
///   votes from current members reach `num_confirmations`, as confirmations would run it.
pub fn delete_request(host: &mut dyn Host, id: u32) -> Result<bool, ModuleError> {
    let config = state::config(host)?;
    let who = member_caller(host, &config)?;
    let record = pending_record(host, id)?;
    let height = host.block_height();
    if record.is_expired(&config, height) {
        pending::live_ids(host, &config)?;
        return Ok(true);
    }
    let cooldown_end = record.added_at.saturating_add(config.delete_cooldown_blocks);
    if who == record.proposer && height >= cooldown_end {
        pending::delete(host, &config, id)?;
        host.log(format!("request {id} deleted by its proposer {who}"));
        return Ok(true);
    }
    let mut votes = state::delete_votes(host, id)?;
    if votes.contains(&who) {
        return Err(ModuleError::Rejected(format!("{who} already voted to delete request {id}")));
    }
    votes.push(who.clone());
    let have = config.count_members(&votes);
    if config.reached(have) {
        pending::delete(host, &config, id)?;
        host.log(format!("request {id} deleted by {have} members' votes, the last from {who}"));
        return Ok(true);
    }
    state::set_delete_votes(host, id, &votes);
    let alone = if who == record.proposer {
        format!("; its proposer alone may delete it from height {cooldown_end}")
    } else {
        String::new()
    };
    host.log(format!("request {id}: {have} of {} deletion votes{alone}", config.num_confirmations));
    Ok(false)
}
