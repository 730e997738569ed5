//! End-to-end: node processes over JSON-RPC, crash recovery, bad input, the genesis CLI,
//! and near-api-js 7.2.0 (a real NEAR wallet library) against a node.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

mod backpressure;
mod bad_input;
mod bench_smoke;
mod byzantine;
mod chaos;
mod console;
mod crash;
mod credentials;
mod deploy;
mod disk_faults;
mod divergence;
mod genesis_cli;
mod grpc_api;
mod image;
mod kms_node;
mod kms_remote;
mod kms_testnet;
mod kms_tls;
mod kms_vault;
mod logs;
mod metrics;
mod multi_node;
mod near_models;
mod node_rpc;
mod operator_errors;
mod rpc_abuse;
mod rpc_queries;
mod treasury_e2e;
mod wallet_near_api_js;
mod wallet_near_kit;
mod workspace_e2e;
