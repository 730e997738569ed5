//! Catching up: block requests to a peer that proved it is ahead, beside consensus (the
//! height keeps running while blocks are fetched). Each block is committed only if its
//! certificate verifies against the validator set of its height, it extends our head and the
//! application executes it (a certified block starting from another state root than ours is
//! the application's fatal error: this node's state diverged).

use chain_types::{Block, CommitCertificate};

use crate::sync::Standing;
use crate::timers::Timer;
use crate::{Application, BlocksResponse, Clock, Driver, DriverError, Network, WalStorage};

impl<A: Application, N: Network, C: Clock, W: WalStorage> Driver<A, N, C, W> {
    /// Asks the best candidate for blocks, unless a request is in flight.
    pub(crate) fn sync_tick(&mut self) -> Result<(), DriverError> {
        let head = self.app.head().map_err(DriverError::app)?.height;
        if self.sync.proven_waits(head) {
            // A claim is not worth keeping a proven peer waiting: its answer will be ignored.
            self.sync.in_flight = None;
        }
        if self.sync.in_flight.is_some() {
            return Ok(());
        }
        let now = self.clock.now_ms();
        self.sync.caught_up_to(head);
        match self.sync.pick(head, now) {
            Some((peer, target)) => {
                self.sync.requests += 1;
                let request = self.sync.requests;
                self.sync.in_flight = Some((peer, request, head + 1));
                tracing::info!(target: "chain::sync", %peer, height = head, target_height = target, "behind a peer: fetching blocks");
                self.net.request_blocks(peer, head + 1, self.config.sync_batch);
                self.timers.set(now + self.config.sync_timeout_ms, Timer::SyncDeadline(request));
            }
            None => {
                if let Some(at) = self.sync.next_retry(head) {
                    self.timers.set(at, Timer::SyncRetry);
                }
            }
        }
        Ok(())
    }

    /// Not to be asked for a while. A peer that only claimed to be ahead is no longer a
    /// candidate (until it claims again, after a longer pause); a proven one stays.
    fn back_off(&mut self, peer: N::Peer) {
        let claimed = self.sync.standing(&peer) != Some(Standing::Proven);
        let pause = if claimed { 5 * self.config.sync_backoff_ms } else { self.config.sync_backoff_ms };
        self.sync.backoff.insert(peer, self.clock.now_ms() + pause);
        if claimed {
            self.sync.drop_candidate(&peer);
        }
    }

    pub(crate) fn sync_timed_out(&mut self, request: u64) -> Result<(), DriverError> {
        match self.sync.in_flight {
            Some((peer, current, _)) if current == request => {
                tracing::warn!(target: "chain::sync", %peer, "block request timed out; asking another peer");
                self.sync.in_flight = None;
                self.back_off(peer);
                self.sync_tick()
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn on_blocks(
        &mut self,
        from: N::Peer,
        result: Result<BlocksResponse, String>,
    ) -> Result<(), DriverError> {
        let Some((peer, _, _)) = self.sync.in_flight else { return Ok(()) };
        if peer != from {
            return Ok(());
        }
        self.sync.in_flight = None;
        match result {
            Err(e) => {
                tracing::warn!(target: "chain::sync", %peer, error = %e, "block request failed; asking another peer");
                self.back_off(peer);
            }
            Ok(response) => {
                let applied = self.apply_blocks(peer, response.blocks)?;
                let head = self.app.head().map_err(DriverError::app)?.height;
                tracing::info!(target: "chain::sync", %peer, height = head, target_height = response.head, applied, "sync progress");
                if applied == 0 {
                    // Nothing that verifies: whatever it proved or claimed, not a source.
                    self.sync.drop_candidate(&peer);
                    self.back_off(peer);
                } else if response.head > head {
                    // It delivered verified blocks: worth asking for the rest it says it has
                    // (a claim: dropped once it serves nothing that verifies).
                    self.sync.caught_up_to(head);
                    self.sync.claim(peer, response.head);
                }
            }
        }
        self.sync_tick()
    }

    /// Commits the blocks that verify, in order; stops (and logs) at the first that does not.
    fn apply_blocks(&mut self, peer: N::Peer, blocks: Vec<(Block, CommitCertificate)>) -> Result<u64, DriverError> {
        let mut applied = 0;
        for (block, certificate) in blocks {
            let parent = self.app.head().map_err(DriverError::app)?;
            let height = block.header.height;
            if height <= parent.height {
                continue;
            }
            let set = self.app.validators(height).map_err(DriverError::app)?;
            if let Err(e) = certificate.verify(self.app.chain_id(), height, block.hash(), &set.keys()) {
                tracing::warn!(target: "chain::sync", %peer, height, error = %e, "peer sent a block whose certificate does not verify");
                break;
            }
            let Some(executed) = self.execute_certified(&parent, block)? else { break };
            self.commit(executed, certificate, false)?;
            applied += 1;
            self.synced_blocks += 1;
        }
        Ok(applied)
    }
}
