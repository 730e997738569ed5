//! NEAR-shaped JSON-RPC errors.

use serde_json::{json, Value};

use crate::{NodeError, SubmitError};
use chain_types::{InvalidTxError, TxExecutionError};

/// A JSON-RPC error in NEAR's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: &'static str,
    /// `REQUEST_VALIDATION_ERROR`, `HANDLER_ERROR` or `INTERNAL_ERROR`.
    pub name: &'static str,
    pub cause: &'static str,
    pub info: Value,
    pub data: Value,
}

impl RpcError {
    pub fn parse(detail: impl std::fmt::Display) -> Self {
        let detail = detail.to_string();
        RpcError {
            code: -32700,
            message: "Parse error",
            name: "REQUEST_VALIDATION_ERROR",
            cause: "PARSE_ERROR",
            info: json!({ "error_message": detail }),
            data: Value::String(detail),
        }
    }

    pub fn method_not_found(method: &str) -> Self {
        RpcError {
            code: -32601,
            message: "Method not found",
            name: "REQUEST_VALIDATION_ERROR",
            cause: "METHOD_NOT_FOUND",
            info: json!({ "method_name": method }),
            data: Value::String(method.to_owned()),
        }
    }

    pub fn handler(cause: &'static str, info: Value, data: Value) -> Self {
        RpcError { code: -32000, message: "Server error", name: "HANDLER_ERROR", cause, info, data }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let detail = detail.to_string();
        RpcError {
            code: -32000,
            message: "Server error",
            name: "INTERNAL_ERROR",
            cause: "INTERNAL_ERROR",
            info: json!({ "error_message": detail }),
            data: Value::String(detail),
        }
    }

    pub fn invalid_tx(e: InvalidTxError) -> Self {
        let v = serde_json::to_value(TxExecutionError::InvalidTxError(e)).unwrap_or(Value::Null);
        Self::handler("INVALID_TRANSACTION", v.clone(), json!({ "TxExecutionError": v }))
    }

    pub fn timeout() -> Self {
        Self::handler("TIMEOUT_ERROR", Value::Null, Value::String("Timeout".into()))
    }

    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "cause": { "name": self.cause, "info": self.info },
            "code": self.code,
            "message": self.message,
            "data": self.data,
        })
    }
}

impl From<NodeError> for RpcError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::UnknownBlock(b) => RpcError::handler(
                "UNKNOWN_BLOCK",
                json!({ "block_reference": b }),
                Value::String(format!("DB Not Found Error: BLOCK: {b}")),
            ),
            e @ NodeError::NotYetProvable(_) => RpcError::handler(
                "NOT_CONFIRMED",
                json!({ "error_message": e.to_string() }),
                Value::String(e.to_string()),
            ),
            NodeError::Internal(m) => RpcError::internal(m),
        }
    }
}

impl From<SubmitError> for RpcError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Invalid(e) => RpcError::invalid_tx(e),
            e @ SubmitError::MempoolFull { .. } => RpcError::handler(
                "MEMPOOL_FULL",
                json!({ "error_message": e.to_string() }),
                Value::String(e.to_string()),
            ),
            SubmitError::Node(e) => e.into(),
        }
    }
}
