//! What a transaction costs a validator: the unit blocks are filled by.
//!
//! One unit is about one microsecond of one validator's CPU on the reference machine (the
//! stage costs in docs/BENCHMARKS.md): every transaction pays for its signature check, the
//! Merkle update and store write of its signer's account and key, and its bytes; each action
//! adds what it touches. A block's cost is bounded by `limits.max_block_cost`, so the work a
//! height puts on the vote path stays bounded whatever mix of transactions it holds, while its
//! count follows the load.

use crate::{Action, SignedTransaction};

/// Signature check, the signer's account and access key (read, Merkle update, store write).
pub const TX_BASE_COST: u64 = 100;
/// Hashing, storing and gossiping: one unit per this many borsh bytes.
pub const BYTES_PER_COST_UNIT: u64 = 64;
/// Most actions one transaction may carry (NEAR's `max_actions_per_receipt`).
pub const MAX_ACTIONS_PER_TRANSACTION: u64 = 100;
/// The costliest action's fixed part, per action.
const MAX_ACTION_COST: u64 = 200;
/// Argument bytes per unit of a function call.
const ARG_BYTES_PER_UNIT: u64 = 16;

/// The most a transaction of at most `max_tx_bytes` with at most
/// [`MAX_ACTIONS_PER_TRANSACTION`] actions can cost: a block cost limit at least this high
/// fits every admissible transaction in an empty block.
pub fn max_transaction_cost(max_tx_bytes: u64) -> u64 {
    TX_BASE_COST
        .saturating_add(max_tx_bytes / BYTES_PER_COST_UNIT)
        .saturating_add(MAX_ACTIONS_PER_TRANSACTION.saturating_mul(MAX_ACTION_COST))
        .saturating_add(max_tx_bytes / ARG_BYTES_PER_UNIT)
}

/// Units of one action beyond the transaction's base.
pub fn action_cost(action: &Action) -> u64 {
    match action {
        // The receiver's account.
        Action::Transfer(_) => 20,
        Action::CreateAccount(_) | Action::DeleteAccount(_) => 60,
        Action::AddKey(_) | Action::DeleteKey(_) => 40,
        // A native module's state reads and writes, plus its arguments parsed.
        Action::FunctionCall(f) => MAX_ACTION_COST + f.args.len() as u64 / ARG_BYTES_PER_UNIT,
        // Refused at admission; a proposal holding one still pays for its bytes.
        Action::DeployContract(_) | Action::Stake(_) | Action::Delegate(_) => 100,
    }
}

impl SignedTransaction {
    /// The transaction's cost in units (see the module documentation).
    pub fn cost(&self) -> u64 {
        let bytes = borsh::object_length(self).map_or(u64::MAX, |n| n as u64);
        self.transaction
            .actions
            .iter()
            .map(action_cost)
            .fold(TX_BASE_COST.saturating_add(bytes / BYTES_PER_COST_UNIT), u64::saturating_add)
    }
}

/// The cost of a list of transactions (a block's).
pub fn total_cost(txs: &[SignedTransaction]) -> u64 {
    txs.iter().map(SignedTransaction::cost).fold(0, u64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CryptoHash, FunctionCallAction, SecretKey, Transaction, TransferAction};

    fn tx(actions: Vec<Action>) -> SignedTransaction {
        let key = SecretKey::from_seed([1; 32]);
        Transaction {
            signer_id: "alice.acme".parse().unwrap(),
            public_key: key.public_key(),
            nonce: 1,
            receiver_id: "bob.acme".parse().unwrap(),
            block_hash: CryptoHash::default(),
            actions,
        }
        .sign(&key)
    }

    #[test]
    fn a_transfer_costs_its_base_its_bytes_and_the_receiver() {
        let t = tx(vec![Action::Transfer(TransferAction { deposit: 1 })]);
        let bytes = borsh::object_length(&t).unwrap() as u64;
        assert_eq!(t.cost(), TX_BASE_COST + bytes / BYTES_PER_COST_UNIT + 20);
        assert!((120..130).contains(&t.cost()), "{}", t.cost());
    }

    #[test]
    fn calls_cost_more_with_their_arguments_and_actions_add_up() {
        let call = |n: usize| {
            Action::FunctionCall(Box::new(FunctionCallAction {
                method_name: "m".into(),
                args: vec![b'x'; n],
                gas: 0,
                deposit: 0,
            }))
        };
        let small = tx(vec![call(10)]).cost();
        let large = tx(vec![call(16_000)]).cost();
        assert!(large >= small + 1_000 + 240, "{small} {large}");
        let two = tx(vec![call(10), Action::Transfer(TransferAction { deposit: 1 })]).cost();
        assert!(two >= small + 20, "{small} {two}");
        assert_eq!(total_cost(&[tx(vec![call(10)]), tx(vec![call(10)])]), 2 * small);
    }

    #[test]
    fn no_admissible_transaction_costs_more_than_the_bound() {
        let max_tx_bytes = 64 * 1024;
        let call = |n: usize| {
            Action::FunctionCall(Box::new(FunctionCallAction {
                method_name: "m".into(),
                args: vec![1; n],
                gas: 0,
                deposit: 0,
            }))
        };
        // The costliest shapes: all bytes in one call's arguments, or the most actions.
        let one_big = tx(vec![call(60 * 1024)]);
        let many: Vec<Action> = (0..MAX_ACTIONS_PER_TRANSACTION).map(|_| call(600)).collect();
        let many = tx(many);
        for t in [one_big, many] {
            assert!(borsh::object_length(&t).unwrap() as u64 <= max_tx_bytes);
            assert!(
                t.cost() <= max_transaction_cost(max_tx_bytes),
                "{} > {}",
                t.cost(),
                max_transaction_cost(max_tx_bytes)
            );
        }
        assert!(max_transaction_cost(max_tx_bytes) < 120_000, "the default block cost fits any transaction");
    }
}
