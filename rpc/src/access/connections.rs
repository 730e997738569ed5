//! Connection caps: at most `max_connections` open at once, and at most
//! `max_connections_per_ip` from one client address, so one address cannot take every slot.
//! Past a cap a new connection is answered `429` with a JSON body and closed, so the node
//! never queues sockets it cannot serve and existing clients are unaffected.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use super::{client_key, AccessConfig};

#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: Option<usize>,
    max_per_ip: Option<usize>,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// A connection's place under the caps, given back when it is dropped.
#[derive(Debug)]
pub struct Slot {
    limits: Arc<ConnectionLimits>,
    key: IpAddr,
}

/// Why a connection was turned away.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the node holds at most {max} connections open; retry later")]
    NodeFull { max: usize },
    #[error("at most {max} connections may be open from one address; close one or retry later")]
    AddressFull { max: usize },
}

impl ConnectionLimits {
    pub fn new(config: &AccessConfig) -> Self {
        ConnectionLimits {
            max_total: config.max_connections,
            max_per_ip: config.connections_per_ip(),
            open: Mutex::new(Open::default()),
        }
    }

    /// Takes a slot for a connection from `peer`, or says which cap is reached.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Slot, Refused> {
        let key = client_key(peer);
        let mut open = self.open.lock();
        if let Some(max) = self.max_total.filter(|m| open.total >= *m) {
            return Err(Refused::NodeFull { max });
        }
        let from_peer = open.per_ip.get(&key).copied().unwrap_or(0);
        if let Some(max) = self.max_per_ip.filter(|m| from_peer >= *m) {
            return Err(Refused::AddressFull { max });
        }
        open.total += 1;
        open.per_ip.insert(key, from_peer + 1);
        Ok(Slot { limits: self.clone(), key })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_ip.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.per_ip.remove(&self.key);
            }
        }
    }
}

/// Tells an over-the-cap client why (an HTTP/1.1 429 with a JSON body), then closes.
pub async fn refuse(mut stream: TcpStream, why: Refused) {
    let body = serde_json::json!({ "error": "too_many_connections", "message": why.to_string() }).to_string();
    let reply = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroUsize;

    #[test]
    fn one_address_cannot_take_every_slot() {
        let limits = Arc::new(ConnectionLimits::new(&AccessConfig {
            max_connections: Some(3),
            max_connections_per_ip: NonZeroUsize::new(2),
            ..AccessConfig::default()
        }));
        let (a, b, c): (IpAddr, IpAddr, IpAddr) =
            ("127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap(), "127.0.0.4".parse().unwrap());
        let held = [limits.admit(a).unwrap(), limits.admit(a).unwrap()];
        assert_eq!(limits.admit(a).unwrap_err(), Refused::AddressFull { max: 2 });
        let other = limits.admit(b).unwrap();
        assert_eq!(limits.admit(c).unwrap_err(), Refused::NodeFull { max: 3 });
        drop(held);
        drop(other);
        assert_eq!(limits.open.lock().total, 0);
        assert!(limits.open.lock().per_ip.is_empty(), "nothing kept for closed connections");
        // IPv6: one /64 is one client.
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        let _x = [limits.admit(v6("2001:db8::1")).unwrap(), limits.admit(v6("2001:db8::2")).unwrap()];
        assert!(limits.admit(v6("2001:db8::ffff:3")).is_err());
        limits.admit(v6("2001:db8:0:1::1")).expect("another /64");
    }
}
