//! Runs heights one after another: replay the WAL, wait for work (or the maximum block
//! interval, or a peer already at the next height), drive the state machine with timers and
//! verified peer messages, sign and log every own message before it is broadcast, commit
//! the decision with its certificate.
//!
//! A node that finds itself behind (a peer's message two or more heights ahead, or one
//! height ahead for longer than a vote timeout) leaves the height and catches up through
//! block sync, then rejoins at the new head. A node without a signer runs the same loop as
//! an observer: it follows the validators' votes and syncs, and signs nothing.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chain_types::{
    Block, CertificateError, CommitCertificate, CommitSignature, CryptoHash, ProposalSignBytes, Signature,
    VoteSignBytes,
};
use consensus::{
    Input, Output, OwnMessage, Proposal, Round, Step as CoreStep, Tendermint, Timeout, TimeoutParams, ValidatorIndex,
    ValidatorSet, Vote, VoteKind,
};
use kms::{SignRequest, Signer, SignerError, Step};
use libp2p::PeerId;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant};

use super::blocks::{build_block, commit, execute_block, Executed, Signatures};
use super::sync::{catch_up, SyncError};
use super::wal::{Wal, WalEntry};
use crate::network::{Inbound, NetMessage, NetworkHandle};
use crate::node::Node;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("consensus WAL: {0}")]
    Wal(#[from] std::io::Error),
    #[error("signer: {0}")]
    Signer(#[from] SignerError),
    #[error("own commit certificate does not verify: {0}")]
    Certificate(#[from] CertificateError),
    #[error("the validator set has {0} validators; configure [network] so this node can reach its peers")]
    NeedsNetwork(usize),
    #[error("decided block {0} is not known locally")]
    UnknownDecision(CryptoHash),
    #[error("asked to sign without a signer")]
    NoSigner,
}

/// The peer-to-peer side of consensus.
#[derive(Debug)]
pub struct Peers {
    pub handle: NetworkHandle,
    pub inbound: mpsc::Receiver<Inbound>,
}

/// Messages for later heights are kept (bounded) until their height starts.
const MAX_FUTURE: usize = 10_000;
/// How often a stuck height gossips its messages again.
const RELAY_EVERY: Duration = Duration::from_millis(1_000);
/// Pause after a failed sync attempt before trying again.
const SYNC_RETRY: Duration = Duration::from_millis(500);

type VoteKey = (VoteKind, Round, ValidatorIndex, Option<CryptoHash>);

/// One height's state.
struct HeightRun<'a> {
    node: &'a Node,
    /// The validators of this height.
    set: Arc<ValidatorSet>,
    signer: Option<&'a dyn Signer>,
    wal: &'a mut Wal,
    peers: Option<&'a NetworkHandle>,
    core: Tendermint,
    blocks: HashMap<CryptoHash, Executed>,
    /// Signed proposals seen, by round (own and peers').
    proposals: HashMap<Round, (Proposal, Signature)>,
    /// Signatures of every vote seen (own and peers'), for certificates and relaying.
    vote_sigs: HashMap<VoteKey, Signature>,
    own: Vec<NetMessage>,
    /// Own proposals and votes the signer could not sign yet (backend down); retried on
    /// every relay tick while this height runs.
    unsigned: Vec<Output>,
    timers: BinaryHeap<Reverse<(Instant, u64, Timeout)>>,
    timer_seq: u64,
}

struct Decided {
    round: Round,
    value: CryptoHash,
}

/// How waiting for, or running, a height ended.
enum Wake {
    /// Start (or go on with) the height.
    Ready,
    /// A peer is ahead: catch up from it.
    Behind(PeerId),
    Shutdown,
}

enum HeightEnd {
    Decided(Decided, CommitCertificate),
    Behind(PeerId),
    Shutdown,
}

fn timeout_params(node: &Node) -> TimeoutParams {
    let c = &node.genesis.consensus;
    TimeoutParams {
        propose_ms: c.timeout_propose_ms,
        vote_ms: c.timeout_vote_ms,
        delta_ms: c.timeout_delta_ms,
        max_ms: c.timeout_max_ms,
    }
}

fn message_height(m: &NetMessage) -> Option<u64> {
    match m {
        NetMessage::Proposal { proposal, .. } => Some(proposal.height),
        NetMessage::Vote { vote, .. } => Some(vote.height),
        NetMessage::Transactions(_) => None,
    }
}

/// Runs consensus until `shutdown` turns true, as a validator when `signer` is given and
/// as an observer otherwise. Returns an error only for faults that must stop the node (store
/// or WAL failure, a key outside the validator set).
pub async fn run(
    node: Arc<Node>,
    signer: Option<Arc<dyn Signer>>,
    wal_dir: &Path,
    peers: Option<Peers>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), DriverError> {
    let n = node.validators().len();
    if n > 1 && peers.is_none() {
        return Err(DriverError::NeedsNetwork(n));
    }
    let (handle, mut inbound) = match peers {
        Some(p) => (Some(p.handle), Some(p.inbound)),
        None => (None, None),
    };
    if let Some(s) = &signer {
        if node.validators().index_of(&s.public_key()).is_none() {
            tracing::warn!(target: "chain::consensus", key = %s.public_key(), "this node's key is not in the current validator set: following as an observer until a treasury request adds it");
        }
    }
    let (mut wal, mut entries) = Wal::open(wal_dir)?;
    let mut future: Vec<NetMessage> = Vec::new();
    let mut last_block = Instant::now();
    loop {
        let height = node.store.head()?.unwrap_or(0) + 1;
        entries.retain(|e| e.height() >= height);
        wal.start_height(&entries)?;
        future.retain(|m| message_height(m).is_some_and(|h| h >= height));
        let resuming = !entries.is_empty();
        let wake = if resuming || future.iter().any(|m| message_height(m) == Some(height)) {
            Wake::Ready
        } else {
            wait_for_work(&node, height, last_block, inbound.as_mut(), &mut future, &mut shutdown).await
        };
        let behind = match wake {
            Wake::Shutdown => return Ok(()),
            Wake::Behind(peer) => peer,
            Wake::Ready => {
                let set = node.validators_at(height)?;
                let me = signer.as_ref().and_then(|s| set.index_of(&s.public_key())).map(|i| i as ValidatorIndex);
                if handle.is_none() && set.len() > 1 {
                    return Err(DriverError::NeedsNetwork(set.len()));
                }
                let mut run = HeightRun {
                    node: &node,
                    core: Tendermint::new(timeout_params(&node), set.len(), me, height),
                    set,
                    signer: signer.as_deref(),
                    wal: &mut wal,
                    peers: handle.as_ref(),
                    blocks: HashMap::new(),
                    proposals: HashMap::new(),
                    vote_sigs: HashMap::new(),
                    own: Vec::new(),
                    unsigned: Vec::new(),
                    timers: BinaryHeap::new(),
                    timer_seq: 0,
                };
                run.replay(std::mem::take(&mut entries))?;
                if resuming {
                    tracing::info!(target: "chain::consensus", height, "resuming from the consensus WAL");
                }
                let buffered: Vec<NetMessage> = {
                    let (now, later) =
                        std::mem::take(&mut future).into_iter().partition(|m| message_height(m) == Some(height));
                    future = later;
                    now
                };
                let started = Instant::now();
                match run.drive(buffered, inbound.as_mut(), &mut future, &mut shutdown).await? {
                    HeightEnd::Decided(d, certificate) => {
                        tracing::debug!(target: "chain::consensus", height, round = d.round, ms = started.elapsed().as_secs_f64() * 1e3, "decided");
                        run.commit(d, certificate)?;
                        tracing::debug!(target: "chain::consensus", height, ms = started.elapsed().as_secs_f64() * 1e3, "height done");
                        last_block = Instant::now();
                        continue;
                    }
                    HeightEnd::Shutdown => return Ok(()),
                    HeightEnd::Behind(peer) => peer,
                }
            }
        };
        if let Some(net) = handle.as_ref() {
            if sync_from(&node, net, behind, &mut shutdown).await? {
                last_block = Instant::now();
            }
        }
    }
}

/// Catches up from `peer`. True if blocks were applied; a failed attempt is logged and
/// retried later (after a pause), except a store failure, which stops the node.
async fn sync_from(
    node: &Node,
    net: &NetworkHandle,
    peer: PeerId,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<bool, DriverError> {
    match catch_up(node, net, peer).await {
        Ok(applied) => Ok(applied > 0),
        Err(SyncError::Store(e)) => Err(e.into()),
        Err(e) => {
            tracing::warn!(target: "chain::sync", %peer, error = %e, "sync failed; will retry");
            tokio::select! {
                _ = tokio::time::sleep(SYNC_RETRY) => {}
                _ = shutdown.changed() => {}
            }
            Ok(false)
        }
    }
}

/// Waits until transactions wait and the minimum interval passed, the maximum interval
/// passed, or a peer sends a message of `height` (it started already). A message of a later
/// height means the peers went on without us: we are behind.
async fn wait_for_work(
    node: &Node,
    height: u64,
    last: Instant,
    mut inbound: Option<&mut mpsc::Receiver<Inbound>>,
    future: &mut Vec<NetMessage>,
    shutdown: &mut watch::Receiver<bool>,
) -> Wake {
    let c = &node.genesis.consensus;
    let (min, max) =
        (last + Duration::from_millis(c.min_block_interval_ms), last + Duration::from_millis(c.max_block_interval_ms));
    loop {
        if *shutdown.borrow() {
            return Wake::Shutdown;
        }
        let now = Instant::now();
        if now >= max || (now >= min && !node.mempool.is_empty()) {
            return Wake::Ready;
        }
        let wake = if node.mempool.is_empty() { max } else { min };
        tokio::select! {
            _ = node.mempool.wait_for_transaction() => {}
            _ = sleep_until(wake) => {}
            _ = shutdown.changed() => {}
            Some((peer, m)) = async { match inbound.as_mut() { Some(r) => r.recv().await, None => std::future::pending().await } } => {
                match message_height(&m) {
                    None => accept_transactions(node, m),
                    Some(h) if h >= height && future.len() < MAX_FUTURE => {
                        future.push(m);
                        if h == height {
                            return Wake::Ready;
                        }
                        return Wake::Behind(peer);
                    }
                    Some(_) => {}
                }
            }
        }
    }
}

fn accept_transactions(node: &Node, m: NetMessage) {
    if let NetMessage::Transactions(txs) = m {
        // Peers send only what they validated; it is checked again against our head.
        tokio::task::block_in_place(|| node.accept_from_peer(txs));
    }
}

impl HeightRun<'_> {
    fn chain_id(&self) -> &str {
        &self.node.genesis.chain_id
    }

    /// What a proposer signs for `p` (one definition for signing and verifying).
    fn proposal_bytes(&self, p: &Proposal) -> Vec<u8> {
        ProposalSignBytes {
            chain_id: self.chain_id().to_owned(),
            height: p.height,
            round: p.round,
            block_hash: p.value,
            pol_round: p.pol_round,
        }
        .to_bytes()
    }

    /// What a validator signs for `v` (one definition for signing and verifying).
    fn vote_bytes(&self, v: &Vote) -> Vec<u8> {
        VoteSignBytes {
            chain_id: self.chain_id().to_owned(),
            kind: v.kind,
            height: v.height,
            round: v.round,
            block_hash: v.value,
        }
        .to_bytes()
    }

    fn broadcast(&self, m: NetMessage) {
        if let Some(p) = self.peers {
            p.broadcast(m);
        }
    }

    /// Feeds our own logged messages of this height back (their blocks re-executed).
    fn replay(&mut self, entries: Vec<WalEntry>) -> Result<(), DriverError> {
        for e in entries {
            match e {
                WalEntry::Proposal { proposal, block, signature } => {
                    if let Some(ex) = execute_block(self.node, block.clone(), Signatures::VerifyUnseen)? {
                        self.blocks.insert(proposal.value, ex);
                    }
                    self.proposals.insert(proposal.round, (proposal.clone(), signature));
                    self.own.push(NetMessage::Proposal { proposal: proposal.clone(), block, signature });
                    self.core.apply(Input::Replay(OwnMessage::Proposal(proposal)));
                }
                WalEntry::Vote { vote, signature } => {
                    self.vote_sigs.insert((vote.kind, vote.round, vote.validator, vote.value), signature);
                    self.own.push(NetMessage::Vote { vote: vote.clone(), signature });
                    self.core.apply(Input::Replay(OwnMessage::Vote(vote)));
                }
            }
        }
        Ok(())
    }

    async fn drive(
        &mut self,
        buffered: Vec<NetMessage>,
        mut inbound: Option<&mut mpsc::Receiver<Inbound>>,
        future: &mut Vec<NetMessage>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<HeightEnd, DriverError> {
        let height = self.core.height();
        // First peer seen a height ahead, and when: if we have not decided within a vote
        // timeout of that, we are behind.
        let mut ahead: Option<(PeerId, Instant)> = None;
        let grace = Duration::from_millis(self.node.genesis.consensus.timeout_vote_ms);
        let mut outputs = self.core.apply(Input::StartHeight(height));
        // Own messages replayed from the WAL go out again: peers may not have them.
        for m in self.own.clone() {
            self.broadcast(m);
        }
        for m in buffered {
            outputs.extend(self.on_peer_message(m)?);
        }
        let mut relay = tokio::time::interval(RELAY_EVERY);
        relay.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_seen = (u32::MAX, CoreStep::Commit);
        // A decision whose certificate lacks signatures (ours could not be made) waits here
        // for more precommits, our signer, or a peer to sync the block from.
        let mut decided: Option<Decided> = None;
        loop {
            if let Some(d) = self.handle(outputs).await? {
                decided = Some(d);
            }
            if let Some(d) = decided.take() {
                match self.certificate(&d) {
                    Some(c) => return Ok(HeightEnd::Decided(d, c)),
                    None => decided = Some(d),
                }
            }
            let next = self.timers.peek().map(|Reverse((at, _, _))| *at);
            let behind_at = ahead.map(|(_, since)| since + grace);
            tokio::select! {
                _ = async { match next { Some(at) => sleep_until(at).await, None => std::future::pending().await } } => {
                    outputs = match self.timers.pop() {
                        Some(Reverse((_, _, timeout))) => self.core.apply(Input::TimeoutExpired(timeout)),
                        None => Vec::new(),
                    };
                }
                _ = async { match behind_at { Some(at) => sleep_until(at).await, None => std::future::pending().await } } => {
                    if let Some((peer, _)) = ahead {
                        return Ok(HeightEnd::Behind(peer));
                    }
                    outputs = Vec::new();
                }
                Some((peer, m)) = async { match inbound.as_mut() { Some(r) => r.recv().await, None => std::future::pending().await } } => {
                    outputs = match message_height(&m) {
                        None => {
                            accept_transactions(self.node, m);
                            Vec::new()
                        }
                        Some(h) if h == height => self.on_peer_message(m)?,
                        Some(h) if h > height => {
                            if future.len() < MAX_FUTURE {
                                future.push(m);
                            }
                            if h > height + 1 {
                                return Ok(HeightEnd::Behind(peer));
                            }
                            ahead.get_or_insert((peer, Instant::now()));
                            Vec::new()
                        }
                        Some(_) => Vec::new(),
                    };
                }
                _ = relay.tick() => {
                    let now = (self.core.round(), self.core.step());
                    if now == last_seen {
                        self.relay();
                    }
                    last_seen = now;
                    outputs = std::mem::take(&mut self.unsigned);
                }
                _ = shutdown.changed() => {
                    if *shutdown.borrow() {
                        return Ok(HeightEnd::Shutdown);
                    }
                    outputs = Vec::new();
                }
            }
        }
    }

    /// Gossips again what peers may have missed: own messages of this height, the current
    /// proposal, and the votes of the locked and valid rounds (the proof of lock).
    fn relay(&self) {
        let mut msgs = self.own.clone();
        let round = self.core.round();
        let pol: Vec<Round> = [self.core.locked(), self.core.valid()].into_iter().flatten().map(|(_, r)| r).collect();
        for r in std::iter::once(round).chain(pol.iter().copied()) {
            if let Some(m) = self.proposal_message(r) {
                msgs.push(m);
            }
        }
        for r in pol {
            for v in self.core.round_votes(r) {
                if let Some(sig) = self.vote_sigs.get(&(v.kind, v.round, v.validator, v.value)) {
                    msgs.push(NetMessage::Vote { vote: v, signature: *sig });
                }
            }
        }
        for m in msgs {
            self.broadcast(m);
        }
    }

    fn proposal_message(&self, round: Round) -> Option<NetMessage> {
        let (p, sig) = self.proposals.get(&round)?;
        let block = self.blocks.get(&p.value)?.block.clone();
        Some(NetMessage::Proposal { proposal: p.clone(), block, signature: *sig })
    }

    /// Verifies a peer's message of this height and feeds it to the state machine.
    fn on_peer_message(&mut self, m: NetMessage) -> Result<Vec<Output>, DriverError> {
        let keys = self.set.validators();
        match m {
            NetMessage::Proposal { proposal, block, signature } => {
                tracing::trace!(target: "chain::consensus", height = proposal.height, "proposal arrived");
                let Some(key) = keys.get(usize::from(proposal.proposer)).map(|v| v.consensus_key) else {
                    return Ok(vec![]);
                };
                let bytes = self.proposal_bytes(&proposal);
                if block.hash() != proposal.value || !key.verify(&bytes, &signature) {
                    tracing::warn!(target: "chain::consensus", proposer = proposal.proposer, "dropping a proposal with a bad signature or block");
                    return Ok(vec![]);
                }
                let t = Instant::now();
                let valid = self.check_block(&proposal, block)?;
                tracing::debug!(target: "chain::consensus", height = proposal.height, valid, exec_ms = t.elapsed().as_secs_f64() * 1e3, "proposal received");
                self.proposals.entry(proposal.round).or_insert((proposal.clone(), signature));
                Ok(self.core.apply(Input::Proposal { proposal, valid }))
            }
            NetMessage::Vote { vote, signature } => {
                let Some(key) = keys.get(usize::from(vote.validator)).map(|v| v.consensus_key) else {
                    return Ok(vec![]);
                };
                let bytes = self.vote_bytes(&vote);
                if !key.verify(&bytes, &signature) {
                    tracing::warn!(target: "chain::consensus", validator = vote.validator, "dropping a vote with a bad signature");
                    return Ok(vec![]);
                }
                self.vote_sigs.insert((vote.kind, vote.round, vote.validator, vote.value), signature);
                Ok(self.core.apply(Input::Vote(vote)))
            }
            NetMessage::Transactions(_) => Ok(vec![]),
        }
    }

    /// Whether a proposed block is a valid next block (executed once, then cached).
    fn check_block(&mut self, proposal: &Proposal, block: Block) -> Result<bool, DriverError> {
        if self.blocks.contains_key(&proposal.value) {
            return Ok(true);
        }
        let Some(expected) = self.set.validators().get(usize::from(proposal.proposer)).map(|v| &v.account_id) else {
            return Ok(false);
        };
        if &block.header.proposer != expected {
            return Ok(false);
        }
        match tokio::task::block_in_place(|| execute_block(self.node, block, Signatures::VerifyUnseen))? {
            Some(ex) => {
                self.blocks.insert(proposal.value, ex);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Carries out the state machine's outputs. Every own message is signed and written to
    /// the WAL before it is broadcast.
    async fn handle(&mut self, outputs: Vec<Output>) -> Result<Option<Decided>, DriverError> {
        let mut queue = VecDeque::from(outputs);
        while let Some(o) = queue.pop_front() {
            match o {
                Output::Propose(p) => {
                    let Some(ex) = self.blocks.get(&p.value) else { continue };
                    let block = ex.block.clone();
                    let bytes = self.proposal_bytes(&p);
                    let Some(signature) =
                        self.sign(p.height, p.round, Step::Propose, bytes, &Output::Propose(p.clone())).await?
                    else {
                        continue;
                    };
                    self.wal.append(&WalEntry::Proposal { proposal: p.clone(), block: block.clone(), signature })?;
                    self.proposals.insert(p.round, (p.clone(), signature));
                    let m = NetMessage::Proposal { proposal: p, block, signature };
                    tracing::trace!(target: "chain::consensus", height = self.core.height(), "sending proposal");
                    self.own.push(m.clone());
                    self.broadcast(m);
                }
                Output::Vote(v) => {
                    let step = match v.kind {
                        VoteKind::Prevote => Step::Prevote,
                        VoteKind::Precommit => Step::Precommit,
                    };
                    let bytes = self.vote_bytes(&v);
                    let Some(signature) = self.sign(v.height, v.round, step, bytes, &Output::Vote(v.clone())).await?
                    else {
                        continue;
                    };
                    self.wal.append(&WalEntry::Vote { vote: v.clone(), signature })?;
                    self.vote_sigs.insert((v.kind, v.round, v.validator, v.value), signature);
                    let m = NetMessage::Vote { vote: v, signature };
                    self.own.push(m.clone());
                    self.broadcast(m);
                }
                Output::ScheduleTimeout { timeout, after_ms } => {
                    self.timer_seq += 1;
                    self.timers.push(Reverse((
                        Instant::now() + Duration::from_millis(after_ms),
                        self.timer_seq,
                        timeout,
                    )));
                }
                Output::GetValue { height, round } => {
                    let me = self.set.validators()[usize::from(self.core.proposer(height, round))].account_id.clone();
                    let t = Instant::now();
                    let ex = tokio::task::block_in_place(|| build_block(self.node, me))?;
                    tracing::debug!(target: "chain::consensus", height, txs = ex.block.transactions.len(), build_ms = t.elapsed().as_secs_f64() * 1e3, "block built");
                    let value = ex.block.hash();
                    self.blocks.insert(value, ex);
                    queue.extend(self.core.apply(Input::ProposeValue { height, round, value }));
                }
                Output::Decide { round, value, .. } => return Ok(Some(Decided { round, value })),
                Output::Evidence(e) => {
                    tracing::warn!(target: "chain::consensus", offender = e.offender(), evidence = ?e, "equivocation");
                    self.node.evidence.lock().push(e);
                }
            }
        }
        Ok(None)
    }

    /// Signs an own message. A signer failure does not stop the node: the message is missed
    /// (as if the network lost it) and, when the failure may pass, `output` is kept to be
    /// tried again on the next relay tick.
    async fn sign(
        &mut self,
        height: u64,
        round: Round,
        step: Step,
        bytes: Vec<u8>,
        output: &Output,
    ) -> Result<Option<Signature>, DriverError> {
        let signer = self.signer.ok_or(DriverError::NoSigner)?;
        let request = SignRequest { height, round, step, bytes };
        let result = match signer.sign(&request).await {
            Ok(sig) if signer.public_key().verify(&request.bytes, &sig) => Ok(sig),
            Ok(_) => Err(SignerError::BadSignature),
            Err(e) => Err(e),
        };
        match result {
            Ok(signature) => Ok(Some(signature)),
            Err(e) if e.is_retryable() => {
                tracing::warn!(target: "chain::consensus", height, round, ?step, error = %e, "could not sign; the message is missed for now and retried");
                self.unsigned.push(output.clone());
                Ok(None)
            }
            Err(e) => {
                tracing::warn!(target: "chain::consensus", height, round, ?step, error = %e, "signer refused; the message is missed");
                Ok(None)
            }
        }
    }

    /// The commit certificate for `d`: every signed precommit seen for the decided block and
    /// round (the ones the state machine decided on among them), by validator. `None` while
    /// short of a quorum (our own precommit may be missing when the signer failed).
    fn certificate(&self, d: &Decided) -> Option<CommitCertificate> {
        let height = self.core.height();
        let mut signatures: Vec<CommitSignature> = self
            .vote_sigs
            .iter()
            .filter(|((kind, round, _, value), _)| {
                *kind == VoteKind::Precommit && *round == d.round && *value == Some(d.value)
            })
            .map(|((_, _, validator, _), signature)| CommitSignature { validator: *validator, signature: *signature })
            .collect();
        signatures.sort_unstable_by_key(|s| s.validator);
        let certificate = CommitCertificate { height, round: d.round, block_hash: d.value, signatures };
        match certificate.verify(self.chain_id(), height, d.value, &self.set.keys()) {
            Ok(()) => Some(certificate),
            Err(e) => {
                tracing::debug!(target: "chain::consensus", height, error = %e, "decided, waiting for a complete certificate");
                None
            }
        }
    }

    fn commit(mut self, d: Decided, certificate: CommitCertificate) -> Result<(), DriverError> {
        let ex = self.blocks.remove(&d.value).ok_or(DriverError::UnknownDecision(d.value))?;
        tokio::task::block_in_place(|| commit(self.node, ex, certificate))?;
        Ok(())
    }
}
