//! Carrying out the state machine's outputs: every own message is signed and written to the
//! WAL before it is sent; values are built; decisions are committed with their certificate;
//! equivocations are kept with both signed messages.

use std::collections::VecDeque;

use chain_types::{CommitCertificate, CompactBlock, Equivocation, ProposalSignBytes, Signature, VoteSignBytes};
use consensus::{Evidence, Input, Output, Round, Timeout, TimeoutKind, ValueId};

use crate::height::{proposal_bytes, vote_bytes};
use crate::timers::Timer;
use crate::wal::WalEntry;
use crate::{
    Application, Clock, ConsensusMessage, Driver, DriverError, Executed, Network, SignFailure, SignRequest, SignStep,
    WalStorage,
};

impl<A: Application, N: Network, C: Clock, W: WalStorage> Driver<A, N, C, W> {
    pub(crate) fn carry_out(&mut self, outputs: Vec<Output>) -> Result<(), DriverError> {
        let height = self.run.height;
        let mut queue = VecDeque::from(outputs);
        while let Some(o) = queue.pop_front() {
            match o {
                Output::Propose(p) => {
                    let Some(block) = self.run.blocks.get(&p.value).map(|ex| ex.block().clone()) else { continue };
                    let request = SignRequest {
                        height: p.height,
                        round: p.round,
                        step: SignStep::Propose,
                        bytes: proposal_bytes(self.app.chain_id(), &p),
                    };
                    let Some(signature) = self.sign(request, &Output::Propose(p.clone()))? else { continue };
                    self.wal.append(&WalEntry::Proposal {
                        proposal: p.clone(),
                        block: Box::new(block.clone()),
                        signature,
                    })?;
                    self.run.keep_proposal(p.clone(), signature);
                    let block = Box::new(CompactBlock::of(&block));
                    let m = ConsensusMessage::Proposal { proposal: p, block, signature };
                    self.run.own.push(m.clone());
                    self.net.broadcast(&m);
                }
                Output::Vote(v) => {
                    let request = SignRequest {
                        height: v.height,
                        round: v.round,
                        step: v.kind.into(),
                        bytes: vote_bytes(self.app.chain_id(), &v),
                    };
                    let Some(signature) = self.sign(request, &Output::Vote(v.clone()))? else { continue };
                    self.wal.append(&WalEntry::Vote { vote: v.clone(), signature })?;
                    self.run.keep_vote(&v, signature);
                    let m = ConsensusMessage::Vote { vote: v.clone(), signature };
                    self.run.own.push(m.clone());
                    self.net.broadcast(&m);
                    // Signed, it counts (the state machine does not count unsigned own votes).
                    queue.extend(self.run.core.apply(Input::Vote(v)));
                }
                Output::ScheduleTimeout { timeout, after_ms } => self.schedule(timeout, after_ms),
                Output::GetValue { height, round } => {
                    let proposer = self.run.set.proposer(height, round).account_id.clone();
                    let parent = self.app.head().map_err(DriverError::app)?;
                    let timestamp_ms = self.clock.unix_ms().max(parent.timestamp_ms.saturating_add(1));
                    let ex = self.app.build(&proposer, timestamp_ms).map_err(DriverError::app)?;
                    tracing::debug!(target: "chain::consensus", height, round, txs = ex.block().transactions.len(), "block built");
                    let value = ex.block().hash();
                    self.run.blocks.insert(value, ex);
                    queue.extend(self.run.core.apply(Input::ProposeValue { height, round, value }));
                }
                Output::Decide { round, value, .. } => {
                    self.run.decided = Some((round, value));
                    break;
                }
                Output::Evidence(e) => self.evidence(&e)?,
            }
        }
        self.run.incoming = None;
        match self.run.decided {
            Some((round, value)) if self.run.height == height => self.try_commit(round, value),
            _ => Ok(()),
        }
    }

    /// Signs an own message. A signer failure does not stop the node: the message is missed
    /// (as if the network lost it) and, when the failure may pass, `output` is kept to be
    /// tried again on the next relay tick. A refusal (the guard already signed, or tried to
    /// sign, something else at or after this position: e.g. before a crash during a Vault
    /// outage) means this round can get nothing more from us: it is abandoned after its
    /// precommit timeout, or a chain where we are the quorum would wait in it for good.
    fn sign(&mut self, request: SignRequest, output: &Output) -> Result<Option<Signature>, DriverError> {
        let signer = self.signer.as_mut().ok_or(DriverError::NoSigner)?;
        let result = match signer.sign(&request) {
            Ok(sig) if signer.public_key().verify(&request.bytes, &sig) => Ok(sig),
            Ok(_) => Err(SignFailure::Unavailable("the returned signature does not verify".into())),
            Err(e) => Err(e),
        };
        let (height, round, step) = (request.height, request.round, request.step);
        match result {
            Ok(signature) => Ok(Some(signature)),
            Err(e @ SignFailure::Unavailable(_)) => {
                tracing::warn!(target: "chain::consensus", height, round, ?step, error = %e, "could not sign; the message is missed for now and retried");
                self.run.unsigned.push(output.clone());
                Ok(None)
            }
            Err(e @ SignFailure::Refused(_)) => {
                // A proposal refused after the state machine moved past proposing (the guard
                // already holds this round's prevote) is only a missed proposal: the round goes
                // on, and this node still prevotes and precommits in it. Leaving the round
                // then would take its precommit from the others, who may need it for a quorum.
                let moved_on = step == SignStep::Propose && self.run.core.step() != consensus::Step::Propose;
                if moved_on {
                    tracing::warn!(target: "chain::consensus", height, round, ?step, error = %e, "signer refused the proposal; the round goes on without it");
                    return Ok(None);
                }
                tracing::warn!(target: "chain::consensus", height, round, ?step, error = %e, "signer refused; the message is missed and the round is left after its timeout");
                if height == self.run.height && round == self.run.core.round() {
                    self.schedule(
                        Timeout { height, round, kind: TimeoutKind::Precommit },
                        self.config.timeouts.vote(round),
                    );
                }
                Ok(None)
            }
        }
    }

    fn schedule(&mut self, timeout: Timeout, after_ms: u64) {
        let at = self.clock.now_ms().saturating_add(after_ms);
        self.timers.set(at, Timer::Consensus(timeout));
    }

    /// Commits a decision once its certificate is complete.
    fn try_commit(&mut self, round: Round, value: ValueId) -> Result<(), DriverError> {
        let Some(certificate) = self.run.certificate(self.app.chain_id(), round, value) else { return Ok(()) };
        let executed = self.run.blocks.remove(&value).ok_or(DriverError::UnknownDecision(value))?;
        tracing::debug!(target: "chain::consensus", height = self.run.height, round, "decided");
        self.commit(executed, certificate, true)
    }

    /// Commits a block with its certificate and moves to the next height. With `announce`,
    /// the certificate goes to every peer (proof for those behind; a decision for those that
    /// missed precommits).
    pub(crate) fn commit(
        &mut self,
        executed: A::Executed,
        certificate: CommitCertificate,
        announce: bool,
    ) -> Result<(), DriverError> {
        let height = certificate.height;
        let present = self.run.voters().max(certificate.signatures.len());
        self.missing_at_commit = self.run.set.len().saturating_sub(present);
        self.app.commit(executed, certificate.clone()).map_err(DriverError::app)?;
        self.wal.committed(height)?;
        self.last_commit_ms = self.clock.now_ms();
        if announce {
            self.net.broadcast(&ConsensusMessage::Certificate(certificate.clone()));
        }
        self.last_certificate = Some(certificate);
        self.enter_height()
    }

    /// Keeps an equivocation with both signed messages, durably, and reports it.
    pub(crate) fn evidence(&mut self, e: &Evidence) -> Result<(), DriverError> {
        tracing::warn!(target: "chain::consensus", offender = e.offender(), evidence = ?e, "equivocation");
        let Some(public_key) = self.run.set.validators().get(usize::from(e.offender())).map(|v| v.consensus_key) else {
            return Ok(());
        };
        let chain_id = self.app.chain_id().to_owned();
        let incoming = self.run.incoming;
        let signed = match e {
            Evidence::ConflictingVotes { first, second } => {
                let (Some(a), Some(b)) = (self.run.vote_signature(first), self.run.vote_signature(second).or(incoming))
                else {
                    return Ok(());
                };
                let bytes = |v: &consensus::Vote| VoteSignBytes {
                    chain_id: chain_id.clone(),
                    kind: v.kind,
                    height: v.height,
                    round: v.round,
                    block_hash: v.value,
                };
                Equivocation::Votes {
                    validator: first.validator,
                    public_key,
                    first: bytes(first),
                    first_signature: a,
                    second: bytes(second),
                    second_signature: b,
                }
            }
            Evidence::ConflictingProposals { first, second } => {
                let (Some(a), Some(b)) =
                    (self.run.proposal_signature(first), self.run.proposal_signature(second).or(incoming))
                else {
                    return Ok(());
                };
                let bytes = |p: &consensus::Proposal| ProposalSignBytes {
                    chain_id: chain_id.clone(),
                    height: p.height,
                    round: p.round,
                    block_hash: p.value,
                    pol_round: p.pol_round,
                };
                Equivocation::Proposals {
                    validator: first.proposer,
                    public_key,
                    first: bytes(first),
                    first_signature: a,
                    second: bytes(second),
                    second_signature: b,
                }
            }
        };
        match signed.verify() {
            Ok(()) => self.app.record_evidence(signed).map_err(DriverError::app),
            Err(err) => {
                tracing::error!(target: "chain::consensus", error = %err, "evidence does not verify; not kept");
                Ok(())
            }
        }
    }
}
