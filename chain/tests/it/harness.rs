//! A chain on a temporary store: apply transactions block by block and read state back.

use std::sync::Arc;

use chain::node::{init_store, Node};
use chain::runtime::{BlockContext, Runtime, TxResult};
use chain::store::{StateKey, Store, StoredBlock};
use chain_types::{
    AccessKey, Account, AccountId, Action, ActionErrorKind, Block, BlockHeader, CommitCertificate, CryptoHash,
    ExecutionOutcome, ExecutionStatus, SecretKey, SignedTransaction, Transaction, TxExecutionError,
};
use contracts::{ModuleRegistry, NativeModule};
use genesis::{Generated, NewGenesisOptions, Preset};

pub struct TestChain {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub runtime: Runtime,
    pub generated: Generated,
    nonces: std::collections::HashMap<String, u64>,
}

/// A development genesis with one validator (the helper every test chain starts from).
pub fn one_validator(chain_id: &str, genesis_time_ms: u64) -> Generated {
    genesis::generate(&NewGenesisOptions {
        validators: 1,
        preset: Preset::Development,
        chain_id: chain_id.into(),
        host: "127.0.0.1".into(),
        base_port: 24000,
        genesis_time_ms,
    })
    .expect("genesis")
}

/// A node on a fresh store under `dir`, signing with `key` when given.
pub fn open_node(g: &Generated, dir: &std::path::Path, key: Option<&SecretKey>) -> Arc<Node> {
    let db = dir.join("db");
    init_store(&Store::open(&db).expect("open store"), &g.genesis).expect("init");
    Node::open(&db, g.genesis.clone(), ModuleRegistry::standard(), key.map(|k| k.public_key())).expect("open node")
}

/// Transfers of 1 from alice.acme (its genesis key) to bob.acme, one per nonce.
pub fn alice_to_bob(g: &Generated, recent: CryptoHash, nonces: std::ops::Range<u64>) -> Vec<SignedTransaction> {
    let alice = g.accounts.iter().find(|a| a.account_id.as_str() == "alice.acme").expect("alice");
    nonces
        .map(|nonce| {
            Transaction {
                signer_id: alice.account_id.clone(),
                public_key: alice.public_key,
                nonce,
                receiver_id: id("bob.acme"),
                block_hash: recent,
                actions: vec![transfer(1)],
            }
            .sign(&alice.secret_key)
        })
        .collect()
}

pub fn id(s: &str) -> AccountId {
    s.parse().expect("valid test account id")
}

impl TestChain {
    pub fn new() -> Self {
        Self::with_modules(Vec::new())
    }

    pub fn with_modules(modules: Vec<Arc<dyn NativeModule>>) -> Self {
        Self::build(modules, |_| {})
    }

    /// A chain from the one-validator genesis as `edit` changes it.
    pub fn with_genesis(edit: impl FnOnce(&mut Generated)) -> Self {
        Self::build(Vec::new(), edit)
    }

    fn build(modules: Vec<Arc<dyn NativeModule>>, edit: impl FnOnce(&mut Generated)) -> Self {
        let mut generated = one_validator("test-chain", 1_700_000_000_000);
        edit(&mut generated);
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("db")).expect("open store");
        init_store(&store, &generated.genesis).expect("init");
        let mut registry = ModuleRegistry::standard();
        for m in modules {
            registry.register(m);
        }
        let runtime = Runtime::new(&generated.genesis, registry);
        TestChain { dir, store, runtime, generated, nonces: Default::default() }
    }

    pub fn key(&self, account: &str) -> SecretKey {
        self.generated
            .accounts
            .iter()
            .find(|k| k.account_id.as_str() == account)
            .map(|k| k.secret_key.clone())
            .unwrap_or_else(|| panic!("no key for {account}"))
    }

    pub fn head(&self) -> StoredBlock {
        self.store.head_block().expect("read").expect("head")
    }

    /// A transaction from `signer` (its genesis key) with the next nonce.
    pub fn tx(&mut self, signer: &str, receiver: &str, actions: Vec<Action>) -> SignedTransaction {
        let key = self.key(signer);
        self.tx_with_key(signer, &key, receiver, actions)
    }

    pub fn tx_with_key(
        &mut self,
        signer: &str,
        key: &SecretKey,
        receiver: &str,
        actions: Vec<Action>,
    ) -> SignedTransaction {
        let nonce = self.nonces.entry(format!("{signer}/{}", key.public_key())).or_insert(0);
        *nonce += 1;
        Transaction {
            signer_id: id(signer),
            public_key: key.public_key(),
            nonce: *nonce,
            receiver_id: id(receiver),
            block_hash: self.head().block.hash(),
            actions,
        }
        .sign(key)
    }

    /// Executes `txs` as the next block and commits it; returns each transaction's result.
    pub fn block(&mut self, txs: Vec<SignedTransaction>) -> Vec<TxResult> {
        let head = self.head();
        let height = head.block.header.height + 1;
        let chain_id = self.generated.genesis.chain_id.clone();
        let ctx = BlockContext {
            chain_id: &chain_id,
            height,
            timestamp_ms: head.block.header.timestamp_ms + 1,
            validity_blocks: self.generated.genesis.transaction_validity_blocks,
            store: &self.store,
        };
        let applied = self.runtime.apply_block(&ctx, &txs, true).expect("apply");
        let (changes, results) = (applied.changes, applied.results);
        let tree = self.store.prepare_tree(&changes).expect("tree");
        let block = Block {
            header: BlockHeader {
                height,
                prev_hash: head.block.hash(),
                timestamp_ms: ctx.timestamp_ms,
                proposer: id("v0.acme"),
                tx_root: Block::compute_tx_root(&txs),
                outcome_root: CryptoHash::default(),
                next_bp_hash: CryptoHash::default(),
                prev_state_root: self.root(),
            },
            transactions: txs,
        };
        let hash = block.hash();
        let outcomes: Vec<ExecutionOutcome> = block
            .transactions
            .iter()
            .zip(&results)
            .map(|(t, r)| ExecutionOutcome {
                tx_hash: t.hash(),
                signer_id: t.transaction.signer_id.clone(),
                receiver_id: t.transaction.receiver_id.clone(),
                block_height: height,
                block_hash: hash,
                status: r.status.clone(),
                logs: r.logs.clone(),
            })
            .collect();
        let jmt_version = tree.state_version.unwrap_or(head.jmt_version);
        let certificate = CommitCertificate { height, round: 0, block_hash: hash, signatures: vec![] };
        self.store
            .commit_block(&StoredBlock { block, certificate, jmt_version }, &changes, &applied.records, tree, &outcomes)
            .expect("commit");
        results
    }

    /// Deploys native module `name` on `account` (as genesis will for the treasury), in a
    /// block of its own.
    pub fn assign_module(&mut self, account: &str, name: &str) {
        let head = self.head();
        let mut changes = chain::store::StateChanges::new();
        changes.insert(StateKey::module(&id(account)), Some(name.as_bytes().to_vec()));
        let tree = self.store.prepare_tree(&changes).expect("tree");
        let mut block = head.block.clone();
        block.header.height += 1;
        block.header.prev_hash = head.block.hash();
        block.header.prev_state_root = self.root();
        block.transactions.clear();
        let certificate =
            CommitCertificate { height: block.header.height, round: 0, block_hash: block.hash(), signatures: vec![] };
        let jmt_version = tree.state_version.unwrap_or(head.jmt_version);
        self.store
            .commit_block(&StoredBlock { block, certificate, jmt_version }, &changes, &[], tree, &[])
            .expect("commit");
    }

    /// Applies one transaction in its own block.
    pub fn run(&mut self, tx: SignedTransaction) -> TxResult {
        self.block(vec![tx]).remove(0)
    }

    pub fn account(&self, account: &str) -> Option<Account> {
        self.store
            .state(&StateKey::account(&id(account)))
            .expect("read")
            .map(|b| borsh::from_slice(&b).expect("account"))
    }

    pub fn balance(&self, account: &str) -> u128 {
        self.account(account).map(|a| a.amount).unwrap_or_else(|| panic!("{account} missing"))
    }

    pub fn access_key(&self, account: &str, key: &chain_types::PublicKey) -> Option<AccessKey> {
        self.store
            .state(&StateKey::access_key(&id(account), key))
            .expect("read")
            .map(|b| borsh::from_slice(&b).expect("key"))
    }

    /// Sum of every account's balance and stake: must always equal total supply.
    pub fn total_balance(&self) -> u128 {
        self.store
            .state_prefix(b"a")
            .expect("scan")
            .into_iter()
            .map(|(_, v)| {
                let a: Account = borsh::from_slice(&v).expect("account");
                a.amount + a.locked
            })
            .sum()
    }

    /// A module's view `method` at the head, parsed as JSON; the error as text.
    pub fn view(&self, account: &str, method: &str, args: serde_json::Value) -> Result<serde_json::Value, String> {
        let head = self.head();
        let ctx = BlockContext {
            chain_id: &self.generated.genesis.chain_id,
            height: head.block.header.height,
            timestamp_ms: head.block.header.timestamp_ms,
            validity_blocks: self.generated.genesis.transaction_validity_blocks,
            store: &self.store,
        };
        let out = self
            .runtime
            .view(&ctx, None, &id(account), method, args.to_string().as_bytes())
            .map_err(|e| e.to_string())?;
        Ok(serde_json::from_slice(&out).expect("view returns JSON"))
    }

    /// The state root after the head block.
    pub fn root(&self) -> CryptoHash {
        self.store.root_at(self.head().jmt_version).expect("root")
    }
}

pub fn transfer(deposit: u128) -> Action {
    Action::Transfer(chain_types::TransferAction { deposit })
}

pub fn function_call(method: &str, args: &[u8], deposit: u128) -> Action {
    Action::FunctionCall(Box::new(chain_types::FunctionCallAction {
        method_name: method.into(),
        args: args.to_vec(),
        gas: 30_000_000_000_000,
        deposit,
    }))
}

pub fn ok(status: &ExecutionStatus) {
    assert!(matches!(status, ExecutionStatus::SuccessValue(_)), "expected success, got {status:?}");
}

pub fn action_error(status: &ExecutionStatus) -> (u64, ActionErrorKind) {
    match status {
        ExecutionStatus::Failure(TxExecutionError::ActionError(e)) => (e.index, e.kind.clone()),
        other => panic!("expected an action error, got {other:?}"),
    }
}
