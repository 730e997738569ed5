//! The gate every request passes. With credentials required: HTTP Basic credentials checked
//! against the credentials file (under the bounds of [`PasswordChecks`]), then the
//! credential's own rate limit, then the node-wide one; failed logins never reach the rate
//! limits, so they cannot spend the budget of honest clients. Without credentials: the
//! node-wide limit alone.
//!
//! The file is re-read when it changes (checked at most once a second), so `chain
//! credentials add|revoke` takes effect on a running node without a restart. A password is
//! verified with argon2 once; later requests with the same username and password are matched
//! against a keyed digest of both kept in memory (never the password), dropped whenever the
//! file changes.
//!
//! With a membership ([`Gate::with_membership`]), a username not in the file is looked up
//! among the workspace's credentials on chain ([`super::membership`]): the node's own
//! membership's are admitted under their organization's limits, another's are refused with
//! 403.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use http::HeaderMap;
use parking_lot::Mutex;
use sha3::{Digest as _, Sha3_256};

use super::membership::{self, ChainCredential, Checked, ConnectionOrgs, MembershipCredentials, OrgConnections};
use super::passwords::PasswordChecks;
use super::{AccessConfig, Principal, Rejection};
use crate::access::credentials::{CredentialFile, Role};

/// How often the credentials file is checked for changes.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

struct Entry {
    role: Role,
    password_hash: String,
    limiter: Option<(u32, Arc<DefaultDirectRateLimiter>)>,
}

struct Loaded {
    entries: HashMap<String, Entry>,
    /// (modified, length) of the file this was read from.
    stamp: Option<(SystemTime, u64)>,
    checked: Instant,
    /// username -> keyed digest of the password that last verified.
    verified: HashMap<String, [u8; 32]>,
}

pub struct Gate {
    config: AccessConfig,
    node_limiter: Option<(u32, DefaultDirectRateLimiter)>,
    loaded: Mutex<Loaded>,
    /// Random per process: digests of passwords are useless outside it.
    digest_key: [u8; 32],
    /// `None` when credentials are not required.
    checks: Option<PasswordChecks>,
    /// Where refusals and requests are counted.
    metrics: Arc<crate::metrics::RpcMetrics>,
    /// The workspace's credentials on chain and this node's membership, when it has one.
    membership: Option<Arc<dyn MembershipCredentials>>,
    /// Rate limiters of organizations (their chain credentials together), with the rate
    /// they were made for.
    org_limiters: Mutex<HashMap<String, (u32, Arc<DefaultDirectRateLimiter>)>>,
    org_connections: Arc<OrgConnections>,
    /// Requests refused per organization (its credentials' failed logins, refusals, limits).
    org_rejections: Mutex<BTreeMap<String, OrgRejections>>,
}

/// How many requests with an organization's credentials this node refused, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OrgRejections {
    pub unauthorized: u64,
    pub forbidden: u64,
    pub rate_limited: u64,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").field("config", &self.config).finish_non_exhaustive()
    }
}

fn limiter(rate: NonZeroU32) -> DefaultDirectRateLimiter {
    DefaultDirectRateLimiter::direct(Quota::per_second(rate))
}

fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    std::fs::metadata(path).ok().and_then(|m| Some((m.modified().ok()?, m.len())))
}

impl Gate {
    /// Reads the credentials file (when credentials are required). A file that does not
    /// parse is an error here; later, a broken edit is logged and the last good set kept.
    /// The same gate, counting into `metrics`.
    pub fn with_metrics(self, metrics: Arc<crate::metrics::RpcMetrics>) -> Gate {
        Gate { metrics, ..self }
    }

    /// The same gate, also admitting the credentials `membership` holds on chain.
    pub fn with_membership(self, membership: Option<Arc<dyn MembershipCredentials>>) -> Gate {
        Gate { membership, ..self }
    }

    /// Requests refused per organization on this node, since it started.
    pub fn org_rejections(&self) -> BTreeMap<String, OrgRejections> {
        self.org_rejections.lock().clone()
    }

    /// This node's membership, when chain credentials are accepted here.
    pub fn membership(&self) -> Option<String> {
        self.membership.as_ref().and_then(|m| m.membership())
    }

    /// Counts `r` against `org` and hands it back.
    fn refused(&self, org: &str, r: Rejection) -> Rejection {
        let mut all = self.org_rejections.lock();
        let counts = all.entry(org.to_owned()).or_default();
        match r.status {
            http::StatusCode::UNAUTHORIZED => counts.unauthorized += 1,
            http::StatusCode::FORBIDDEN => counts.forbidden += 1,
            http::StatusCode::TOO_MANY_REQUESTS => counts.rate_limited += 1,
            _ => {}
        }
        r
    }

    pub fn metrics(&self) -> &crate::metrics::RpcMetrics {
        &self.metrics
    }

    pub fn new(config: AccessConfig) -> Result<Gate, super::CredentialError> {
        let mut loaded =
            Loaded { entries: HashMap::new(), stamp: None, checked: Instant::now(), verified: HashMap::new() };
        if config.require_credentials {
            let file = CredentialFile::load(&config.credentials_file)?;
            if file.credentials.is_empty() {
                tracing::warn!(target: "rpc", file = %config.credentials_file.display(), "credentials are required but none exist yet: add one with `chain credentials add`");
            }
            loaded.entries = Self::entries(&config, file, &HashMap::new());
            loaded.stamp = stamp(&config.credentials_file);
        }
        let node_limiter = config.node_requests_per_sec.map(|r| (r.get(), limiter(r)));
        let mut digest_key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut digest_key);
        let checks = config.require_credentials.then(|| PasswordChecks::new(&config)).transpose()?;
        Ok(Gate {
            config,
            node_limiter,
            loaded: Mutex::new(loaded),
            digest_key,
            checks,
            metrics: Arc::default(),
            membership: None,
            org_limiters: Mutex::default(),
            org_connections: Arc::default(),
            org_rejections: Mutex::default(),
        })
    }

    /// Builds the entries, keeping the limiter state of credentials whose limit is unchanged.
    fn entries(config: &AccessConfig, file: CredentialFile, old: &HashMap<String, Entry>) -> HashMap<String, Entry> {
        file.credentials
            .into_iter()
            .map(|c| {
                let rate = c.requests_per_sec.and_then(NonZeroU32::new).or(config.credential_requests_per_sec);
                let limiter = rate.map(|r| match old.get(&c.username).and_then(|e| e.limiter.clone()) {
                    Some((kept, l)) if kept == r.get() => (kept, l),
                    _ => (r.get(), Arc::new(limiter(r))),
                });
                (c.username, Entry { role: c.role, password_hash: c.password_hash, limiter })
            })
            .collect()
    }

    fn reload_if_changed(&self, loaded: &mut Loaded) {
        if loaded.checked.elapsed() < RELOAD_EVERY {
            return;
        }
        loaded.checked = Instant::now();
        let now = stamp(&self.config.credentials_file);
        if now == loaded.stamp {
            return;
        }
        match CredentialFile::load(&self.config.credentials_file) {
            Ok(file) => {
                loaded.entries = Self::entries(&self.config, file, &loaded.entries);
                loaded.stamp = now;
                loaded.verified.clear();
                tracing::info!(target: "rpc", credentials = loaded.entries.len(), "credentials file reloaded");
            }
            Err(e) => {
                tracing::error!(target: "rpc", error = %e, "credentials file unreadable; keeping the previous credentials")
            }
        }
    }

    fn digest(&self, username: &str, password: &str) -> [u8; 32] {
        let mut h = Sha3_256::new();
        h.update(self.digest_key);
        h.update(username.as_bytes());
        h.update([0]);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    /// `who` is only formatted when the limit is hit.
    fn over_limit(
        limiter: &DefaultDirectRateLimiter,
        rate: u32,
        who: impl FnOnce() -> String,
    ) -> Result<(), Rejection> {
        limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Rejection::rate_limited(format!("{} is over its limit of {rate} requests per second", who()), wait)
        })
    }

    fn node_limit(&self) -> Result<(), Rejection> {
        match &self.node_limiter {
            Some((rate, l)) => Self::over_limit(l, *rate, || "the node".into()),
            None => Ok(()),
        }
    }

    /// Admits a chain credential that verified: its organization's connection cap (counting
    /// `conn`), its organization's request rate, then the node's limit.
    fn admit_chain(
        &self,
        username: String,
        c: ChainCredential,
        conn: Option<&ConnectionOrgs>,
    ) -> Result<Principal, Rejection> {
        if let Some(conn) = conn {
            self.org_connections.enter(conn, &c.org_id, c.max_connections)?;
        }
        if let Some(rate) = NonZeroU32::new(c.requests_per_sec) {
            let l = {
                let mut limiters = self.org_limiters.lock();
                let entry = limiters.entry(c.org_id.clone()).or_insert_with(|| (rate.get(), Arc::new(limiter(rate))));
                if entry.0 != rate.get() {
                    *entry = (rate.get(), Arc::new(limiter(rate)));
                }
                Arc::clone(&entry.1)
            };
            Self::over_limit(&l, rate.get(), || format!("organization `{}`", c.org_id))?;
        }
        self.node_limit()?;
        Ok(Principal { username: Some(username), role: c.role, organization: Some(c.org_id) })
    }

    /// Admits a request from `client` (the peer's address, when known) on connection `conn`
    /// or says why not.
    pub async fn admit(
        &self,
        headers: &HeaderMap,
        client: Option<IpAddr>,
        conn: Option<&ConnectionOrgs>,
    ) -> Result<Principal, Rejection> {
        let Some(checks) = &self.checks else {
            self.node_limit()?;
            return Ok(Principal { username: None, role: Role::Admin, organization: None });
        };
        let (username, password) = basic_credentials(headers)?;
        let digest = self.digest(&username, &password);
        // One look under the lock: the role and limiter of the credential as it is now, and
        // its hash only if this password has not verified before.
        let found = {
            let mut loaded = self.loaded.lock();
            self.reload_if_changed(&mut loaded);
            loaded.entries.get(&username).map(|entry| {
                let unverified = (loaded.verified.get(&username) != Some(&digest)).then(|| entry.password_hash.clone());
                (entry.role, entry.limiter.clone(), unverified)
            })
        };
        let wrong = || Rejection::unauthorized("unknown username or wrong password");
        let client = client.map(super::client_key);
        let (role, limiter) = match found {
            None => {
                let org = match self.membership.as_deref().map(|m| membership::check(m, &username, &password)) {
                    Some(Checked::Admitted(c)) => {
                        let org = c.org_id.clone();
                        return self.admit_chain(username, c, conn).map_err(|r| self.refused(&org, r));
                    }
                    Some(Checked::Refused { org: Some(org), rejection }) => return Err(self.refused(&org, rejection)),
                    Some(Checked::Refused { org: None, rejection }) => return Err(rejection),
                    Some(Checked::WrongPassword { org }) => Some(org),
                    Some(Checked::NotOnChain) | None => None,
                };
                // The same work as a wrong password: no answer tells which usernames exist.
                let failed = checks.verify(client, password, None).await.err().unwrap_or_else(wrong);
                return Err(match org {
                    Some(org) => self.refused(&org, failed),
                    None => failed,
                });
            }
            Some((role, limiter, Some(hash))) => {
                if !checks.verify(client, password, Some(hash)).await? {
                    return Err(wrong());
                }
                self.loaded.lock().verified.insert(username.clone(), digest);
                (role, limiter)
            }
            Some((role, limiter, None)) => (role, limiter),
        };
        if let Some((rate, l)) = limiter {
            Self::over_limit(&l, rate, || format!("credential `{username}`"))?;
        }
        self.node_limit()?;
        Ok(Principal { username: Some(username), role, organization: None })
    }
}

/// `Authorization: Basic base64(username:password)`.
fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), Rejection> {
    let missing = || Rejection::unauthorized("credentials required: send HTTP Basic authorization (username:password)");
    let value = headers.get(http::header::AUTHORIZATION).ok_or_else(missing)?;
    let text = value.to_str().map_err(|_| missing())?;
    let encoded = text
        .strip_prefix("Basic ")
        .or_else(|| text.strip_prefix("basic "))
        .ok_or_else(|| Rejection::unauthorized("only HTTP Basic authorization is accepted"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| Rejection::unauthorized("the Basic authorization is not base64 of username:password"))?;
    let (user, password) =
        decoded.split_once(':').ok_or_else(|| Rejection::unauthorized("the Basic authorization has no `:`"))?;
    Ok((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    use crate::access::membership::tests::pw;

    fn basic(user: &str, password: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        h.insert(http::header::AUTHORIZATION, format!("Basic {token}").parse().unwrap());
        h
    }

    #[tokio::test]
    async fn credentials_roles_limits_and_revocation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        let mut file = CredentialFile::default();
        let reader = file.add("reader", Role::Read, None, 0).unwrap();
        let wallet = file.add("wallet", Role::Submit, Some(3), 0).unwrap();
        file.save(&path).unwrap();
        let gate = Gate::new(AccessConfig {
            require_credentials: true,
            credentials_file: path.clone(),
            ..AccessConfig::default()
        })
        .unwrap();

        let refused = gate.admit(&HeaderMap::new(), None, None).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.message.contains("credentials required"), "{}", refused.message);
        for (user, password) in [("reader", "wrong"), ("nobody", reader.as_str()), ("wallet", reader.as_str())] {
            let e = gate.admit(&basic(user, password), None, None).await.unwrap_err();
            assert_eq!((e.status, e.body()["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
        }

        let p = gate.admit(&basic("reader", &reader), None, None).await.unwrap();
        assert_eq!((p.username.as_deref(), p.role), (Some("reader"), Role::Read));
        p.require(Role::Read).unwrap();
        let e = p.require(Role::Submit).unwrap_err();
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert!(e.message.contains("has role read; this needs role submit"), "{}", e.message);

        // The wallet's own limit (3 a second, a burst of 3): the next is refused, with a wait.
        for _ in 0..3 {
            gate.admit(&basic("wallet", &wallet), None, None).await.unwrap();
        }
        let e = gate.admit(&basic("wallet", &wallet), None, None).await.unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(e.message.contains("credential `wallet` is over its limit of 3"), "{}", e.message);
        assert!(e.body()["retry_after_ms"].as_u64().is_some_and(|ms| ms >= 1), "{}", e.body());
        // Limits are per credential: the reader has none.
        for _ in 0..10 {
            gate.admit(&basic("reader", &reader), None, None).await.unwrap();
        }

        // Revoked in the file: refused once the gate has looked again (within a second).
        let mut file = CredentialFile::load(&path).unwrap();
        file.revoke("reader").unwrap();
        file.save(&path).unwrap();
        tokio::time::sleep(RELOAD_EVERY + Duration::from_millis(100)).await;
        let e = gate.admit(&basic("reader", &reader), None, None).await.unwrap_err();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn the_node_limit_covers_every_caller() {
        let gate =
            Gate::new(AccessConfig { node_requests_per_sec: NonZeroU32::new(2), ..AccessConfig::default() }).unwrap();
        for _ in 0..2 {
            assert_eq!(
                gate.admit(&HeaderMap::new(), None, None).await.unwrap().role,
                Role::Admin,
                "open: anyone is admin"
            );
        }
        let e = gate.admit(&HeaderMap::new(), None, None).await.unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(e.message.contains("the node is over its limit of 2"), "{}", e.message);
    }

    #[tokio::test]
    async fn failed_logins_spend_neither_the_node_budget_nor_a_cached_credential() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        let mut file = CredentialFile::default();
        let reader = file.add("reader", Role::Read, None, 0).unwrap();
        file.save(&path).unwrap();
        let gate = Gate::new(AccessConfig {
            require_credentials: true,
            credentials_file: path,
            node_requests_per_sec: NonZeroU32::new(2),
            failed_auths_per_ip_per_min: NonZeroU32::new(2).unwrap(),
            ..AccessConfig::default()
        })
        .unwrap();
        let attacker = Some("10.0.0.66".parse().unwrap());
        let honest = Some("10.0.0.7".parse().unwrap());
        for user in ["reader", "nobody"] {
            let e = gate.admit(&basic(user, "wrong"), attacker, None).await.unwrap_err();
            assert_eq!(e.status, StatusCode::UNAUTHORIZED, "{}", e.message);
        }
        let e = gate.admit(&basic("reader", "wrong"), attacker, None).await.unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(e.message.contains("failed authentications from 10.0.0.66"), "{}", e.message);
        // The node's 2 a second are all there for the honest client.
        for _ in 0..2 {
            gate.admit(&basic("reader", &reader), honest, None).await.unwrap();
        }
        // Verified once, the credential is cached: no check, even from the refused address.
        tokio::time::sleep(Duration::from_secs(1)).await;
        gate.admit(&basic("reader", &reader), attacker, None).await.unwrap();
    }

    #[derive(Debug, Default)]
    struct OnChain(Mutex<Vec<(String, ChainCredential)>>);

    impl MembershipCredentials for OnChain {
        fn membership(&self) -> Option<String> {
            Some("acme".into())
        }
        fn lookup(&self, username: &str) -> Result<Option<ChainCredential>, String> {
            Ok(self.0.lock().iter().find(|(u, _)| u == username).map(|(_, c)| c.clone()))
        }
    }

    #[tokio::test]
    async fn chain_credentials_of_the_nodes_membership_under_their_organizations_limits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        let mut file = CredentialFile::default();
        let operator = file.add("operator", Role::Admin, None, 0).unwrap();
        file.save(&path).unwrap();
        let chain = Arc::new(OnChain::default());
        let credential = |org: &str, password: &str| ChainCredential {
            org_id: org.into(),
            role: Role::Submit,
            password_sha256: chain_types::sha256(password.as_bytes()).0,
            revoked_at: None,
            requests_per_sec: 2,
            max_connections: 1,
        };
        chain.0.lock().push(("app".into(), credential("acme", &pw(1))));
        chain.0.lock().push(("globex-app".into(), credential("globex", &pw(2))));
        let gate =
            Gate::new(AccessConfig { require_credentials: true, credentials_file: path, ..AccessConfig::default() })
                .unwrap()
                .with_membership(Some(chain.clone()));

        // The local file still works alongside.
        assert_eq!(gate.admit(&basic("operator", &operator), None, None).await.unwrap().role, Role::Admin);
        let conn = ConnectionOrgs::default();
        let p = gate.admit(&basic("app", &pw(1)), None, Some(&conn)).await.unwrap();
        assert_eq!((p.username.as_deref(), p.role), (Some("app"), Role::Submit));
        let e = gate.admit(&basic("app", &pw(4)), None, None).await.unwrap_err();
        assert_eq!((e.status, e.message.as_str()), (StatusCode::UNAUTHORIZED, "unknown username or wrong password"));
        let e = gate.admit(&basic("globex-app", &pw(2)), None, None).await.unwrap_err();
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert!(e.message.contains("membership `globex`"), "{}", e.message);

        // The organization's rate (2 a second, all its credentials together) and its one
        // connection.
        chain.0.lock().push(("app2".into(), credential("acme", &pw(3))));
        gate.admit(&basic("app", &pw(1)), None, Some(&conn)).await.unwrap();
        let e = gate.admit(&basic("app2", &pw(3)), None, Some(&conn)).await.unwrap_err();
        assert!(e.message.contains("organization `acme` is over its limit of 2"), "{}", e.message);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let e = gate.admit(&basic("app", &pw(1)), None, Some(&ConnectionOrgs::default())).await.unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(e.message.contains("organization `acme` holds its limit of 1 connections"), "{}", e.message);
        drop(conn);
        gate.admit(&basic("app", &pw(1)), None, Some(&ConnectionOrgs::default())).await.unwrap();

        // Revoked on chain: refused on the next request, nothing cached.
        chain.0.lock()[0].1.revoked_at = Some(7);
        let e = gate.admit(&basic("app", &pw(1)), None, None).await.unwrap_err();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        assert!(e.message.contains("revoked at block 7"), "{}", e.message);
    }

    #[test]
    fn a_broken_credentials_file_stops_start_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        std::fs::write(&path, "{not json").unwrap();
        let e =
            Gate::new(AccessConfig { require_credentials: true, credentials_file: path, ..AccessConfig::default() })
                .unwrap_err();
        assert!(e.to_string().contains("not a credentials file"), "{e}");
    }
}
