//! The node as the driver's [`Application`]: RocksDB, the runtime and the mempool.

use std::sync::Arc;

use chain_types::{
    AccountId, Block, BlockHeader, BlockHeight, CommitCertificate, CryptoHash, Equivocation, SignedTransaction,
};
use consensus::ValidatorSet;
use consensus_driver::Application;

use super::blocks::{build_block, commit, execute_block, Executed, Signatures};
use crate::node::Node;
use crate::store::StoreError;

#[derive(Debug)]
pub(crate) struct NodeApp {
    pub node: Arc<Node>,
}

impl consensus_driver::Executed for Executed {
    fn block(&self) -> &Block {
        &self.block
    }
}

impl Application for NodeApp {
    type Executed = Executed;
    type Error = StoreError;

    fn chain_id(&self) -> &str {
        &self.node.genesis.chain_id
    }

    fn head(&self) -> Result<BlockHeader, StoreError> {
        Ok(self.node.store.head_block()?.ok_or(StoreError::Tree("store has no head".into()))?.block.header)
    }

    fn validators(&self, height: BlockHeight) -> Result<Arc<ValidatorSet>, StoreError> {
        self.node.validators_at(height)
    }

    fn has_work(&self) -> bool {
        !self.node.mempool.is_empty()
    }

    fn transactions(&self, digests: &[CryptoHash]) -> Vec<Option<SignedTransaction>> {
        self.node.mempool.by_digests(digests)
    }

    fn build(&mut self, proposer: &AccountId, timestamp_ms: u64) -> Result<Executed, StoreError> {
        build_block(&self.node, proposer.clone(), timestamp_ms)
    }

    fn execute(&mut self, block: Block, certified: bool) -> Result<Option<Executed>, StoreError> {
        let signatures = if certified { Signatures::Certified } else { Signatures::VerifyUnseen };
        execute_block(&self.node, block, signatures)
    }

    fn commit(&mut self, executed: Executed, certificate: CommitCertificate) -> Result<(), StoreError> {
        commit(&self.node, executed, certificate)
    }

    fn committed(&self, height: BlockHeight) -> Result<Option<(Block, CommitCertificate)>, StoreError> {
        Ok(self.node.store.block(height)?.map(|s| (s.block, s.certificate)))
    }

    fn record_evidence(&mut self, evidence: Equivocation) -> Result<(), StoreError> {
        if self.node.store.put_evidence(&evidence)? {
            let account = self
                .node
                .validators_at(evidence.height())
                .ok()
                .and_then(|set| {
                    set.validators().get(usize::from(evidence.validator())).map(|v| v.account_id.to_string())
                })
                .unwrap_or_else(|| format!("#{}", evidence.validator()));
            self.node.metrics().equivocated(&account);
            tracing::warn!(target: "chain::consensus", height = evidence.height(), round = evidence.round(), validator = %account, kind = evidence.kind(), id = %evidence.id(), "equivocation evidence kept");
        }
        Ok(())
    }
}
