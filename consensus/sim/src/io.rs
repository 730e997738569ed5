//! The driver's IO traits in simulation: time from the event loop, links through the event
//! loop, keys in memory, the WAL in memory (it survives a crash), with a log of everything
//! each key signed so double signing by an honest node is caught, and the KMS's guard with
//! its backend outages.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use chain_types::{BlockHeight, PublicKey, SecretKey, Signature};
use consensus_driver::{Clock, ConsensusMessage, ConsensusSigner, Network, SignFailure, SignRequest};

use crate::app::GENESIS_MS;

/// What a node asked the network to do.
#[derive(Debug, Clone)]
pub enum Out {
    Broadcast(ConsensusMessage),
    Send(usize, ConsensusMessage),
    Request { peer: usize, from: BlockHeight, max: u32 },
}

pub type Outbox = Rc<RefCell<VecDeque<Out>>>;

/// A node's network: everything goes to its outbox, which the event loop delivers.
#[derive(Debug)]
pub struct SimNet {
    pub outbox: Outbox,
}

impl Network for SimNet {
    type Peer = usize;

    fn broadcast(&mut self, message: &ConsensusMessage) {
        self.outbox.borrow_mut().push_back(Out::Broadcast(message.clone()));
    }

    fn send(&mut self, to: usize, message: &ConsensusMessage) {
        self.outbox.borrow_mut().push_back(Out::Send(to, message.clone()));
    }

    fn request_blocks(&mut self, peer: usize, from: BlockHeight, max: u32) {
        self.outbox.borrow_mut().push_back(Out::Request { peer, from, max });
    }
}

/// Simulated time, shared with the event loop; the wall clock carries the node's skew.
#[derive(Debug, Clone)]
pub struct SimClock {
    pub now: Rc<Cell<u64>>,
    pub skew_ms: i64,
}

impl Clock for SimClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }

    fn unix_ms(&self) -> u64 {
        (GENESIS_MS + self.now.get()).saturating_add_signed(self.skew_ms)
    }
}

/// The WAL's bytes; the same `Rc` is handed to the node's next incarnation.
pub type SimWal = consensus_driver::wal::MemoryWal;

/// Every (height, round, step) a key signed, with the bytes: shared by a key's nodes (twins
/// share one), so a second, different signature at one position is seen.
pub type SignLog = Rc<RefCell<BTreeMap<(BlockHeight, u32, u8), Vec<u8>>>>;

/// A (height, round, step) a key signs at, ordered as the KMS guard orders them.
pub type Position = (BlockHeight, u32, u8);

/// The KMS's double-sign guard in simulation: the highest position this node's key signed
/// at and the bytes, advanced before the backend is asked (as `kms::Guard` does) and kept
/// across the node's crashes.
pub type SimWatermark = Rc<RefCell<Option<(Position, Vec<u8>)>>>;

/// A key in memory behind a double-sign guard, with a backend (Vault) that may be out.
/// Records what it signs; `conflicts` counts signatures at a position already signed with
/// other bytes.
#[derive(Debug)]
pub struct SimSigner {
    pub key: SecretKey,
    pub log: SignLog,
    pub conflicts: Rc<Cell<u64>>,
    pub watermark: SimWatermark,
    /// When the backend cannot sign: `[from, to)` in simulated milliseconds.
    pub outage: Option<(u64, u64)>,
    pub now: Rc<Cell<u64>>,
}

impl ConsensusSigner for SimSigner {
    fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    fn sign(&mut self, request: &SignRequest) -> Result<Signature, SignFailure> {
        let position = (request.height, request.round, request.step as u8);
        {
            let mut watermark = self.watermark.borrow_mut();
            match &*watermark {
                Some((at, _)) if position < *at => {
                    return Err(SignFailure::Refused(format!("{position:?} is below the watermark {at:?}")))
                }
                Some((at, bytes)) if position == *at && *bytes != request.bytes => {
                    return Err(SignFailure::Refused(format!("other bytes already signed at {at:?}")))
                }
                _ => *watermark = Some((position, request.bytes.clone())),
            }
        }
        if self.outage.is_some_and(|(from, to)| (from..to).contains(&self.now.get())) {
            return Err(SignFailure::Unavailable("the backend does not answer".into()));
        }
        let mut log = self.log.borrow_mut();
        match log.get(&position) {
            Some(bytes) if *bytes != request.bytes => self.conflicts.set(self.conflicts.get() + 1),
            Some(_) => {}
            None => {
                log.insert(position, request.bytes.clone());
            }
        }
        Ok(self.key.sign(&request.bytes))
    }
}
