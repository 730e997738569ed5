//! A native module's read-only method as typed JSON: what the gRPC views and the console
//! read the treasury and the workspace through, so every API shows what the modules say.

use chain_types::{AccountId, Block};
use serde_json::Value;

use crate::{BlockRef, NodeApi, NodeError, ViewCallError};

#[derive(Debug)]
pub enum ModuleViewError {
    Node(NodeError),
    View(ViewCallError),
    /// The module answered JSON of another shape.
    Json(String),
}

/// Runs `method` of the module on `account` with JSON `args` at `at`; decodes its JSON result.
pub fn module_json<N: NodeApi, T: serde::de::DeserializeOwned>(
    node: &N,
    account: &AccountId,
    method: &str,
    args: &Value,
    at: BlockRef,
) -> Result<(T, Block), ModuleViewError> {
    let (result, block) =
        node.call_view(account, method, args.to_string().as_bytes(), at).map_err(ModuleViewError::Node)?;
    let bytes = result.map_err(ModuleViewError::View)?;
    let value = serde_json::from_slice(&bytes)
        .map_err(|e| ModuleViewError::Json(format!("{account} view {method} returned unexpected JSON: {e}")))?;
    Ok((value, block))
}
