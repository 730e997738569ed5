//! The remote signer: the `kms` daemon serves a guarded signer over gRPC
//! (`kms.v1.RemoteSigner`), and [`RemoteSigner`] is the validator's side of it.

mod certs;
mod client;
mod server;

pub use certs::init as init_certs;
pub use client::{RemoteSigner, DEFAULT_REMOTE_TIMEOUT_MS};
pub use server::SignerService;

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
