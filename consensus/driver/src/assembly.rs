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
//! transactions, the blocks of this height), at most [`ANSWER_BLOCKS_PER_PEER`] blocks' bytes
//! per peer and relay interval.
//!
//! # Bounds
//! An assembly exists only for a block of a proposal the height keeps (a few per round,
//! rounds in the core's window; every kept proposal naming the block waits on it); it holds at
//! most one block's bytes, each transaction checked against the digests the signed header
//! commits to and the size limits before it is kept (a block that would exceed them is
//! invalid at once). Asks back off, one deadline armed at a time.
//!
//! # Evidence
//! Two different proposals of one round are reported by the driver when either waits for
//! transactions (the state machine, which sees a proposal only once whole, might never see
//! both).

use std::collections::HashMap;

use chain_types::{Block, BlockHeader, CompactBlock, CryptoHash, Signature, SignedTransaction};
use consensus::{Evidence, Input, Proposal, ValueId};

use crate::timers::Timer;
use crate::validity::check_proposed_header;
use crate::{Application, BlockLimits, Clock, ConsensusMessage, Driver, DriverError, Executed, Network, WalStorage};

/// How long the peer that sent a proposal has to send what we lack before every peer is asked.
pub const FIRST_RETRY_MS: u64 = 150;
/// Asks of every peer for one block after the first: one relay interval apart, then doubling
/// up to this shift.
const MAX_BACKOFF_SHIFT: u32 = 4;
/// Bytes of answers one peer gets per relay interval, in blocks.
pub const ANSWER_BLOCKS_PER_PEER: u64 = 2;

/// A proposed block being put together from its digests.
#[derive(Debug)]
pub(crate) struct Assembly {
    /// The kept proposals naming this block (a later round may propose it again).
    proposals: Vec<(Proposal, Signature)>,
    header: BlockHeader,
    digests: Vec<CryptoHash>,
    slots: Vec<Option<SignedTransaction>>,
    /// Digest to slot, for the transactions still missing.
    missing: HashMap<CryptoHash, usize>,
    /// Bytes of the transactions kept.
    bytes: u64,
    /// When the missing transactions were last asked for, and how often.
    asked_ms: u64,
    asks: u32,
}

/// What became of a transaction offered to an assembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filled {
    Kept,
    /// Not named by the block, or already there.
    Ignored,
    /// Named, but over a size limit: the block cannot be valid.
    OverLimit,
}

impl Assembly {
    fn new(proposal: Proposal, signature: Signature, block: CompactBlock) -> Self {
        let CompactBlock { header, digests } = block;
        let slots = vec![None; digests.len()];
        let missing = digests.iter().enumerate().map(|(i, d)| (*d, i)).collect();
        Assembly {
            proposals: vec![(proposal, signature)],
            header,
            digests,
            slots,
            missing,
            bytes: 0,
            asked_ms: 0,
            asks: 0,
        }
    }

    /// The digests still missing, in block order.
    pub fn missing(&self) -> Vec<CryptoHash> {
        self.digests.iter().zip(&self.slots).filter(|(_, s)| s.is_none()).map(|(d, _)| *d).collect()
    }

    /// Keeps `tx` if the block names it, it is still missing and the block stays within
    /// the limits' transaction and block sizes.
    fn fill(&mut self, tx: SignedTransaction, limits: &BlockLimits) -> Filled {
        let encoded = chain_types::to_borsh(&tx);
        let Some(i) = self.missing.get(&chain_types::sha3_256(&encoded)).copied() else { return Filled::Ignored };
        let size = encoded.len() as u64;
        if size > limits.max_tx_bytes || self.bytes.saturating_add(size) > limits.max_block_bytes {
            return Filled::OverLimit;
        }
        self.missing.remove(&self.digests[i]);
        self.slots[i] = Some(tx);
        self.bytes += size;
        Filled::Kept
    }

    /// Offers every transaction; stops at the first over a limit.
    fn fill_all(&mut self, txs: impl IntoIterator<Item = SignedTransaction>, limits: &BlockLimits) -> Filled {
        let mut outcome = Filled::Ignored;
        for tx in txs {
            match self.fill(tx, limits) {
                Filled::OverLimit => return Filled::OverLimit,
                Filled::Kept => outcome = Filled::Kept,
                Filled::Ignored => {}
            }
        }
        outcome
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
            self.report_conflicts(&proposal)?;
            return self.hand_to_core(proposal, signature, true);
        }
        if let Some(assembly) = self.run.assembling.get_mut(&proposal.value) {
            // The block again (a re-proposal): it waits with the first.
            assembly.proposals.push((proposal.clone(), signature));
            return self.report_conflicts(&proposal);
        }
        let parent = self.app.head().map_err(DriverError::app)?;
        let proposer = self.run.set.validators()[usize::from(proposal.proposer)].account_id.clone();
        let now = self.clock.unix_ms();
        if let Err(e) = check_proposed_header(&parent, &block, &proposer, now, &self.config.limits) {
            tracing::warn!(target: "chain::consensus", height = proposal.height, round = proposal.round, %proposer, reason = %e, "invalid proposal");
            return self.hand_to_core(proposal, signature, false);
        }
        let mut assembly = Assembly::new(proposal.clone(), signature, block);
        let found = self.app.transactions(&assembly.digests);
        if assembly.fill_all(found.into_iter().flatten(), &self.config.limits) == Filled::OverLimit {
            return self.over_limit(assembly);
        }
        if assembly.is_whole() {
            self.report_conflicts(&proposal)?;
            return self.assembled(assembly);
        }
        let value = proposal.value;
        let digests = assembly.missing();
        tracing::debug!(target: "chain::consensus", height = self.run.height, round = proposal.round, missing = digests.len(), %from, "fetching the transactions a proposal names");
        self.net.send(from, &ConsensusMessage::FetchTransactions { height: self.run.height, block: value, digests });
        let now = self.clock.now_ms();
        assembly.asked_ms = now;
        self.run.assembling.insert(value, assembly);
        self.arm_fetch(now + FIRST_RETRY_MS);
        self.report_conflicts(&proposal)
    }

    /// Reports `proposal` with every other kept proposal of its round when either waits for
    /// transactions (otherwise both reach the state machine, which reports them).
    fn report_conflicts(&mut self, proposal: &Proposal) -> Result<(), DriverError> {
        let waiting =
            |p: &Proposal| self.run.assembling.get(&p.value).is_some_and(|a| a.proposals.iter().any(|(q, _)| q == p));
        let others: Vec<Proposal> = self
            .run
            .proposals
            .get(&proposal.round)
            .into_iter()
            .flatten()
            .map(|(q, _)| q.clone())
            .filter(|q| q != proposal && (waiting(q) || waiting(proposal)))
            .collect();
        for first in others {
            self.evidence(&Evidence::ConflictingProposals { first, second: proposal.clone() })?;
        }
        Ok(())
    }

    /// Arms the fetch timer for `at` unless an earlier deadline is armed.
    fn arm_fetch(&mut self, at: u64) {
        if self.fetch_at.is_none_or(|armed| at < armed) {
            self.fetch_at = Some(at);
            self.timers.set(at, Timer::Fetch);
        }
    }

    /// A block that cannot be within the limits: every proposal naming it is invalid.
    fn over_limit(&mut self, assembly: Assembly) -> Result<(), DriverError> {
        tracing::warn!(target: "chain::consensus", height = self.run.height, proposer = %assembly.header.proposer, "invalid proposal: its transactions exceed the size limits");
        for (proposal, signature) in assembly.proposals {
            self.hand_to_core(proposal, signature, false)?;
        }
        Ok(())
    }

    /// A proposal as the state machine takes it, `valid` or not.
    fn hand_to_core(&mut self, proposal: Proposal, signature: Signature, valid: bool) -> Result<(), DriverError> {
        self.run.incoming = Some(signature);
        let outputs = self.run.core.apply(Input::Proposal { proposal, valid });
        self.carry_out(outputs)
    }

    /// A whole block: checked (as its first proposal's), executed and handed to the state
    /// machine with every proposal naming it.
    fn assembled(&mut self, assembly: Assembly) -> Result<(), DriverError> {
        let proposals = assembly.proposals.clone();
        let valid = self.check_block(&proposals[0].0, assembly.into_block())?;
        for (proposal, signature) in proposals {
            self.hand_to_core(proposal, signature, valid)?;
        }
        Ok(())
    }

    /// Transactions a peer sent for a block being assembled: those it names are kept.
    pub(crate) fn on_block_transactions(
        &mut self,
        block: ValueId,
        transactions: Vec<SignedTransaction>,
    ) -> Result<(), DriverError> {
        let limits = self.config.limits;
        let Some(assembly) = self.run.assembling.get_mut(&block) else { return Ok(()) };
        let named = assembly.digests.len();
        let over = assembly.fill_all(transactions.into_iter().take(named), &limits) == Filled::OverLimit;
        self.finish(block, over)
    }

    /// New transactions arrived in the application: assemblies may now be whole.
    pub(crate) fn refill_assemblies(&mut self) -> Result<(), DriverError> {
        let mut values: Vec<ValueId> = self.run.assembling.keys().copied().collect();
        values.sort_unstable();
        for value in values {
            let Some(assembly) = self.run.assembling.get_mut(&value) else { continue };
            let found = self.app.transactions(&assembly.missing());
            let over = assembly.fill_all(found.into_iter().flatten(), &self.config.limits) == Filled::OverLimit;
            self.finish(value, over)?;
        }
        Ok(())
    }

    /// Hands an assembly on once it is whole, or as invalid once `over` a limit.
    fn finish(&mut self, value: ValueId, over: bool) -> Result<(), DriverError> {
        match self.run.assembling.get(&value) {
            Some(a) if over || a.is_whole() => {}
            _ => return Ok(()),
        }
        let Some(assembly) = self.run.assembling.remove(&value) else { return Ok(()) };
        if over {
            return self.over_limit(assembly);
        }
        self.assembled(assembly)
    }

    /// Asks every peer for what assemblies still lack: first after [`FIRST_RETRY_MS`], then a
    /// relay interval later, then at doubling intervals.
    pub(crate) fn fetch_again(&mut self) -> Result<(), DriverError> {
        self.fetch_at = None;
        let now = self.clock.now_ms();
        let (height, relay_ms) = (self.run.height, self.config.relay_ms);
        let mut next: Option<u64> = None;
        let mut values: Vec<ValueId> = self.run.assembling.keys().copied().collect();
        values.sort_unstable();
        for value in values {
            let Some(assembly) = self.run.assembling.get_mut(&value) else { continue };
            let interval = match assembly.asks {
                0 => FIRST_RETRY_MS,
                n => relay_ms << (n - 1).min(MAX_BACKOFF_SHIFT),
            };
            let mut due = assembly.asked_ms + interval;
            if due <= now {
                assembly.asked_ms = now;
                assembly.asks += 1;
                let digests = assembly.missing();
                tracing::debug!(target: "chain::consensus", height, asks = assembly.asks, missing = digests.len(), "asking every peer for a proposal's transactions");
                self.net.broadcast(&ConsensusMessage::FetchTransactions { height, block: value, digests });
                due = now + (relay_ms << (assembly.asks - 1).min(MAX_BACKOFF_SHIFT));
            }
            next = Some(next.map_or(due, |n| n.min(due)));
        }
        if let Some(at) = next {
            self.arm_fetch(at);
        }
        Ok(())
    }

    /// A peer lacks transactions of a block of this height: sends those we hold, at most
    /// [`ANSWER_BLOCKS_PER_PEER`] blocks' bytes per peer and relay interval.
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
        let budget = limits.max_block_bytes.saturating_mul(ANSWER_BLOCKS_PER_PEER);
        let served = self.served.entry(from).or_insert((now, 0));
        if now >= served.0 + self.config.relay_ms {
            *served = (now, 0);
        }
        let room = budget.saturating_sub(served.1).min(limits.max_block_bytes);
        if room == 0 {
            return Ok(());
        }
        let mut found = self.app.transactions(&digests);
        if found.iter().any(Option::is_none) {
            self.fill_from_height(block, &digests, &mut found);
        }
        let (mut transactions, mut bytes) = (Vec::new(), 0u64);
        for tx in found.into_iter().flatten() {
            let size = borsh::object_length(&tx).map_or(u64::MAX, |n| n as u64);
            if bytes.saturating_add(size) > room {
                break;
            }
            bytes += size;
            transactions.push(tx);
        }
        if let Some(served) = self.served.get_mut(&from) {
            served.1 = served.1.saturating_add(bytes);
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

#[cfg(test)]
mod tests {
    use super::*;
    use chain_types::{Action, FunctionCallAction, SecretKey, Transaction, TransferAction};

    fn tx(nonce: u64, memo: usize) -> SignedTransaction {
        let sk = SecretKey::from_seed([3; 32]);
        let mut actions = vec![Action::Transfer(TransferAction { deposit: 1 })];
        if memo > 0 {
            let args = vec![7; memo];
            actions.push(Action::FunctionCall(Box::new(FunctionCallAction {
                method_name: "m".into(),
                args,
                gas: 0,
                deposit: 0,
            })));
        }
        Transaction {
            signer_id: "alice.acme".parse().unwrap(),
            public_key: sk.public_key(),
            nonce,
            receiver_id: "bob.acme".parse().unwrap(),
            block_hash: CryptoHash::default(),
            actions,
        }
        .sign(&sk)
    }

    fn assembly(txs: &[SignedTransaction]) -> Assembly {
        let header = BlockHeader {
            height: 1,
            prev_hash: CryptoHash::default(),
            timestamp_ms: 1,
            proposer: "v0.acme".parse().unwrap(),
            tx_root: Block::compute_tx_root(txs),
            outcome_root: CryptoHash::default(),
            next_bp_hash: CryptoHash::default(),
            prev_state_root: CryptoHash::default(),
        };
        let block = Block { header, transactions: txs.to_vec() };
        let proposal = Proposal { height: 1, round: 0, value: block.hash(), pol_round: None, proposer: 0 };
        Assembly::new(proposal, Signature([0; 64]), CompactBlock::of(&block))
    }

    #[test]
    fn only_named_transactions_within_the_size_limits_are_kept() {
        let limits = BlockLimits {
            max_transactions: 10,
            max_tx_bytes: 1_000,
            max_block_bytes: 1_500,
            max_block_cost: u64::MAX,
            max_clock_drift_ms: 0,
        };
        let (a, b, c) = (tx(1, 0), tx(2, 600), tx(3, 600));
        let mut whole = assembly(&[a.clone(), b.clone()]);
        assert_eq!(whole.fill(c.clone(), &limits), Filled::Ignored, "not named");
        assert_eq!(whole.fill(b.clone(), &limits), Filled::Kept);
        assert_eq!(whole.fill(b.clone(), &limits), Filled::Ignored, "already here");
        assert_eq!(whole.missing(), vec![a.digest()]);
        let mut other = a.clone();
        other.signature.0[5] ^= 1;
        assert_eq!(whole.fill(other, &limits), Filled::Ignored, "another signed copy");
        assert_eq!(whole.fill(a.clone(), &limits), Filled::Kept);
        assert!(whole.is_whole());
        assert_eq!(whole.into_block().transactions, vec![a.clone(), b.clone()]);

        let huge = tx(4, 1_200);
        assert_eq!(
            assembly(std::slice::from_ref(&huge)).fill(huge.clone(), &limits),
            Filled::OverLimit,
            "one transaction too large"
        );
        let mut too_many_bytes = assembly(&[b.clone(), c.clone()]);
        assert_eq!(too_many_bytes.fill_all([b, c], &limits), Filled::OverLimit, "the block's bytes");
    }
}
