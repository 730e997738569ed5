//! Timeouts that grow per round, capped.

use crate::Round;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutParams {
    pub propose_ms: u64,
    pub vote_ms: u64,
    /// Added per round.
    pub delta_ms: u64,
    pub max_ms: u64,
}

impl TimeoutParams {
    fn grow(&self, base: u64, round: Round) -> u64 {
        base.saturating_add(self.delta_ms.saturating_mul(u64::from(round))).min(self.max_ms)
    }

    pub fn propose(&self, round: Round) -> u64 {
        self.grow(self.propose_ms, round)
    }

    pub fn vote(&self, round: Round) -> u64 {
        self.grow(self.vote_ms, round)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        let p = TimeoutParams { propose_ms: 1000, vote_ms: 500, delta_ms: 500, max_ms: 2200 };
        assert_eq!([0, 1, 2, 3, 50].map(|r| p.propose(r)), [1000, 1500, 2000, 2200, 2200]);
        assert_eq!(p.vote(1), 1000);
    }
}
