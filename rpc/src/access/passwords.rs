//! Password checks under bounds. argon2 costs about 19 MiB and tens of milliseconds, so a
//! check runs only when its client address still has failed attempts to spend
//! ([`FailureLimiter`]) and one of `max_password_checks` slots is free (else 429 at once,
//! nothing computed). An unknown username is checked against a dummy hash, so it costs
//! what a wrong password costs and answers in the same time.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::credentials::{generate_password, hash_password, verify_password, CredentialError};
use super::failures::FailureLimiter;
use super::{AccessConfig, Rejection};

#[derive(Debug)]
pub struct PasswordChecks {
    failures: Arc<FailureLimiter>,
    slots: Arc<Semaphore>,
    max_checks: usize,
    /// The hash of a random password nobody knows, for unknown usernames.
    dummy_hash: String,
}

impl PasswordChecks {
    /// Hashes the dummy password (one argon2 run).
    pub fn new(config: &AccessConfig) -> Result<Self, CredentialError> {
        Ok(PasswordChecks {
            failures: Arc::new(FailureLimiter::per_minute(config.failed_auths_per_ip_per_min.get())),
            slots: Arc::new(Semaphore::new(config.max_password_checks.get())),
            max_checks: config.max_password_checks.get(),
            dummy_hash: hash_password(&generate_password())?,
        })
    }

    /// Whether `password` matches `hash` (`None`: an unknown username, never a match, at the
    /// same cost). A failure spends one of `client`'s attempts; refused with 429 when they
    /// are spent or every check slot is busy.
    pub async fn verify(
        &self,
        client: Option<IpAddr>,
        password: String,
        hash: Option<String>,
    ) -> Result<bool, Rejection> {
        let attempt = self.failures.attempt(client).map_err(|wait| {
            Rejection::rate_limited(
                format!(
                    "too many failed authentications from {}; retry in {} s",
                    client.map_or_else(|| "this client".to_owned(), |ip| ip.to_string()),
                    wait.as_secs().max(1)
                ),
                wait,
            )
        })?;
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            attempt.refund();
            return Err(Rejection::rate_limited(
                format!("the node is checking {} passwords already; retry shortly", self.max_checks),
                Duration::from_secs(1),
            ));
        };
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        // The slot is held until argon2 returns, even if the request is dropped meanwhile.
        let matched = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            verify_password(&password, &hash)
        })
        .await
        .unwrap_or(false)
            && known;
        if matched {
            attempt.refund();
        }
        Ok(matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use std::num::{NonZeroU32, NonZeroUsize};
    use std::time::Instant;

    fn checks(failures: u32, slots: usize) -> PasswordChecks {
        PasswordChecks::new(&AccessConfig {
            failed_auths_per_ip_per_min: NonZeroU32::new(failures).unwrap(),
            max_password_checks: NonZeroUsize::new(slots).unwrap(),
            ..AccessConfig::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn failures_are_limited_per_address_before_any_check() {
        let c = checks(3, 4);
        let hash = hash_password("right").unwrap();
        let (a, b) = (Some("10.0.0.1".parse().unwrap()), Some("10.0.0.2".parse().unwrap()));
        assert!(c.verify(a, "right".into(), Some(hash.clone())).await.unwrap(), "a match costs nothing");
        assert!(!c.verify(a, "wrong".into(), Some(hash.clone())).await.unwrap());
        assert!(!c.verify(a, "right".into(), None).await.unwrap(), "an unknown user never matches");
        assert!(!c.verify(a, "wrong".into(), Some(hash.clone())).await.unwrap());
        let started = Instant::now();
        let e = c.verify(a, "right".into(), Some(hash.clone())).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(5), "refused before argon2: {:?}", started.elapsed());
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(e.message.contains("too many failed authentications from 10.0.0.1"), "{}", e.message);
        assert!(c.verify(b, "right".into(), Some(hash)).await.unwrap(), "another address is not affected");
    }

    #[tokio::test]
    async fn checks_past_the_cap_are_refused_at_once() {
        let c = Arc::new(checks(1_000, 1));
        let hash = hash_password("right").unwrap();
        let busy = {
            let (c, hash) = (c.clone(), hash.clone());
            tokio::spawn(async move { c.verify(None, "wrong".into(), Some(hash)).await })
        };
        // Wait until the first check holds the one slot.
        while c.slots.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let e = c.verify(None, "right".into(), Some(hash)).await.unwrap_err();
        assert!(e.message.contains("checking 1 passwords already"), "{}", e.message);
        assert!(!busy.await.unwrap().unwrap());
    }
}
