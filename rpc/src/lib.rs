//! Client APIs of a node: NEAR-compatible JSON-RPC over HTTP and a typed gRPC API
//! ([`grpc`]), both written against [`NodeApi`], which the node implements. Also a small
//! JSON-RPC client for tools and tests.
//!
//! # Invariants
//! - Every JSON-RPC reply is HTTP 200 with the request id echoed unchanged; failures are
//!   NEAR error objects (`{"name","cause":{"name","info"},"code","message","data"}`).
//! - Hashes are base58 of 32 bytes; amounts are decimal strings; `call_function`-style byte
//!   results are JSON arrays of numbers; transaction bodies arrive as base64 borsh.
//! - The server never panics on input: malformed JSON, unknown methods, bad params, bad
//!   base64 or borsh each return a parse/validation error.

pub mod access;
mod api;
pub mod client;
mod error;
pub mod grpc;
mod methods;
mod server;
mod views;

pub use api::{
    BlockRef, EvidenceView, Finality, NodeApi, NodeError, NodeStatus, ProtocolConfig, SubmitError, ValidatorView,
    ValidatorsView, ViewCallError, WaitUntil,
};
pub use error::RpcError;
pub use server::{router, serve, serve_app, RpcConfig};
