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
//! - Authorization is by HTTP method and path alone ([`access::Endpoint`]): `POST /` is
//!   JSON-RPC (role by method), each gRPC method has a listed role, anything else is refused
//!   before authentication. No header the client chooses (`content-type` included) changes
//!   what a request may do.
//! - Connections are bounded before any request is read: at most `max_connections` open and
//!   `max_connections_per_ip` from one address (IPv6: a /64); a new connection must send its
//!   first request within `header_read_timeout_ms`, HTTP/1 headers always within it, an HTTP/2
//!   peer must answer keep-alive pings, and a connection with no request in progress for
//!   `idle_timeout_ms` is closed. Held-open sockets cannot lock other clients out.
//! - argon2 runs only under bounds: per-address failed-attempt allowance checked first, at
//!   most `max_password_checks` at once (else 429 / RESOURCE_EXHAUSTED at once), the same
//!   cost for unknown usernames, once per credential until the credentials file changes.
//!   Failed logins never spend the request budgets of honest clients.
//! - gRPC subscriptions are bounded: `max_subscriptions` on the node,
//!   `max_subscriptions_per_credential` each (per address without credentials), and none may
//!   start more than `max_replay_blocks` behind the head (OUT_OF_RANGE, naming the limit).

pub mod access;
mod api;
mod changes;
mod chunk;
pub mod client;
mod console;
mod error;
pub mod grpc;
mod light_client;
mod methods;
pub mod metrics;
mod module_views;
mod node_info;
mod server;
mod views;

pub use api::{
    BlockRef, CertifiedBlock, EvidenceView, Finality, Health, NetworkInfo, NodeApi, NodeError, NodeStatus, PeerView,
    ProtocolConfig, StateChangeValue, StateChangeView, StateEntries, StateProof, StateRead, SubmitError, ValidatorView,
    ValidatorsView, ViewCallError, WaitUntil,
};
pub use error::RpcError;
pub use server::{router, serve, serve_app, RpcConfig};
pub use views::{epoch_id, epoch_of};
