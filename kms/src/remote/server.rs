use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::proto::remote_signer_server::RemoteSigner as RemoteSignerApi;
use super::proto::{GetPublicKeyRequest, GetPublicKeyResponse, SignRequest as ProtoSignRequest, SignResponse};
use super::step_from_proto;
use crate::{SignRequest, Signer, SignerError};

/// The gRPC face of a (guarded) signer.
pub struct SignerService {
    signer: Arc<dyn Signer>,
    chain_id: String,
    /// Serve only calls that came over TLS with a verified client certificate.
    require_client_certificate: bool,
}

impl std::fmt::Debug for SignerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignerService").field("public_key", &self.signer.public_key()).finish()
    }
}

impl SignerService {
    /// A service for a Unix socket or loopback listener (no client certificates).
    pub fn new(signer: Arc<dyn Signer>, chain_id: &str) -> Self {
        SignerService { signer, chain_id: chain_id.into(), require_client_certificate: false }
    }

    /// A service behind mutual TLS: a call without a verified client certificate is refused
    /// (the handshake already refuses them; this holds even if a listener were misbuilt).
    pub fn with_client_certificates(signer: Arc<dyn Signer>, chain_id: &str) -> Self {
        SignerService { require_client_certificate: true, ..Self::new(signer, chain_id) }
    }

    fn authorize<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let verified = request.peer_certs().is_some_and(|certs| !certs.is_empty());
        if self.require_client_certificate && !verified {
            tracing::warn!(target: "kms::remote", peer = ?request.remote_addr(), "call without a client certificate refused");
            return Err(Status::unauthenticated("a client certificate signed by the daemon's CA is required"));
        }
        Ok(())
    }
}

fn status(e: SignerError) -> Status {
    match e {
        SignerError::Refused(m) => Status::failed_precondition(m),
        SignerError::Unavailable(m) => Status::unavailable(m),
        other => Status::internal(other.to_string()),
    }
}

#[tonic::async_trait]
impl RemoteSignerApi for SignerService {
    async fn get_public_key(
        &self,
        request: Request<GetPublicKeyRequest>,
    ) -> Result<Response<GetPublicKeyResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(GetPublicKeyResponse {
            public_key: self.signer.public_key().0.to_vec(),
            chain_id: self.chain_id.clone(),
        }))
    }

    async fn sign(&self, request: Request<ProtoSignRequest>) -> Result<Response<SignResponse>, Status> {
        self.authorize(&request)?;
        let r = request.into_inner();
        let step = r
            .step
            .try_into()
            .ok()
            .and_then(step_from_proto)
            .ok_or_else(|| Status::invalid_argument(format!("unknown step {}", r.step)))?;
        let request = SignRequest { height: r.height, round: r.round, step, bytes: r.sign_bytes };
        let signature = self.signer.sign(&request).await.map_err(|e| {
            tracing::warn!(target: "kms::remote", height = request.height, round = request.round, step = ?request.step, error = %e, "sign request not served");
            status(e)
        })?;
        Ok(Response::new(SignResponse { signature: signature.0.to_vec() }))
    }
}
