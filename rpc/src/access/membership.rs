//! Credentials created on chain for a membership (the workspace module's
//! `create_credential`), honoured by that membership's nodes.
//!
//! The chain holds only the credential's sha256 of a password the CLI drew at random
//! (256 bits): a guess is as hard as finding a sha256 preimage, so a fast hash is enough and
//! lets every request be checked against the state as of the latest block (a revocation takes
//! effect with the block that carries it). argon2 stays for the node's local credentials file,
//! where operators may choose passwords people can remember.
//!
//! # Invariants
//! - A credential is read from the latest block's state on every request: revoked there,
//!   refused (401) here.
//! - Another membership's credential is refused with 403 naming both memberships, and only
//!   once its password verified (a wrong password is a 401 like any other).
//! - An organization's credentials hold at most its `max_connections_per_node` connections
//!   here: a connection counts once per organization whose credential it used, until it
//!   closes.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::{Rejection, Role};

/// A credential as the workspace module keeps it, with its organization's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCredential {
    pub org_id: String,
    pub role: Role,
    pub password_sha256: [u8; 32],
    /// The block that revoked it.
    pub revoked_at: Option<u64>,
    /// The organization's `requests_per_sec_per_node`: its credentials together, here.
    pub requests_per_sec: u32,
    /// The organization's `max_connections_per_node`.
    pub max_connections: u32,
}

/// What the node answers about the workspace's credentials, as of its latest block.
pub trait MembershipCredentials: Send + Sync + std::fmt::Debug + 'static {
    /// The organization this node belongs to as of the latest block (`None`: it serves no
    /// membership, so every chain credential is another's).
    fn membership(&self) -> Option<String>;
    /// The credential `username` names (whichever organization holds it).
    fn lookup(&self, username: &str) -> Result<Option<ChainCredential>, String>;
}

/// What a chain credential presented with a password comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The username is no chain credential: go on as for an unknown username.
    NotOnChain,
    /// Treated like any failed login (same cost, same answer); the organization holding the
    /// username.
    WrongPassword {
        org: String,
    },
    /// The password verified but the credential is revoked (401) or another membership's
    /// (403); or the state could not be read (503, no organization).
    Refused {
        org: Option<String>,
        rejection: Rejection,
    },
    Admitted(ChainCredential),
}

/// Checks the chain credential `username` against `password`.
pub fn check(source: &dyn MembershipCredentials, username: &str, password: &str) -> Checked {
    let c = match source.lookup(username) {
        Ok(Some(c)) => c,
        Ok(None) => return Checked::NotOnChain,
        Err(e) => {
            tracing::error!(target: "rpc", error = %e, "reading workspace credentials failed");
            let rejection = Rejection::unavailable("the workspace's credentials cannot be read here now");
            return Checked::Refused { org: None, rejection };
        }
    };
    // A password not of the drawn shape is never accepted: its hash, public on chain, could
    // be searched offline.
    let digest: [u8; 32] = chain_types::sha256(password.as_bytes()).0;
    if !is_drawn_password(password) || !same(&digest, &c.password_sha256) {
        return Checked::WrongPassword { org: c.org_id };
    }
    let refused = |rejection| Checked::Refused { org: Some(c.org_id.clone()), rejection };
    if let Some(height) = c.revoked_at {
        return refused(Rejection::unauthorized(format!(
            "credential `{username}` of membership `{}` was revoked at block {height}",
            c.org_id
        )));
    }
    match source.membership() {
        Some(own) if own == c.org_id => Checked::Admitted(c),
        Some(own) => refused(Rejection::forbidden(format!(
            "credential `{username}` belongs to membership `{}`; this node serves membership `{own}`",
            c.org_id
        ))),
        None => refused(Rejection::forbidden(format!(
            "credential `{username}` belongs to membership `{}`; this node serves no membership (rpc.access.membership)",
            c.org_id
        ))),
    }
}

/// Chain credentials' passwords are 256 random bits as unpadded base64url (43 characters),
/// what the CLI and the console draw.
pub fn is_drawn_password(password: &str) -> bool {
    password.len() == 43 && password.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Compares two digests in time independent of where they differ.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Connections open here per organization.
#[derive(Debug, Default)]
pub struct OrgConnections {
    open: Mutex<HashMap<String, usize>>,
}

/// One connection's place under its organization's cap, given back when it closes.
#[derive(Debug)]
struct OrgSlot {
    org: String,
    owner: Arc<OrgConnections>,
}

impl Drop for OrgSlot {
    fn drop(&mut self) {
        let mut open = self.owner.open.lock();
        if let Some(n) = open.get_mut(&self.org) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.org);
            }
        }
    }
}

/// The organizations whose credentials one connection has used, each holding a slot; in
/// every request's extensions, dropped with the connection.
#[derive(Debug, Clone, Default)]
pub struct ConnectionOrgs(Arc<Mutex<HashMap<String, OrgSlot>>>);

impl OrgConnections {
    /// Counts `conn` under `org` (once per connection), refusing past `max`.
    pub fn enter(self: &Arc<Self>, conn: &ConnectionOrgs, org: &str, max: u32) -> Result<(), Rejection> {
        let mut held = conn.0.lock();
        if held.contains_key(org) {
            return Ok(());
        }
        {
            let mut open = self.open.lock();
            let n = open.entry(org.to_owned()).or_default();
            if *n >= max as usize {
                return Err(Rejection::rate_limited(
                    format!("organization `{org}` holds its limit of {max} connections on this node; close one"),
                    std::time::Duration::from_secs(1),
                ));
            }
            *n += 1;
        }
        held.insert(org.to_owned(), OrgSlot { org: org.to_owned(), owner: Arc::clone(self) });
        Ok(())
    }

    pub fn open(&self, org: &str) -> usize {
        self.open.lock().get(org).copied().unwrap_or(0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use http::StatusCode;

    #[derive(Debug)]
    struct Fixed(Vec<(&'static str, ChainCredential)>);

    impl MembershipCredentials for Fixed {
        fn membership(&self) -> Option<String> {
            Some("acme".into())
        }
        fn lookup(&self, username: &str) -> Result<Option<ChainCredential>, String> {
            Ok(self.0.iter().find(|(u, _)| *u == username).map(|(_, c)| c.clone()))
        }
    }

    /// A password of the drawn shape (43 base64url characters).
    pub(crate) fn pw(n: u8) -> String {
        char::from(b'a' + n).to_string().repeat(43)
    }

    fn credential(org: &str, password: &str, revoked_at: Option<u64>) -> ChainCredential {
        ChainCredential {
            org_id: org.into(),
            role: Role::Submit,
            password_sha256: chain_types::sha256(password.as_bytes()).0,
            revoked_at,
            requests_per_sec: 10,
            max_connections: 1,
        }
    }

    #[test]
    fn own_membership_only_and_never_revoked() {
        let source = Fixed(vec![
            ("ours", credential("acme", &pw(1), None)),
            ("theirs", credential("globex", &pw(2), None)),
            ("gone", credential("acme", &pw(3), Some(42))),
        ]);
        let refused = |username, password: String| match check(&source, username, &password) {
            Checked::Refused { rejection, .. } => rejection,
            other => panic!("{username}: {other:?}"),
        };
        assert!(matches!(check(&source, "ours", &pw(1)), Checked::Admitted(c) if c.org_id == "acme"));
        assert_eq!(check(&source, "nobody", &pw(1)), Checked::NotOnChain);
        let wrong = Checked::WrongPassword { org: "acme".into() };
        assert_eq!(check(&source, "ours", &pw(2)), wrong);
        let other = refused("theirs", pw(2));
        assert_eq!(other.status, StatusCode::FORBIDDEN);
        assert!(other.message.contains("belongs to membership `globex`; this node serves membership `acme`"));
        // A wrong password for another membership's username says nothing about membership.
        assert_eq!(check(&source, "theirs", &pw(1)), Checked::WrongPassword { org: "globex".into() });
        // A password not of the drawn shape never passes, even with its hash on chain.
        let weak = Fixed(vec![("weak", credential("acme", "hunter2", None))]);
        assert_eq!(check(&weak, "weak", "hunter2"), wrong);
        let revoked = refused("gone", pw(3));
        assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
        assert!(revoked.message.contains("revoked at block 42"), "{}", revoked.message);
    }

    #[test]
    fn connections_count_once_per_organization_until_closed() {
        let orgs = Arc::new(OrgConnections::default());
        let first = ConnectionOrgs::default();
        orgs.enter(&first, "acme", 1).unwrap();
        orgs.enter(&first, "acme", 1).expect("the same connection again");
        let second = ConnectionOrgs::default();
        let e = orgs.enter(&second, "acme", 1).unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(e.message.contains("limit of 1 connections"), "{}", e.message);
        orgs.enter(&second, "globex", 1).expect("another organization's cap");
        drop(first);
        assert_eq!(orgs.open("acme"), 0);
        orgs.enter(&second, "acme", 1).expect("a slot freed when the connection closed");
    }
}
