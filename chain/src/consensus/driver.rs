//! Runs heights one after another: replay the WAL, wait for work (or the maximum block
//! interval), drive the state machine with timers, sign and log every message before it
//! leaves, commit the decision with its certificate.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chain_types::{
    CertificateError, CommitCertificate, CommitSignature, CryptoHash, ProposalSignBytes, Signature, VoteSignBytes,
};
use consensus::{Input, Output, OwnMessage, Round, Tendermint, Timeout, TimeoutParams, ValidatorIndex, Vote, VoteKind};
use kms::{SignRequest, Signer, SignerError, Step};
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};

use super::blocks::{build_block, commit, execute_block, Executed};
use super::wal::{Wal, WalEntry};
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
    #[error("signing key {0} is not in the validator set")]
    NotAValidator(chain_types::PublicKey),
    #[error(
        "the genesis has {0} validators; they need the peer-to-peer network, which this build does not \
         have yet, so only a single validator can run"
    )]
    NeedsNetwork(usize),
    #[error("decided block {0} is not known locally")]
    UnknownDecision(CryptoHash),
}

/// One height's state.
struct HeightRun<'a> {
    node: &'a Node,
    signer: &'a dyn Signer,
    wal: &'a mut Wal,
    me: ValidatorIndex,
    core: Tendermint,
    blocks: HashMap<CryptoHash, Executed>,
    /// Signatures of precommits by (round, validator, value), for the certificate.
    precommit_sigs: HashMap<(Round, ValidatorIndex, CryptoHash), Signature>,
    timers: BinaryHeap<Reverse<(Instant, u64, Timeout)>>,
    timer_seq: u64,
}

struct Decided {
    round: Round,
    value: CryptoHash,
    precommits: Vec<Vote>,
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

/// Runs consensus until `shutdown` turns true. Returns an error only for faults that must
/// stop the node (store or WAL failure, a key outside the validator set).
pub async fn run(
    node: Arc<Node>,
    signer: Arc<dyn Signer>,
    wal_dir: &Path,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), DriverError> {
    let n = node.validators.len();
    if n != 1 {
        return Err(DriverError::NeedsNetwork(n));
    }
    let me = node.validators.index_of(&signer.public_key()).ok_or(DriverError::NotAValidator(signer.public_key()))?
        as ValidatorIndex;
    let (mut wal, mut entries) = Wal::open(wal_dir)?;
    let mut last_block = Instant::now();
    loop {
        let head = node.store.head()?.unwrap_or(0);
        let height = head + 1;
        entries.retain(|e| e.height() >= height);
        wal.rewrite(&entries)?;
        let resuming = !entries.is_empty();
        if !resuming && !wait_for_work(&node, last_block, &mut shutdown).await {
            return Ok(());
        }
        let mut run = HeightRun {
            node: &node,
            signer: signer.as_ref(),
            wal: &mut wal,
            me,
            core: Tendermint::new(timeout_params(&node), n, Some(me), height),
            blocks: HashMap::new(),
            precommit_sigs: HashMap::new(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
        };
        run.replay(std::mem::take(&mut entries))?;
        if resuming {
            tracing::info!(target: "chain::consensus", height, "resuming from the consensus WAL");
        }
        let Some(decided) = run.drive(&mut shutdown).await? else { return Ok(()) };
        run.commit(decided)?;
        last_block = Instant::now();
    }
}

/// Waits until transactions wait and the minimum interval passed, or the maximum interval
/// passed. False on shutdown.
async fn wait_for_work(node: &Node, last: Instant, shutdown: &mut watch::Receiver<bool>) -> bool {
    let c = &node.genesis.consensus;
    let (min, max) =
        (last + Duration::from_millis(c.min_block_interval_ms), last + Duration::from_millis(c.max_block_interval_ms));
    loop {
        if *shutdown.borrow() {
            return false;
        }
        let now = Instant::now();
        if now >= max || (now >= min && !node.mempool.is_empty()) {
            return true;
        }
        let wake = if node.mempool.is_empty() { max } else { min };
        tokio::select! {
            _ = node.mempool.wait_for_transaction() => {}
            _ = sleep_until(wake) => {}
            _ = shutdown.changed() => {}
        }
    }
}

impl HeightRun<'_> {
    fn chain_id(&self) -> &str {
        &self.node.genesis.chain_id
    }

    /// Feeds our own logged messages of this height back (their blocks re-executed).
    fn replay(&mut self, entries: Vec<WalEntry>) -> Result<(), DriverError> {
        for e in entries {
            match e {
                WalEntry::Proposal { proposal, block, .. } => {
                    if let Some(ex) = execute_block(self.node, block)? {
                        self.blocks.insert(proposal.value, ex);
                    }
                    self.core.apply(Input::Replay(OwnMessage::Proposal(proposal)));
                }
                WalEntry::Vote { vote, signature } => {
                    if let (VoteKind::Precommit, Some(value)) = (vote.kind, vote.value) {
                        self.precommit_sigs.insert((vote.round, vote.validator, value), signature);
                    }
                    self.core.apply(Input::Replay(OwnMessage::Vote(vote)));
                }
            }
        }
        Ok(())
    }

    async fn drive(&mut self, shutdown: &mut watch::Receiver<bool>) -> Result<Option<Decided>, DriverError> {
        let height = self.core.height();
        let mut outputs = self.core.apply(Input::StartHeight(height));
        loop {
            if let Some(d) = self.handle(outputs).await? {
                return Ok(Some(d));
            }
            let next = self.timers.peek().map(|Reverse((at, _, _))| *at);
            tokio::select! {
                _ = async { match next { Some(at) => sleep_until(at).await, None => std::future::pending().await } } => {
                    let Some(Reverse((_, _, timeout))) = self.timers.pop() else { outputs = Vec::new(); continue };
                    outputs = self.core.apply(Input::TimeoutExpired(timeout));
                }
                _ = shutdown.changed() => {
                    if *shutdown.borrow() {
                        return Ok(None);
                    }
                    outputs = Vec::new();
                }
            }
        }
    }

    /// Carries out the state machine's outputs. Every message is signed and written to the
    /// WAL before anything else happens with it.
    async fn handle(&mut self, outputs: Vec<Output>) -> Result<Option<Decided>, DriverError> {
        let mut queue = VecDeque::from(outputs);
        while let Some(o) = queue.pop_front() {
            match o {
                Output::Propose(p) => {
                    let Some(ex) = self.blocks.get(&p.value) else { continue };
                    let block = ex.block.clone();
                    let bytes = ProposalSignBytes {
                        chain_id: self.chain_id().to_owned(),
                        height: p.height,
                        round: p.round,
                        block_hash: p.value,
                        pol_round: p.pol_round,
                    }
                    .to_bytes();
                    let signature = self.sign(p.height, p.round, Step::Propose, bytes).await?;
                    self.wal.append(&WalEntry::Proposal { proposal: p, block, signature })?;
                }
                Output::Vote(v) => {
                    let (step, kind) = match v.kind {
                        VoteKind::Prevote => (Step::Prevote, VoteKind::Prevote),
                        VoteKind::Precommit => (Step::Precommit, VoteKind::Precommit),
                    };
                    let bytes = VoteSignBytes {
                        chain_id: self.chain_id().to_owned(),
                        kind,
                        height: v.height,
                        round: v.round,
                        block_hash: v.value,
                    }
                    .to_bytes();
                    let signature = self.sign(v.height, v.round, step, bytes).await?;
                    self.wal.append(&WalEntry::Vote { vote: v.clone(), signature })?;
                    if let (VoteKind::Precommit, Some(value)) = (v.kind, v.value) {
                        self.precommit_sigs.insert((v.round, v.validator, value), signature);
                    }
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
                    let ex = tokio::task::block_in_place(|| build_block(self.node, usize::from(self.me)))?;
                    let value = ex.block.hash();
                    self.blocks.insert(value, ex);
                    queue.extend(self.core.apply(Input::ProposeValue { height, round, value }));
                }
                Output::Decide { round, value, precommits, .. } => {
                    return Ok(Some(Decided { round, value, precommits }))
                }
                Output::Evidence(e) => {
                    tracing::warn!(target: "chain::consensus", offender = e.offender(), evidence = ?e, "equivocation");
                    self.node.evidence.lock().push(e);
                }
            }
        }
        Ok(None)
    }

    async fn sign(&self, height: u64, round: Round, step: Step, bytes: Vec<u8>) -> Result<Signature, DriverError> {
        let request = SignRequest { height, round, step, bytes };
        let signature = self.signer.sign(&request).await?;
        if !self.signer.public_key().verify(&request.bytes, &signature) {
            return Err(SignerError::BadSignature.into());
        }
        Ok(signature)
    }

    fn commit(mut self, d: Decided) -> Result<(), DriverError> {
        let height = self.core.height();
        let ex = self.blocks.remove(&d.value).ok_or(DriverError::UnknownDecision(d.value))?;
        let signatures = d
            .precommits
            .iter()
            .filter_map(|v| {
                self.precommit_sigs
                    .get(&(v.round, v.validator, d.value))
                    .map(|signature| CommitSignature { validator: v.validator, signature: *signature })
            })
            .collect();
        let certificate = CommitCertificate { height, round: d.round, block_hash: d.value, signatures };
        certificate.verify(self.chain_id(), height, d.value, &self.node.validators.keys())?;
        tokio::task::block_in_place(|| commit(self.node, ex, certificate))?;
        Ok(())
    }
}
