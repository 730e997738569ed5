//! The driver's settings, from the genesis consensus parameters and limits.

use consensus::TimeoutParams;

/// What a proposed block may hold and claim, checked on receipt (not only when building).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLimits {
    pub max_transactions: u64,
    /// Largest borsh-encoded signed transaction.
    pub max_tx_bytes: u64,
    /// Largest borsh-encoded block.
    pub max_block_bytes: u64,
    /// Most cost units of a block's transactions (`SignedTransaction::cost`).
    pub max_block_cost: u64,
    /// How far a proposed block's timestamp may be ahead of the receiver's clock.
    pub max_clock_drift_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverConfig {
    pub timeouts: TimeoutParams,
    /// Shortest time between blocks while transactions wait.
    pub min_block_interval_ms: u64,
    /// Longest time without a block: an empty one is made after it.
    pub max_block_interval_ms: u64,
    pub limits: BlockLimits,
    /// How often a height that made no progress gossips its messages again.
    pub relay_ms: u64,
    /// How long an answer to a block request is waited for.
    pub sync_timeout_ms: u64,
    /// How long a peer that failed a block request is not asked again.
    pub sync_backoff_ms: u64,
    /// Blocks asked for per request.
    pub sync_batch: u32,
}

impl DriverConfig {
    /// The driver's defaults around the chain's timeouts, block intervals and limits.
    pub fn new(
        timeouts: TimeoutParams,
        min_block_interval_ms: u64,
        max_block_interval_ms: u64,
        limits: BlockLimits,
    ) -> Self {
        DriverConfig {
            timeouts,
            min_block_interval_ms,
            max_block_interval_ms,
            limits,
            relay_ms: 1_000,
            sync_timeout_ms: 10_000,
            sync_backoff_ms: 2_000,
            sync_batch: 64,
        }
    }
}
