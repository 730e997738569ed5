//! FunctionCall dispatch to native modules through the `NativeModule` trait, and the
//! function-call access key rules. The module here is a test double for the dispatch path;
//! the real modules (treasury, registrar) have their own tests.

use std::sync::Arc;

use chain_types::{
    AccessKey, AccessKeyPermission, Action, ActionErrorKind, AddKeyAction, CreateAccountAction, ExecutionStatus,
    FunctionCallPermission, InvalidTxError, SecretKey, TxExecutionError,
};
use contracts::{Host, ModuleError, NativeModule};

use crate::harness::{function_call, id, transfer, TestChain};

/// `increment {"by": n}` adds to a stored counter and returns it; `refund` sends the
/// attached deposit back to the caller; `fail` writes, then errors.
struct Counter;

impl Counter {
    fn read(host: &dyn Host) -> u64 {
        host.storage_read(b"n").map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default())).unwrap_or(0)
    }
}

impl NativeModule for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }

    fn call(&self, host: &mut dyn Host, method: &str, args: &[u8]) -> Result<Vec<u8>, ModuleError> {
        match method {
            "increment" => {
                let v: serde_json::Value =
                    serde_json::from_slice(args).map_err(|e| ModuleError::InvalidArgs(e.to_string()))?;
                let n = Self::read(host) + v["by"].as_u64().unwrap_or(1);
                host.storage_write(b"n", &n.to_le_bytes());
                host.log(format!("counter is {n}"));
                Ok(n.to_string().into_bytes())
            }
            "refund" => {
                let (to, amount) = (host.predecessor().clone(), host.attached_deposit());
                host.transfer(&to, amount)?;
                Ok(Vec::new())
            }
            "fail" => {
                host.storage_write(b"n", &999u64.to_le_bytes());
                Err(ModuleError::Rejected("always fails".into()))
            }
            other => Err(ModuleError::MethodNotFound { module: "counter", method: other.into() }),
        }
    }

    fn view(&self, host: &dyn Host, _method: &str, _args: &[u8]) -> Result<Vec<u8>, ModuleError> {
        Ok(Self::read(host).to_string().into_bytes())
    }
}

fn call(method: &str, args: &str, deposit: u128) -> Action {
    function_call(method, args.as_bytes(), deposit)
}

fn chain_with_counter() -> TestChain {
    let mut c = TestChain::with_modules(vec![Arc::new(Counter)]);
    let tx = c.tx("acme", "counter.acme", vec![Action::CreateAccount(CreateAccountAction {}), transfer(0)]);
    assert!(matches!(c.run(tx).status, ExecutionStatus::SuccessValue(_)));
    c.assign_module("counter.acme", "counter");
    c
}

fn failure(status: &ExecutionStatus) -> TxExecutionError {
    match status {
        ExecutionStatus::Failure(e) => e.clone(),
        other => panic!("expected failure, got {other:?}"),
    }
}

#[test]
fn call_dispatches_to_the_module_and_returns_its_value() {
    let mut c = chain_with_counter();
    let tx = c.tx("alice.acme", "counter.acme", vec![call("increment", r#"{"by":2}"#, 0)]);
    let r = c.run(tx);
    assert_eq!(r.status, ExecutionStatus::SuccessValue(b"2".to_vec()));
    assert_eq!(r.logs, vec!["counter is 2".to_string()]);
    let tx = c.tx("bob.acme", "counter.acme", vec![call("increment", r#"{"by":5}"#, 0)]);
    assert_eq!(c.run(tx).status, ExecutionStatus::SuccessValue(b"7".to_vec()));
}

#[test]
fn module_transfers_and_deposits_move_real_balances() {
    let mut c = chain_with_counter();
    let alice = c.balance("alice.acme");
    let tx = c.tx("alice.acme", "counter.acme", vec![call("refund", "{}", 1_000)]);
    assert_eq!(c.run(tx).status, ExecutionStatus::SuccessValue(vec![]));
    assert_eq!(c.balance("alice.acme"), alice, "deposit went in and came back");
    assert_eq!(c.balance("counter.acme"), 0);
}

#[test]
fn module_error_rolls_back_its_writes_and_the_deposit() {
    let mut c = chain_with_counter();
    let tx = c.tx("alice.acme", "counter.acme", vec![call("increment", r#"{"by":1}"#, 0)]);
    c.run(tx);
    let alice = c.balance("alice.acme");
    let tx = c.tx("alice.acme", "counter.acme", vec![call("fail", "{}", 50)]);
    let err = failure(&c.run(tx).status);
    assert!(
        matches!(err, TxExecutionError::ActionError(ref e) if e.kind == ActionErrorKind::FunctionCallError { message: "always fails".into() }),
        "{err:?}"
    );
    assert_eq!(c.balance("alice.acme"), alice);
    let tx = c.tx("alice.acme", "counter.acme", vec![call("increment", r#"{"by":1}"#, 0)]);
    assert_eq!(c.run(tx).status, ExecutionStatus::SuccessValue(b"2".to_vec()), "the failed call's write was discarded");
}

#[test]
fn call_to_an_account_without_module() {
    let mut c = chain_with_counter();
    let tx = c.tx("alice.acme", "bob.acme", vec![call("increment", "{}", 0)]);
    assert!(
        matches!(failure(&c.run(tx).status), TxExecutionError::ActionError(e) if e.kind == ActionErrorKind::NoModule { account_id: id("bob.acme") })
    );
}

#[test]
fn function_call_key_may_sign_only_what_it_allows() {
    let mut c = chain_with_counter();
    let fc = SecretKey::from_seed([11; 32]);
    let permission = AccessKeyPermission::FunctionCall(FunctionCallPermission {
        allowance: None,
        receiver_id: id("counter.acme"),
        method_names: vec!["increment".into()],
    });
    let add = Action::AddKey(Box::new(AddKeyAction {
        public_key: fc.public_key(),
        access_key: AccessKey { nonce: 0, permission },
    }));
    let tx = c.tx("alice.acme", "alice.acme", vec![add]);
    assert!(matches!(c.run(tx).status, ExecutionStatus::SuccessValue(_)));

    let tx = c.tx_with_key("alice.acme", &fc, "counter.acme", vec![call("increment", "{}", 0)]);
    assert_eq!(c.run(tx).status, ExecutionStatus::SuccessValue(b"1".to_vec()));

    let cases: Vec<(&str, Vec<Action>, InvalidTxError)> = vec![
        (
            "counter.acme",
            vec![call("fail", "{}", 0)],
            InvalidTxError::MethodNameMismatch { method_name: "fail".into() },
        ),
        ("counter.acme", vec![call("increment", "{}", 1)], InvalidTxError::DepositWithFunctionCall),
        ("counter.acme", vec![transfer(1)], InvalidTxError::RequiresFullAccess),
        (
            "counter.acme",
            vec![call("increment", "{}", 0), call("increment", "{}", 0)],
            InvalidTxError::RequiresFullAccess,
        ),
        (
            "bob.acme",
            vec![call("increment", "{}", 0)],
            InvalidTxError::ReceiverMismatch { tx_receiver: id("bob.acme"), ak_receiver: id("counter.acme") },
        ),
    ];
    for (receiver, actions, expected) in cases {
        let tx = c.tx_with_key("alice.acme", &fc, receiver, actions);
        assert_eq!(failure(&c.run(tx).status), TxExecutionError::InvalidTxError(expected));
    }
}
