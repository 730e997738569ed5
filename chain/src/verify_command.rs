//! `chain verify`: a light client run against a node. From the genesis file alone it follows
//! the chain's certified headers across validator-set changes, then checks the proofs the
//! node gives for the transactions and accounts asked about. Nothing the node says is
//! believed unless a quorum of the right validator set signed it.

use anyhow::{bail, Context as _};
use chain_types::{Account, AccountId, CryptoHash};
use light_client::wire::{ExecutionProof, LightClientBlock, StateProofSet};
use light_client::LightClient;
use rpc::client::RpcClient;
use serde_json::{json, Value};

/// A transaction to prove: `HASH:SENDER`.
#[derive(Debug, Clone)]
pub struct TxArg {
    pub hash: CryptoHash,
    pub sender: AccountId,
}

impl std::str::FromStr for TxArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (hash, sender) = s.split_once(':').ok_or("expected HASH:SENDER")?;
        Ok(TxArg {
            hash: hash.parse().map_err(|e| format!("transaction hash: {e}"))?,
            sender: sender.parse().map_err(|e| format!("sender: {e}"))?,
        })
    }
}

/// Most light blocks followed in one run (a block per epoch, so a bound on epochs).
const MAX_STEPS: usize = 1_000_000;

/// Follows the chain to the node's head; returns how many headers were verified.
async fn follow(lc: &mut LightClient, rpc: &RpcClient, genesis_hash: CryptoHash) -> anyhow::Result<usize> {
    let mut steps = 0;
    while steps < MAX_STEPS {
        let cursor = lc.head_hash().unwrap_or(genesis_hash);
        let answer = rpc.call("next_light_client_block", json!({ "last_block_hash": cursor })).await?;
        let Some(block) = LightClientBlock::from_answer(&answer)? else { break };
        let before = lc.sets().len();
        lc.advance(&block).with_context(|| format!("header {} refused", block.certified.header.height))?;
        steps += 1;
        if let Some((epoch, set)) = lc.sets().iter().next_back().filter(|_| lc.sets().len() > before) {
            let names: Vec<&str> = set.iter().map(|(a, _)| a.as_str()).collect();
            println!(
                "epoch {epoch}: validator set of {} from certified block {}: {}",
                set.len(),
                lc.head(),
                names.join(", ")
            );
        }
    }
    Ok(steps)
}

/// Runs the light client against the node at `url`.
pub async fn verify(
    genesis: &genesis::Genesis,
    url: &str,
    txs: &[TxArg],
    accounts: &[AccountId],
) -> anyhow::Result<()> {
    let rpc = RpcClient::new(url);
    let mut lc = LightClient::from_genesis(genesis);
    let status = rpc.status().await.with_context(|| format!("{url} does not answer `status`"))?;
    if status["chain_id"] != json!(genesis.chain_id) {
        bail!("{url} serves chain {}, the genesis file is {}", status["chain_id"], genesis.chain_id);
    }
    let genesis_hash: CryptoHash = serde_json::from_value(status["genesis_hash"].clone()).context("genesis_hash")?;
    let steps = follow(&mut lc, &rpc, genesis_hash).await?;
    println!(
        "head: block {} ({}), {steps} certified headers checked",
        lc.head(),
        lc.head_hash().map_or("genesis".into(), |h| h.to_string())
    );
    for tx in txs {
        let Some(head) = lc.head_hash() else { bail!("no certified block yet to prove {} against", tx.hash) };
        let params = json!({ "type": "transaction", "transaction_hash": tx.hash, "sender_id": tx.sender, "light_client_head": head });
        let answer = rpc.call("light_client_proof", params).await?;
        let v = lc
            .verify_transaction(&ExecutionProof::from_answer(&answer)?, &tx.hash)
            .with_context(|| format!("the proof of transaction {} is refused", tx.hash))?;
        if v.signer_id != tx.sender {
            bail!("transaction {} was signed by {}, not {}", tx.hash, v.signer_id, tx.sender);
        }
        println!(
            "transaction {}: in block {} ({}), {} -> {}, outcome {}",
            v.tx_hash,
            v.block_height,
            v.block_hash,
            v.signer_id,
            v.receiver_id,
            serde_json::to_string(&v.status)?
        );
    }
    for id in accounts {
        let followed = lc.head();
        let answer = proven_account(&mut lc, &rpc, genesis_hash, id).await?;
        let proofs = StateProofSet::from_answer(&answer)?;
        let verified = lc.verify_state(&proofs).with_context(|| format!("the proof of account {id} is refused"))?;
        let entry = verified
            .iter()
            .find(|e| e.key == chain::store::StateKey::account(id))
            .with_context(|| format!("the answer proves no entry of account {id}"))?;
        // Fresh: the root is certified by the block after the one answered, and that block is
        // no older than the head the client followed to.
        let answered = answer["block_height"].as_u64().context("block_height")?;
        if entry.root_block_height != answered + 1 || entry.root_block_height < followed {
            bail!(
                "account {id}: answered at block {answered}, proven at the root of block {}, behind the head {followed}",
                entry.root_block_height
            );
        }
        let shown: Account = match &entry.value {
            Some(bytes) => borsh::from_slice(bytes).context("the proven account does not decode")?,
            None => bail!("account {id}: the node answered it, but the proof says it does not exist"),
        };
        if answer["amount"] != json!(shown.amount.to_string()) || answer["locked"] != json!(shown.locked.to_string()) {
            bail!(
                "account {id}: the node says {} / {}, the proof says {} / {}",
                answer["amount"],
                answer["locked"],
                shown.amount,
                shown.locked
            );
        }
        println!(
            "account {id}: amount {}, locked {} (state after block {}, root certified in block {})",
            shown.amount, shown.locked, answer["block_height"], entry.root_block_height
        );
    }
    Ok(())
}

/// `view_account` with a proof; if its root block is in an epoch the client has not reached
/// (blocks came since it followed), follows again first.
async fn proven_account(
    lc: &mut LightClient,
    rpc: &RpcClient,
    genesis_hash: CryptoHash,
    id: &AccountId,
) -> anyhow::Result<Value> {
    let params =
        json!({ "request_type": "view_account", "account_id": id, "finality": "final", "include_proof": true });
    let answer = rpc.call("query", params).await?;
    let root_height = answer["state_proof"]["root_block_height"].as_u64().context("state_proof.root_block_height")?;
    if lc.epoch_of(root_height) > lc.sets().keys().next_back().copied().unwrap_or(0) {
        follow(lc, rpc, genesis_hash).await?;
    }
    Ok(answer)
}
