//! Bounds on server-streamed subscriptions: how many are open at once on the node and per
//! credential (per client address when credentials are not required), and how far behind the
//! head one may start. Each open subscription holds a [`Slot`] until its stream ends.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use chain_types::BlockHeight;
use parking_lot::Mutex;
use tonic::Status;

use crate::access::{client_key, AccessConfig, Principal};

#[derive(Debug)]
pub struct Subscriptions {
    max_total: usize,
    max_per_holder: usize,
    max_replay: u64,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_holder: HashMap<String, usize>,
}

/// An open subscription's place under the caps, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    registry: Arc<Subscriptions>,
    holder: String,
}

/// Who a subscription is counted against: the credential, else the client's address.
pub fn holder<T>(req: &tonic::Request<T>) -> String {
    let ext = req.extensions();
    holder_from(ext.get::<Principal>(), ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0))
}

/// [`holder`] from what a request carries (the console's block stream has no tonic request).
pub fn holder_from(principal: Option<&Principal>, addr: Option<SocketAddr>) -> String {
    if let Some(name) = principal.and_then(|p| p.username.as_ref()) {
        return format!("credential `{name}`");
    }
    match addr {
        Some(addr) => format!("address {}", client_key(addr.ip())),
        None => "anonymous".to_owned(),
    }
}

impl Subscriptions {
    pub fn new(config: &AccessConfig) -> Self {
        Subscriptions {
            max_total: config.max_subscriptions.get(),
            max_per_holder: config.max_subscriptions_per_credential.get(),
            max_replay: config.max_replay_blocks,
            open: Mutex::new(Open::default()),
        }
    }

    /// Checks where the subscription starts: at most `max_replay_blocks` behind `head`.
    pub fn check_start(&self, from: Option<BlockHeight>, head: BlockHeight) -> Result<(), Status> {
        let Some(from) = from else { return Ok(()) };
        let behind = head.saturating_sub(from);
        if behind <= self.max_replay {
            return Ok(());
        }
        Err(Status::out_of_range(format!(
            "from_height {from} is {behind} blocks behind the head ({head}); a subscription may start at most \
             {} blocks back (rpc.access.max_replay_blocks): read older blocks with GetBlock, then subscribe from \
             within the limit",
            self.max_replay
        )))
    }

    /// Takes a slot for `holder`, or RESOURCE_EXHAUSTED naming the cap that is reached.
    pub fn open(self: &Arc<Self>, holder: String) -> Result<Slot, Status> {
        let mut open = self.open.lock();
        if open.total >= self.max_total {
            return Err(Status::resource_exhausted(format!(
                "the node serves at most {} subscriptions at once (rpc.access.max_subscriptions); retry later",
                self.max_total
            )));
        }
        let held = open.per_holder.get(&holder).copied().unwrap_or(0);
        if held >= self.max_per_holder {
            return Err(Status::resource_exhausted(format!(
                "{holder} has {held} subscriptions open, the most allowed \
                 (rpc.access.max_subscriptions_per_credential); close one first"
            )));
        }
        open.total += 1;
        open.per_holder.insert(holder.clone(), held + 1);
        Ok(Slot { registry: self.clone(), holder })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.registry.open.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_holder.get_mut(&self.holder) {
            *n -= 1;
            if *n == 0 {
                open.per_holder.remove(&self.holder);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroUsize;
    use tonic::Code;

    fn registry() -> Arc<Subscriptions> {
        Arc::new(Subscriptions::new(&AccessConfig {
            max_subscriptions: NonZeroUsize::new(3).unwrap(),
            max_subscriptions_per_credential: NonZeroUsize::new(2).unwrap(),
            max_replay_blocks: 100,
            ..AccessConfig::default()
        }))
    }

    #[test]
    fn caps_per_holder_and_per_node() {
        let r = registry();
        let a = [r.open("a".into()).unwrap(), r.open("a".into()).unwrap()];
        let e = r.open("a".into()).unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted);
        assert!(e.message().contains("a has 2 subscriptions open"), "{}", e.message());
        let _b = r.open("b".into()).unwrap();
        let e = r.open("c".into()).unwrap_err();
        assert!(e.message().contains("at most 3 subscriptions"), "{}", e.message());
        drop(a);
        r.open("a".into()).expect("closed ones give their slots back");
    }

    #[test]
    fn a_start_too_far_back_is_refused_naming_the_limit() {
        let r = registry();
        r.check_start(None, 1_000).unwrap();
        r.check_start(Some(900), 1_000).unwrap();
        r.check_start(Some(5_000), 1_000).unwrap();
        let e = r.check_start(Some(1), 1_000).unwrap_err();
        assert_eq!(e.code(), Code::OutOfRange);
        assert!(e.message().contains("at most 100 blocks back") && e.message().contains("GetBlock"), "{}", e.message());
    }
}
