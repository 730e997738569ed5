//! Peer messages: verified before anything in them is used, then routed by height. A message
//! of the current height feeds the state machine; one of a later height is kept (bounded)
//! and counts towards proof that we are behind; one of a committed height tells us the
//! sender is behind, and we send it the decision.

use chain_types::{Block, BlockHeader, CommitCertificate, CryptoHash, PublicKey, Signature};
use consensus::{Input, Proposal, ValidatorSet, Vote};

use crate::driver::Phase;
use crate::future::FUTURE_HEIGHTS;
use crate::height::{proposal_bytes, vote_bytes};
use crate::validity::{check_certified, check_proposed};
use crate::{Application, Clock, ConsensusMessage, Driver, DriverError, Network, WalStorage};

/// The proposer's key if `proposal` comes from the proposer of its (height, round), names
/// the block with id `block` and carries its signature.
fn proposal_signer(
    chain_id: &str,
    set: &ValidatorSet,
    proposal: &Proposal,
    block: CryptoHash,
    signature: &Signature,
) -> Option<PublicKey> {
    let expected = set.proposer_index(proposal.height, proposal.round);
    if usize::from(proposal.proposer) != expected || block != proposal.value {
        return None;
    }
    let key = set.validators()[expected].consensus_key;
    key.verify(&proposal_bytes(chain_id, proposal), signature).then_some(key)
}

/// The voter's key if the vote carries its signature.
fn vote_signer(chain_id: &str, set: &ValidatorSet, vote: &Vote, signature: &Signature) -> Option<PublicKey> {
    let key = set.validators().get(usize::from(vote.validator))?.consensus_key;
    key.verify(&vote_bytes(chain_id, vote), signature).then_some(key)
}

impl<A: Application, N: Network, C: Clock, W: WalStorage> Driver<A, N, C, W> {
    pub(crate) fn on_message(&mut self, from: N::Peer, m: ConsensusMessage) -> Result<(), DriverError> {
        match m {
            ConsensusMessage::Certificate(c) => self.on_certificate(from, c, None),
            ConsensusMessage::Decision { block, certificate } => self.on_certificate(from, certificate, Some(*block)),
            // Requests and answers are about one height's proposals: never proof of anything.
            ConsensusMessage::FetchTransactions { height, block, digests } => match height.cmp(&self.run.height) {
                std::cmp::Ordering::Less => self.help(from, height),
                std::cmp::Ordering::Equal => self.serve_fetch(from, block, digests),
                std::cmp::Ordering::Greater => Ok(()),
            },
            ConsensusMessage::BlockTransactions { height, block, transactions } if height == self.run.height => {
                self.on_block_transactions(block, transactions)
            }
            ConsensusMessage::BlockTransactions { .. } => Ok(()),
            m if m.height() < self.run.height => self.help(from, m.height()),
            m if m.height() == self.run.height => self.on_current(from, m),
            m => self.on_future(from, m),
        }
    }

    /// Verifies a proposal or vote of this height and feeds it to the state machine (starting
    /// the height if it was waiting: a verified peer is already at it).
    pub(crate) fn on_current(&mut self, from: N::Peer, m: ConsensusMessage) -> Result<(), DriverError> {
        let chain_id = self.app.chain_id().to_owned();
        match m {
            ConsensusMessage::Proposal { proposal, block, signature } => {
                if proposal_signer(&chain_id, &self.run.set, &proposal, block.hash(), &signature).is_none() {
                    tracing::debug!(target: "chain::consensus", %from, round = proposal.round, "dropping a proposal not signed by the round's proposer or not naming its block");
                    return Ok(());
                }
                self.on_proposal(from, proposal, *block, signature)
            }
            ConsensusMessage::Vote { vote, signature } => {
                if vote_signer(&chain_id, &self.run.set, &vote, &signature).is_none() {
                    tracing::debug!(target: "chain::consensus", %from, validator = vote.validator, "dropping a vote with a bad signature");
                    return Ok(());
                }
                self.ensure_started()?;
                self.run.keep_vote(&vote, signature);
                self.run.incoming = Some(signature);
                let outputs = self.run.core.apply(Input::Vote(vote));
                self.carry_out(outputs)
            }
            other => self.on_message(from, other),
        }
    }

    pub(crate) fn ensure_started(&mut self) -> Result<(), DriverError> {
        match self.phase {
            Phase::Waiting => self.start(),
            Phase::Running => Ok(()),
        }
    }

    /// Whether a proposed block is a valid next block: header and limits here, execution by
    /// the application (once; the result is kept).
    pub(crate) fn check_block(&mut self, proposal: &Proposal, block: Block) -> Result<bool, DriverError> {
        if self.run.blocks.contains_key(&proposal.value) {
            return Ok(true);
        }
        let parent = self.app.head().map_err(DriverError::app)?;
        let proposer = self.run.set.validators()[usize::from(proposal.proposer)].account_id.clone();
        if let Err(e) = check_proposed(&parent, &block, &proposer, self.clock.unix_ms(), &self.config.limits) {
            tracing::warn!(target: "chain::consensus", height = proposal.height, round = proposal.round, %proposer, reason = %e, "invalid proposal");
            return Ok(false);
        }
        match self.app.execute(block, false).map_err(DriverError::app)? {
            Some(ex) => {
                self.run.blocks.insert(proposal.value, ex);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// A message of a later height: verified against that height's set (as far as it is
    /// known), kept if near, and counted as proof that its signer is past our height.
    fn on_future(&mut self, from: N::Peer, m: ConsensusMessage) -> Result<(), DriverError> {
        let height = m.height();
        let set = self.app.validators(height).map_err(DriverError::app)?;
        let chain_id = self.app.chain_id().to_owned();
        let signer = match &m {
            ConsensusMessage::Proposal { proposal, block, signature } => {
                proposal_signer(&chain_id, &set, proposal, block.hash(), signature)
            }
            ConsensusMessage::Vote { vote, signature } => vote_signer(&chain_id, &set, vote, signature),
            _ => None,
        };
        let Some(key) = signer else {
            // Garbage, or signed by a set we do not know yet (it may have changed in between):
            // the sender may be ahead. A claim only: asked when no proven peer waits, dropped
            // once it serves nothing that verifies.
            tracing::debug!(target: "chain::consensus", %from, height, "a message of a later height that does not verify against the set we know");
            self.sync.claim(from, height - 1);
            return self.sync_tick();
        };
        let seen = self.ahead.entry(key).or_insert((height, from));
        if height > seen.0 {
            *seen = (height, from);
        }
        if height <= self.run.height + FUTURE_HEIGHTS {
            self.future.push(key, from, m);
        }
        self.check_ahead()
    }

    /// f + 1 validators of this height signed messages of later heights: at least one honest
    /// validator committed our height. Ask the peers that relayed them.
    fn check_ahead(&mut self) -> Result<(), DriverError> {
        let height = self.run.height;
        let relays: Vec<N::Peer> = self
            .run
            .set
            .validators()
            .iter()
            .filter_map(|v| self.ahead.get(&v.consensus_key))
            .filter(|(h, _)| *h > height)
            .map(|(_, peer)| *peer)
            .collect();
        if relays.len() < self.run.set.honest_threshold() {
            return Ok(());
        }
        for peer in relays {
            self.sync.prove(peer, height);
        }
        self.sync_tick()
    }

    /// A commit certificate (with the block, for a decision): a verified one for our height
    /// commits it at once if we hold the block; one for a later height proves the sender is
    /// ahead.
    fn on_certificate(
        &mut self,
        from: N::Peer,
        certificate: CommitCertificate,
        block: Option<Block>,
    ) -> Result<(), DriverError> {
        let height = certificate.height;
        if height < self.run.height {
            return Ok(());
        }
        let set = self.app.validators(height).map_err(DriverError::app)?;
        if let Err(e) = certificate.verify(self.app.chain_id(), height, certificate.block_hash, &set.keys()) {
            tracing::debug!(target: "chain::consensus", %from, height, error = %e, "a certificate that does not verify against the set we know");
            if height > self.run.height {
                self.sync.claim(from, height);
                return self.sync_tick();
            }
            return Ok(());
        }
        if height == self.run.height {
            let executed = match self.run.blocks.remove(&certificate.block_hash) {
                Some(ex) => Some(ex),
                None => match block {
                    Some(b) if b.hash() == certificate.block_hash => {
                        let parent = self.app.head().map_err(DriverError::app)?;
                        self.execute_certified(&parent, b)?
                    }
                    _ => None,
                },
            };
            if let Some(ex) = executed {
                tracing::debug!(target: "chain::consensus", %from, height, "committing a peer's certified decision");
                return self.commit(ex, certificate, true);
            }
        }
        self.sync.prove(from, height);
        self.sync_tick()
    }

    /// Executes a block a quorum committed; `None` (logged) if it does not extend our head
    /// or the application finds it invalid here.
    pub(crate) fn execute_certified(
        &mut self,
        parent: &BlockHeader,
        block: Block,
    ) -> Result<Option<A::Executed>, DriverError> {
        let height = block.header.height;
        if let Err(e) = check_certified(parent, &block) {
            tracing::warn!(target: "chain::sync", height, reason = %e, "a certified block does not extend our head");
            return Ok(None);
        }
        let executed = self.app.execute(block, true).map_err(DriverError::app)?;
        if executed.is_none() {
            tracing::error!(target: "chain::sync", height, "a block a quorum committed is invalid here: this node's state or rules differ from the validators'");
        }
        Ok(executed)
    }

    /// A peer sent a message of a height we committed: it is behind. Sends it that height's
    /// block and certificate, at most once per relay interval per peer.
    fn help(&mut self, peer: N::Peer, height: u64) -> Result<(), DriverError> {
        let now = self.clock.now_ms();
        if height == 0 || self.helped.get(&peer).is_some_and(|at| now < at + self.config.relay_ms) {
            return Ok(());
        }
        if let Some((block, certificate)) = self.app.committed(height).map_err(DriverError::app)? {
            self.helped.insert(peer, now);
            self.net.send(peer, &ConsensusMessage::Decision { block: Box::new(block), certificate });
        }
        Ok(())
    }
}
