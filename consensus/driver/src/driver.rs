//! The driver: heights one after another. A height waits for work (or the maximum block
//! interval, or a verified message of a peer already at it), then the state machine runs with
//! timers and verified peer messages; every own message is signed, logged and then sent; the
//! decision is committed with its certificate. Catching up runs beside consensus, never
//! instead of it: see [`crate::sync`].

use std::collections::BTreeMap;

use chain_types::{BlockHeight, CommitCertificate, CompactBlock, PublicKey};
use consensus::{Input, OwnMessage, ValidatorIndex, ValidatorSet};

use crate::future::FutureBuffer;
use crate::height::HeightRun;
use crate::sync::SyncState;
use crate::timers::{Timer, Timers};
use crate::wal::{Wal, WalEntry};
use crate::{
    Application, Clock, ConsensusMessage, ConsensusSigner, DriverConfig, DriverError, Event, Network, WalStorage,
};

/// Whether the height's state machine runs yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for work, the block interval or a peer already at the height.
    Waiting,
    Running,
}

/// The driver of one node, as a validator (with a signer) or an observer.
pub struct Driver<A: Application, N: Network, C: Clock, W: WalStorage> {
    pub(crate) app: A,
    pub(crate) net: N,
    pub(crate) clock: C,
    pub(crate) wal: Wal<W>,
    pub(crate) signer: Option<Box<dyn ConsensusSigner>>,
    pub(crate) config: DriverConfig,
    pub(crate) run: HeightRun<A::Executed>,
    pub(crate) phase: Phase,
    /// Verified peer messages for the next heights.
    pub(crate) future: FutureBuffer<N::Peer>,
    /// Per validator key: the highest later height it signed a message for (verified), and
    /// the peer that relayed it. Bounded by the validators of the known sets.
    pub(crate) ahead: BTreeMap<PublicKey, (BlockHeight, N::Peer)>,
    pub(crate) sync: SyncState<N::Peer>,
    /// Per peer: when we last sent it a committed block it lacked.
    pub(crate) helped: BTreeMap<N::Peer, u64>,
    /// Per peer: when its current relay interval of answered transaction requests began, and
    /// the bytes sent in it.
    pub(crate) served: BTreeMap<N::Peer, (u64, u64)>,
    /// When the armed fetch timer fires.
    pub(crate) fetch_at: Option<u64>,
    /// Validators of the last committed height from whom no vote had arrived by its commit.
    pub(crate) missing_at_commit: usize,
    /// Blocks committed through block sync since the driver started.
    pub(crate) synced_blocks: u64,
    /// The certificate of the head, relayed while a height makes no progress.
    pub(crate) last_certificate: Option<CommitCertificate>,
    pub(crate) timers: Timers,
    /// When the last block was committed (monotonic ms).
    pub(crate) last_commit_ms: u64,
}

impl<A: Application, N: Network, C: Clock, W: WalStorage> std::fmt::Debug for Driver<A, N, C, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("height", &self.run.height)
            .field("round", &self.run.core.round())
            .field("step", &self.run.core.step())
            .field("phase", &self.phase)
            .field("syncing", &self.sync.in_flight.is_some())
            .finish_non_exhaustive()
    }
}

fn own_index(set: &ValidatorSet, signer: Option<&dyn ConsensusSigner>) -> Option<ValidatorIndex> {
    let key = signer?.public_key();
    set.index_of(&key).map(|i| i as ValidatorIndex)
}

impl<A: Application, N: Network, C: Clock, W: WalStorage> Driver<A, N, C, W> {
    /// Opens the WAL and prepares the height after the application's head, replaying this
    /// validator's own messages of that height (and starting it at once if there are any).
    pub fn new(
        app: A,
        net: N,
        clock: C,
        wal: W,
        signer: Option<Box<dyn ConsensusSigner>>,
        config: DriverConfig,
    ) -> Result<Self, DriverError> {
        let (mut wal, entries) = Wal::open(wal)?;
        let head = app.head().map_err(DriverError::app)?;
        wal.committed(head.height)?;
        let height = head.height + 1;
        let set = app.validators(height).map_err(DriverError::app)?;
        if let Some(s) = &signer {
            if set.index_of(&s.public_key()).is_none() {
                tracing::warn!(target: "chain::consensus", key = %s.public_key(), "this node's key is not in the current validator set: following as an observer until a treasury request adds it");
            }
        }
        let me = own_index(&set, signer.as_deref());
        let last_certificate = match head.height {
            0 => None,
            h => app.committed(h).map_err(DriverError::app)?.map(|(_, c)| c),
        };
        let now = clock.now_ms();
        let mut driver = Driver {
            run: HeightRun::new(height, set, me, config.timeouts),
            app,
            net,
            clock,
            wal,
            signer,
            config,
            phase: Phase::Waiting,
            future: FutureBuffer::default(),
            ahead: BTreeMap::new(),
            sync: SyncState::default(),
            helped: BTreeMap::new(),
            served: BTreeMap::new(),
            fetch_at: None,
            missing_at_commit: 0,
            synced_blocks: 0,
            last_certificate,
            timers: Timers::default(),
            last_commit_ms: now,
        };
        driver.timers.set(now + driver.config.relay_ms, Timer::Relay);
        let own: Vec<WalEntry> = entries.into_iter().filter(|e| e.height() == height).collect();
        if own.is_empty() {
            driver.schedule_wake();
        } else {
            tracing::info!(target: "chain::consensus", height, entries = own.len(), "resuming from the consensus WAL");
            driver.replay_own(own)?;
            driver.start()?;
        }
        Ok(driver)
    }

    pub fn height(&self) -> BlockHeight {
        self.run.height
    }

    pub fn round(&self) -> u32 {
        self.run.core.round()
    }

    /// Validators of the last committed height from whom no vote (prevote or precommit, any
    /// round) had arrived when it was committed (a certificate holds only the first quorum of
    /// precommits, so counting its absentees would count the slowest honest validator).
    pub fn missing_validators(&self) -> usize {
        self.missing_at_commit
    }

    /// The step of the round being decided.
    pub fn step(&self) -> consensus::Step {
        self.run.core.step()
    }

    /// The highest height a peer proved or claimed above our head (what sync is catching up
    /// to), if any.
    pub fn sync_target(&self) -> Option<BlockHeight> {
        let head = self.run.height - 1;
        self.sync.candidates.values().map(|(h, _)| *h).filter(|h| *h > head).max()
    }

    /// Blocks committed through block sync since the driver started.
    pub fn synced_blocks(&self) -> u64 {
        self.synced_blocks
    }

    /// Whether a peer proved it is ahead and blocks are being fetched from it.
    pub fn is_syncing(&self) -> bool {
        self.sync.in_flight.is_some() || self.sync.behind(self.run.height - 1)
    }

    /// Consensus messages held in memory: this height's signatures, proposals and own
    /// messages, and verified messages of the next heights.
    pub fn held_messages(&self) -> usize {
        self.run.held() + self.future.len() + self.ahead.len()
    }

    /// Validators of the height being decided.
    pub fn validator_count(&self) -> usize {
        self.run.set.len()
    }

    pub fn app(&self) -> &A {
        &self.app
    }

    pub fn app_mut(&mut self) -> &mut A {
        &mut self.app
    }

    pub fn network_mut(&mut self) -> &mut N {
        &mut self.net
    }

    /// When [`Driver::on_timers`] next has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        self.timers.next_deadline()
    }

    /// Handles one event from outside.
    pub fn handle(&mut self, event: Event<N::Peer>) -> Result<(), DriverError> {
        match event {
            Event::Message { from, message } => self.on_message(from, message),
            Event::Blocks { from, result } => self.on_blocks(from, result),
            Event::WorkArrived => {
                self.refill_assemblies()?;
                self.maybe_start()
            }
        }
    }

    /// Fires every timer that is due.
    pub fn on_timers(&mut self) -> Result<(), DriverError> {
        while let Some(timer) = self.timers.pop_due(self.clock.now_ms()) {
            self.on_timer(timer)?;
        }
        Ok(())
    }

    fn on_timer(&mut self, timer: Timer) -> Result<(), DriverError> {
        let now = self.clock.now_ms();
        match timer {
            Timer::Consensus(t) => {
                if self.phase == Phase::Running && t.height == self.run.height {
                    let outputs = self.run.core.apply(Input::TimeoutExpired(t));
                    self.carry_out(outputs)?;
                }
            }
            Timer::Relay => {
                self.timers.set(now + self.config.relay_ms, Timer::Relay);
                if self.phase == Phase::Running {
                    self.relay_tick()?;
                }
            }
            Timer::Wake => self.maybe_start()?,
            Timer::SyncDeadline(request) => self.sync_timed_out(request)?,
            Timer::SyncRetry => self.sync_tick()?,
            Timer::Fetch => self.fetch_again()?,
        }
        Ok(())
    }

    fn schedule_wake(&mut self) {
        self.timers.set(self.last_commit_ms + self.config.max_block_interval_ms, Timer::Wake);
        self.timers.set(self.last_commit_ms + self.config.min_block_interval_ms, Timer::Wake);
    }

    /// Moves to the height after the head: a fresh run, started at once if verified messages
    /// of it wait in the buffer.
    pub(crate) fn enter_height(&mut self) -> Result<(), DriverError> {
        let head = self.app.head().map_err(DriverError::app)?.height;
        let height = head + 1;
        let set = self.app.validators(height).map_err(DriverError::app)?;
        let me = own_index(&set, self.signer.as_deref());
        self.run = HeightRun::new(height, set, me, self.config.timeouts);
        self.phase = Phase::Waiting;
        self.timers.drop_below(height);
        self.ahead.retain(|_, (h, _)| *h > head);
        self.sync.caught_up_to(head);
        self.schedule_wake();
        for (from, m) in self.future.take(height) {
            self.on_current(from, m)?;
        }
        Ok(())
    }

    /// Starts the waiting height if work waits (and the minimum interval passed) or the
    /// maximum interval passed.
    fn maybe_start(&mut self) -> Result<(), DriverError> {
        if self.phase != Phase::Waiting {
            return Ok(());
        }
        let since = self.clock.now_ms().saturating_sub(self.last_commit_ms);
        if since >= self.config.max_block_interval_ms
            || (since >= self.config.min_block_interval_ms && self.app.has_work())
        {
            return self.start();
        }
        Ok(())
    }

    /// Starts the state machine at this height; replayed own messages go out again.
    pub(crate) fn start(&mut self) -> Result<(), DriverError> {
        if self.phase == Phase::Running {
            return Ok(());
        }
        self.phase = Phase::Running;
        let outputs = self.run.core.apply(Input::StartHeight(self.run.height));
        for m in self.run.own.clone() {
            self.net.broadcast(&m);
        }
        self.carry_out(outputs)
    }

    /// Feeds this validator's logged messages of the height back (their blocks re-executed).
    fn replay_own(&mut self, entries: Vec<WalEntry>) -> Result<(), DriverError> {
        for e in entries {
            match e {
                WalEntry::Proposal { proposal, block, signature } => {
                    if let Some(ex) = self.app.execute((*block).clone(), false).map_err(DriverError::app)? {
                        self.run.blocks.insert(proposal.value, ex);
                    }
                    self.run.keep_proposal(proposal.clone(), signature);
                    self.run.own.push(ConsensusMessage::Proposal {
                        proposal: proposal.clone(),
                        block: Box::new(CompactBlock::of(&block)),
                        signature,
                    });
                    self.run.core.apply(Input::Replay(OwnMessage::Proposal(proposal)));
                }
                WalEntry::Vote { vote, signature } => {
                    self.run.keep_own_vote(&vote, signature);
                    self.run.own.push(ConsensusMessage::Vote { vote: vote.clone(), signature });
                    self.run.core.apply(Input::Replay(OwnMessage::Vote(vote)));
                }
            }
        }
        Ok(())
    }

    /// Gossips again when nothing moved since the last tick (with the head's certificate,
    /// for peers that are behind); retries unsigned messages.
    fn relay_tick(&mut self) -> Result<(), DriverError> {
        let now = (self.run.core.round(), self.run.core.step());
        if now == self.run.last_relay {
            for m in self.run.relay_messages() {
                self.net.broadcast(&m);
            }
            if let Some(c) = &self.last_certificate {
                self.net.broadcast(&ConsensusMessage::Certificate(c.clone()));
            }
        }
        self.run.last_relay = now;
        let retry = std::mem::take(&mut self.run.unsigned);
        self.carry_out(retry)
    }
}
