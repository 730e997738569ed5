//! The remote signer: the `kms` daemon serves a guarded signer over gRPC
//! (`kms.v1.RemoteSigner`), and [`RemoteSigner`] is the validator's side of it.
//!
//! # Invariants
//! - The channel is a Unix socket (its file permissions decide who connects), plaintext on
//!   loopback, or mutual TLS. Plaintext on or to a non-loopback address is refused at start
//!   by both sides ([`Listen::check`], [`DaemonTarget::parse`]).
//! - Over TLS the daemon serves only clients whose certificate is signed by its configured CA
//!   (refused in the handshake, and every call checked for a verified peer certificate), and
//!   the node accepts only a daemon certificate signed by its configured CA for the name it
//!   dials, so `GetPublicKey` is authenticated. Every call the daemon serves (signing, which
//!   moves the watermark, and health) is behind the same check; it serves nothing else.

mod certs;
mod client;
mod daemon_config;
mod listen;
mod server;
mod target;
mod tls;

pub use certs::init as init_certs;
pub use client::{RemoteSigner, DEFAULT_REMOTE_TIMEOUT_MS};
pub use daemon_config::DaemonConfig;
pub use listen::{Bound, Listen, DEFAULT_SOCKET_MODE};
pub use server::SignerService;
pub use target::DaemonTarget;
pub use tls::TlsFiles;

#[allow(clippy::all, missing_debug_implementations)]
pub mod proto {
    tonic::include_proto!("kms.v1");
}

use crate::Step;

fn step_to_proto(step: Step) -> proto::Step {
    match step {
        Step::Propose => proto::Step::Propose,
        Step::Prevote => proto::Step::Prevote,
        Step::Precommit => proto::Step::Precommit,
    }
}

fn step_from_proto(step: proto::Step) -> Option<Step> {
    match step {
        proto::Step::Propose => Some(Step::Propose),
        proto::Step::Prevote => Some(Step::Prevote),
        proto::Step::Precommit => Some(Step::Precommit),
        proto::Step::Unspecified => None,
    }
}
