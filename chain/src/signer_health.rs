//! Polls the signer's backend while the node runs, so readiness and the metrics know a
//! signer that fails between signatures (Vault sealed, AppRole secret revoked, the remote
//! signer down) before the next height needs it, and see it recover.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::node::Node;

/// How often the backend is asked.
pub const POLL_EVERY: Duration = Duration::from_secs(5);
/// An answer slower than this counts as a failure.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(3);

/// Asks `signer` whether it can sign every `every` until the node is dropped, recording the
/// answer for readiness (`/ready`) and as `chain_signer_up{backend}`.
pub async fn watch(node: Weak<Node>, signer: Arc<dyn kms::Signer>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut was_up = true;
    loop {
        tick.tick().await;
        let answer = match tokio::time::timeout(POLL_TIMEOUT, signer.health()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", POLL_TIMEOUT.as_millis())),
        };
        let Some(node) = node.upgrade() else { return };
        match (&answer, was_up) {
            (Err(e), true) => tracing::error!(target: "chain::signer", error = %e, "the signer cannot sign"),
            (Ok(()), false) => tracing::info!(target: "chain::signer", "the signer answers again"),
            _ => {}
        }
        was_up = answer.is_ok();
        node.metrics().signer_up(node.signer_backend(), was_up);
        node.signer_answered(answer);
    }
}
