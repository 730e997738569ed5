//! A simulated node: the production driver over simulated IO, and the state that survives
//! its crashes (the chain, the WAL, what its key signed).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use chain_types::{BlockHeight, SecretKey, SignedTransaction};
use consensus_driver::{ConsensusSigner, Driver, DriverConfig, DriverError, Event};

use crate::app::{ChainState, Pool, Schedule, SharedChain, SimApp};
use crate::io::{Outbox, SignLog, SimClock, SimNet, SimSigner, SimWal, SimWatermark};
use crate::Role;

pub type SimDriver = Driver<SimApp, SimNet, SimClock, SimWal>;

#[derive(Debug)]
pub struct SimNode {
    /// The validator key this node signs with (index into the scenario's keys).
    pub key_index: usize,
    pub role: Role,
    pub key: SecretKey,
    pub chain: SharedChain,
    /// Pending transactions (memory: emptied by a crash).
    pub pool: Pool,
    pub wal: SimWal,
    pub outbox: Outbox,
    pub sign_log: SignLog,
    pub conflicts: Rc<Cell<u64>>,
    /// The guard's watermark in front of this node's key (survives crashes).
    pub watermark: SimWatermark,
    /// When this node's signer backend is out.
    pub signer_outage: Option<(u64, u64)>,
    clock: SimClock,
    schedule: Rc<Schedule>,
    config: DriverConfig,
    pub driver: Option<SimDriver>,
    pub incarnation: u32,
    /// The wake-up event scheduled for the driver's next deadline.
    pub wake_at: Option<u64>,
    /// Committed heights already checked by the event loop.
    pub checked: BlockHeight,
}

impl SimNode {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        key_index: usize,
        role: Role,
        key: SecretKey,
        sign_log: SignLog,
        clock: SimClock,
        schedule: Rc<Schedule>,
        config: DriverConfig,
    ) -> Self {
        SimNode {
            key_index,
            role,
            key,
            chain: Rc::new(RefCell::new(ChainState::new())),
            pool: Pool::default(),
            wal: SimWal::default(),
            outbox: Rc::new(RefCell::new(VecDeque::new())),
            sign_log,
            conflicts: Rc::new(Cell::new(0)),
            watermark: Rc::new(RefCell::new(None)),
            signer_outage: None,
            clock,
            schedule,
            config,
            driver: None,
            incarnation: 0,
            wake_at: None,
            checked: 0,
        }
    }

    pub fn up(&self) -> bool {
        self.driver.is_some()
    }

    /// Starts (or restarts) the driver from the durable state.
    pub fn boot(&mut self) -> Result<(), DriverError> {
        let app = SimApp {
            chain: self.chain.clone(),
            pool: self.pool.clone(),
            schedule: self.schedule.clone(),
            role: self.role,
        };
        let net = SimNet { outbox: self.outbox.clone() };
        let signer: Box<dyn ConsensusSigner> = Box::new(SimSigner {
            key: self.key.clone(),
            log: self.sign_log.clone(),
            conflicts: self.conflicts.clone(),
            watermark: self.watermark.clone(),
            outage: self.signer_outage,
            now: self.clock.now.clone(),
        });
        self.driver = Some(Driver::new(app, net, self.clock.clone(), self.wal.clone(), Some(signer), self.config)?);
        self.wake_at = None;
        Ok(())
    }

    /// Stops the driver; whatever it had in memory is gone. `torn` bytes are left at the end
    /// of the WAL, as a crash in the middle of an append would leave them.
    pub fn crash(&mut self, torn: &[u8]) {
        self.driver = None;
        self.incarnation += 1;
        self.outbox.borrow_mut().clear();
        self.pool.borrow_mut().clear();
        self.wal.0.borrow_mut().extend_from_slice(torn);
    }

    pub fn handle(&mut self, event: Event<usize>) -> Result<(), DriverError> {
        let Some(d) = self.driver.as_mut() else { return Ok(()) };
        d.handle(event)?;
        d.on_timers()
    }

    /// A gossiped transaction reaches this node's pool (unless it is down or already
    /// committed it), and the driver hears of it.
    pub fn receive_transaction(&mut self, tx: SignedTransaction) -> Result<(), DriverError> {
        if !self.up() || !tx.verify_signature() {
            return Ok(());
        }
        let digest = tx.digest();
        if self.chain.borrow().committed.contains(&digest) {
            return Ok(());
        }
        self.pool.borrow_mut().insert(digest, tx);
        self.handle(Event::WorkArrived)
    }

    pub fn on_wake(&mut self) -> Result<(), DriverError> {
        match self.driver.as_mut() {
            Some(d) => d.on_timers(),
            None => Ok(()),
        }
    }

    pub fn head(&self) -> BlockHeight {
        self.chain.borrow().head()
    }

    /// Height and round the driver is at, for traces.
    pub fn describe(&self) -> String {
        match &self.driver {
            Some(d) => format!("{d:?} head={}", self.head()),
            None => format!("down head={}", self.head()),
        }
    }
}
