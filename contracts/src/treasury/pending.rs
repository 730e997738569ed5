//! The pending list: dropping expired requests, running a request that reached the
//! threshold, deleting one, and re-checking every pending request after a config change.

use super::execute;
use super::state::{self, Config, RequestRecord, RequestStatus};
use crate::{Host, ModuleError};

/// The pending ids, after dropping the expired ones (record, deletion votes and list entry).
/// Every call that acts on requests reads the list through this, so the list holds at most
/// `members x active_requests_limit` ids plus those that expired since the last call.
pub fn live_ids(host: &mut dyn Host, config: &Config) -> Result<Vec<u32>, ModuleError> {
    let height = host.block_height();
    let ids = state::pending_ids(host)?;
    let mut live = Vec::with_capacity(ids.len());
    for id in &ids {
        let record = state::request(host, *id)?;
        if record.is_expired(config, height) {
            state::remove_request(host, *id);
            host.log(format!("request {id} expired after height {} and was dropped", record.expires_after(config)));
        } else {
            live.push(*id);
        }
    }
    if live.len() != ids.len() {
        state::set_pending_ids(host, &live);
    }
    Ok(live)
}

/// Takes `id` off the pending list (dropping expired ones on the way).
fn unlist(host: &mut dyn Host, config: &Config, id: u32) -> Result<(), ModuleError> {
    let mut ids = live_ids(host, config)?;
    ids.retain(|i| *i != id);
    state::set_pending_ids(host, &ids);
    Ok(())
}

/// Deletes a pending request: record, deletion votes and list entry.
pub fn delete(host: &mut dyn Host, config: &Config, id: u32) -> Result<(), ModuleError> {
    unlist(host, config, id)?;
    state::remove_request(host, id);
    Ok(())
}

/// Runs a request that reached the threshold, atomically, and records the outcome
/// (executed with its logs, or failed with the error): the request is no longer pending
/// either way. Returns true if it changed the config (so pending requests must be
/// re-checked).
pub fn run(host: &mut dyn Host, id: u32, mut record: RequestRecord) -> Result<bool, ModuleError> {
    let height = host.block_height();
    let request = record.request.clone();
    let mut logs = Vec::new();
    let result = host.atomically(&mut |h| {
        logs = execute::run(h, &request)?;
        Ok(Vec::new())
    });
    let changed_config = result.is_ok() && request.actions.iter().any(|a| a.is_config_change());
    record.status = match result {
        Ok(_) => RequestStatus::Executed { height, logs },
        Err(e) => {
            host.log(format!("request {id} failed: {e}"));
            RequestStatus::Failed { height, error: e.to_string() }
        }
    };
    state::write_request(host, id, &record);
    state::clear_delete_votes(host, id);
    let config = state::config(host)?;
    unlist(host, &config, id)?;
    Ok(changed_config)
}

/// After a config change: in id order, with the config as it stands at each step, a pending
/// request with deletion votes from K current members is deleted, and one with confirmations
/// from K current members runs (deletion first: when both reach K, nothing runs). A request
/// that changes the config again starts the pass over. Ends because each step removes a
/// request from the list.
pub fn settle(host: &mut dyn Host) -> Result<(), ModuleError> {
    'pass: loop {
        let config = state::config(host)?;
        for id in live_ids(host, &config)? {
            let votes = config.count_members(&state::delete_votes(host, id)?);
            if config.reached(votes) {
                delete(host, &config, id)?;
                host.log(format!("request {id} deleted: {votes} deletion votes now reach the threshold"));
                continue;
            }
            let record = state::request(host, id)?;
            let have = record.current_confirmations(&config);
            if config.reached(have) {
                host.log(format!("request {id} runs: {have} confirmations now reach the threshold"));
                if run(host, id, record)? {
                    continue 'pass;
                }
            }
        }
        return Ok(());
    }
}
