//! Dissemination, the driver's half: a proposal names its block's transactions by digest
//! ([`CompactBlock`]) and their bytes travel ahead in the application's gossip. A validator
//! assembles the block from what it holds ([`crate::Application::transactions`]), asks the
//! peer that sent the proposal for the rest at once, and every peer when that has not
//! answered within [`FIRST_RETRY_MS`] (then once per relay interval). The proposal reaches
//! the state machine only once its block is whole: until then, for the core, it has not
//! arrived, and the round's timeout moves on without it as for a proposal lost on the way.
//! A block a quorum decides without us holding it comes whole with its certificate
//! (a decision, or block sync).
//!
//! Peers' requests are answered from what this node holds (the application's pending
//! transactions, the blocks of this height), at most [`ANSWERS_PER_PEER`] per peer and relay
//! interval, within one block's count and bytes.
//!
//! # Bounds
//! An assembly exists only for a proposal the height keeps (a few per round, rounds in the
//! core's window); it holds at most one block's transactions, each checked against the
//! digests the signed header commits to before it is kept.

use std::collections::HashMap;

use chain_types::{Block, BlockHeader, CompactBlock, CryptoHash, Signature, SignedTransaction};
use consensus::{Input, Proposal, ValueId};

use crate::timers::Timer;
use crate::validity::check_proposed_header;
use crate::{Application, Clock, ConsensusMessage, Driver, DriverError, Executed, Network, WalStorage};

/// How long the peer that sent a proposal has to send what we lack before every peer is asked.
pub const FIRST_RETRY_MS: u64 = 150;
/// Requests answered per peer and relay interval.
pub const ANSWERS_PER_PEER: u32 = 16;

/// A proposed block being put together from its digests.
#[derive(Debug)]
pub(crate) struct Assembly {
    pub proposal: Proposal,
    pub signature: Signature,
    header: BlockHeader,
    digests: Vec<CryptoHash>,
    slots: Vec<Option<SignedTransaction>>,
    /// Digest to slot, for the transactions still missing.
    missing: HashMap<CryptoHash, usize>,
    /// When the missing transactions were last asked for, and how often.
    asked_ms: u64,
    asks: u32,
}

impl Assembly {
    fn new(
        proposal: Proposal,
        signature: Signature,
        block: CompactBlock,
        slots: Vec<Option<SignedTransaction>>,
    ) -> Self {
        let CompactBlock { header, digests } = block;
        let mut slots = slots;
        slots.resize(digests.len(), None);
        let missing = digests.iter().enumerate().filter(|(i, _)| slots[*i].is_none()).map(|(i, d)| (*d, i)).collect();
        Assembly { proposal, signature, header, digests, slots, missing, asked_ms: 0, asks: 0 }
    }

    /// The digests still missing, in block order.
    pub fn missing(&self) -> Vec<CryptoHash> {
        self.digests.iter().zip(&self.slots).filter(|(_, s)| s.is_none()).map(|(d, _)| *d).collect()
    }

    /// Keeps `tx` if the block names it and it is still missing.
    fn fill(&mut self, tx: SignedTransaction) -> bool {
        match self.missing.remove(&tx.digest()) {
            Some(i) => {
                self.slots[i] = Some(tx);
                true
            }
            None => false,
        }
    }

    fn is_whole(&self) -> bool {
        self.missing.is_empty()
    }

    fn into_block(self) -> Block {
        Block { header: self.header, transactions: self.slots.into_iter().flatten().collect() }
    }

    /// The transactions already here, by digest.
    fn held(&self) -> impl Iterator<Item = (CryptoHash, &SignedTransaction)> {
        self.digests.iter().zip(&self.slots).filter_map(|(d, s)| Some((*d, s.as_ref()?)))
    }
}

impl<A: Application, N: Network, C: Clock, W: WalStorage> Driver<A, N, C, W> {
    /// A verified proposal of this height (its signer is the round's proposer): its block
    /// assembled and checked, then fed to the state machine, or kept until what it lacks
    /// arrives.
    pub(crate) fn on_proposal(
        &mut self,
        from: N::Peer,
        proposal: Proposal,
        block: CompactBlock,
        signature: Signature,
    ) -> Result<(), DriverError> {
        if self.run.has_proposal(&proposal) {
            return Ok(());
        }
        self.ensure_started()?;
        // Assembled and executed only when the core keeps it (in the round window, room in
        // the round); otherwise it only counts for the round skip or as evidence.
        if !self.run.core.in_window(proposal.round) || !self.run.proposal_room(proposal.round) {
            return self.hand_to_core(proposal, signature, false);
        }
        self.run.keep_proposal(proposal.clone(), signature);
        if self.run.blocks.contains_key(&proposal.value) {
            return self.hand_to_core(proposal, signature, true);
        }
        let parent = self.app.head().map_err(DriverError::app)?;
        let proposer = self.run.set.validators()[usize::from(proposal.proposer)].account_id.clone();
        let now = self.clock.unix_ms();
        if let Err(e) = check_proposed_header(&parent, &block, &proposer, now, &self.config.limits) {
            tracing::warn!(target: "chain::consensus", height = proposal.height, round = proposal.round, %proposer, reason = %e, "invalid proposal");
            return self.hand_to_core(proposal, signature, false);
        }
        let found = self.app.transactions(&block.digests);
        let mut assembly = Assembly::new(proposal, signature, block, found);
        if assembly.is_whole() {
            return self.assembled(assembly);
        }
        let value = assembly.proposal.value;
        let digests = assembly.missing();
        tracing::debug!(target: "chain::consensus", height = self.run.height, round = assembly.proposal.round, missing = digests.len(), %from, "fetching the transactions a proposal names");
        self.net.send(from, &ConsensusMessage::FetchTransactions { height: self.run.height, block: value, digests });
        let now = self.clock.now_ms();
        assembly.asked_ms = now;
        self.run.assembling.insert(value, assembly);
        self.timers.set(now + FIRST_RETRY_MS, Timer::Fetch);
        Ok(())
    }

    /// A proposal as the state machine takes it, `valid` or not.
    fn hand_to_core(&mut self, proposal: Proposal, signature: Signature, valid: bool) -> Result<(), DriverError> {
        self.run.incoming = Some(signature);
        let outputs = self.run.core.apply(Input::Proposal { proposal, valid });
        self.carry_out(outputs)
    }

    /// A whole block: checked, executed and handed to the state machine with its proposal.
    fn assembled(&mut self, assembly: Assembly) -> Result<(), DriverError> {
        let (proposal, signature) = (assembly.proposal.clone(), assembly.signature);
        let valid = self.check_block(&proposal, assembly.into_block())?;
        self.hand_to_core(proposal, signature, valid)
    }

    /// Transactions a peer sent for a block being assembled: those it names are kept.
    pub(crate) fn on_block_transactions(
        &mut self,
        block: ValueId,
        transactions: Vec<SignedTransaction>,
    ) -> Result<(), DriverError> {
        let Some(assembly) = self.run.assembling.get_mut(&block) else { return Ok(()) };
        let limit = assembly.digests.len();
        for tx in transactions.into_iter().take(limit) {
            assembly.fill(tx);
        }
        self.finish_whole()
    }

    /// New transactions arrived in the application: assemblies may now be whole.
    pub(crate) fn refill_assemblies(&mut self) -> Result<(), DriverError> {
        for assembly in self.run.assembling.values_mut() {
            let missing = assembly.missing();
            for tx in self.app.transactions(&missing).into_iter().flatten() {
                assembly.fill(tx);
            }
        }
        self.finish_whole()
    }

    /// Hands every whole assembly on, in a fixed order.
    fn finish_whole(&mut self) -> Result<(), DriverError> {
        let mut whole: Vec<ValueId> =
            self.run.assembling.iter().filter(|(_, a)| a.is_whole()).map(|(v, _)| *v).collect();
        whole.sort_unstable();
        for value in whole {
            if let Some(assembly) = self.run.assembling.remove(&value) {
                self.assembled(assembly)?;
            }
        }
        Ok(())
    }

    /// Asks every peer for what assemblies still lack, once per retry interval each.
    pub(crate) fn fetch_again(&mut self) -> Result<(), DriverError> {
        let now = self.clock.now_ms();
        let height = self.run.height;
        let mut next: Option<u64> = None;
        let mut values: Vec<ValueId> = self.run.assembling.keys().copied().collect();
        values.sort_unstable();
        for value in values {
            let Some(assembly) = self.run.assembling.get_mut(&value) else { continue };
            let interval = if assembly.asks == 0 { FIRST_RETRY_MS } else { self.config.relay_ms };
            let due = assembly.asked_ms + interval;
            if due <= now {
                assembly.asked_ms = now;
                assembly.asks += 1;
                let digests = assembly.missing();
                tracing::debug!(target: "chain::consensus", height, round = assembly.proposal.round, missing = digests.len(), "asking every peer for a proposal's transactions");
                self.net.broadcast(&ConsensusMessage::FetchTransactions { height, block: value, digests });
                next = Some(next.map_or(now + self.config.relay_ms, |n| n.min(now + self.config.relay_ms)));
            } else {
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        if let Some(at) = next {
            self.timers.set(at, Timer::Fetch);
        }
        Ok(())
    }

    /// A peer lacks transactions of a block of this height: sends those we hold, within
    /// one block's count and bytes, at most [`ANSWERS_PER_PEER`] times per relay interval.
    pub(crate) fn serve_fetch(
        &mut self,
        from: N::Peer,
        block: ValueId,
        digests: Vec<CryptoHash>,
    ) -> Result<(), DriverError> {
        let limits = self.config.limits;
        if digests.len() as u64 > limits.max_transactions {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let served = self.served.entry(from).or_insert((now, 0));
        if now >= served.0 + self.config.relay_ms {
            *served = (now, 0);
        }
        if served.1 >= ANSWERS_PER_PEER {
            return Ok(());
        }
        served.1 += 1;
        let mut found = self.app.transactions(&digests);
        if found.iter().any(Option::is_none) {
            self.fill_from_height(block, &digests, &mut found);
        }
        let (mut transactions, mut bytes) = (Vec::new(), 0u64);
        for tx in found.into_iter().flatten() {
            bytes = bytes.saturating_add(borsh::object_length(&tx).map_or(u64::MAX, |n| n as u64));
            if bytes > limits.max_block_bytes {
                break;
            }
            transactions.push(tx);
        }
        if !transactions.is_empty() {
            let height = self.run.height;
            self.net.send(from, &ConsensusMessage::BlockTransactions { height, block, transactions });
        }
        Ok(())
    }

    /// Fills what the application lacks from the block itself, executed or being assembled.
    fn fill_from_height(&self, block: ValueId, digests: &[CryptoHash], found: &mut [Option<SignedTransaction>]) {
        let here: HashMap<CryptoHash, &SignedTransaction> =
            match (self.run.blocks.get(&block), self.run.assembling.get(&block)) {
                (Some(ex), _) => ex.block().transactions.iter().map(|t| (t.digest(), t)).collect(),
                (None, Some(assembly)) => assembly.held().collect(),
                (None, None) => return,
            };
        for (slot, d) in found.iter_mut().zip(digests) {
            if slot.is_none() {
                *slot = here.get(d).map(|t| (*t).clone());
            }
        }
    }
}
