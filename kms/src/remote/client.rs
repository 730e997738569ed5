use std::time::Duration;

use chain_types::{PublicKey, Signature};
use tonic::transport::Channel;
use tonic::Code;

use super::proto::remote_signer_client::RemoteSignerClient;
use super::proto::{GetPublicKeyRequest, SignRequest as ProtoSignRequest};
use super::step_to_proto;
use super::target::DaemonTarget;
use crate::{HealthFuture, SignFuture, SignRequest, Signer, SignerError};

/// Default deadline of one remote sign call: the daemon's Vault timeout (200 ms) plus the hop,
/// at most half the default vote timeout.
pub const DEFAULT_REMOTE_TIMEOUT_MS: u64 = 250;

/// A validator's signer that asks a `kms` daemon. Reconnects by itself when the daemon comes
/// back; verifies every signature under the public key it was given at start-up (over TLS,
/// by a daemon whose certificate its CA signed).
#[derive(Debug, Clone)]
pub struct RemoteSigner {
    client: RemoteSignerClient<Channel>,
    public_key: PublicKey,
    address: String,
}

fn unavailable(address: &str, status: &tonic::Status) -> SignerError {
    SignerError::Unavailable(format!("kms daemon at {address}: {}", describe(status)))
}

/// A status with the causes of a transport error (a refused TLS handshake says why).
fn describe(status: &tonic::Status) -> String {
    let mut text = format!("{}: {}", status.code(), status.message());
    let mut source = std::error::Error::source(status);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl RemoteSigner {
    /// Connects to the daemon at `target` and learns its public key; fails if it cannot be
    /// reached, the TLS handshake fails, or it serves another chain.
    pub async fn connect(
        target: &DaemonTarget,
        timeout: Duration,
        chain_id: &str,
    ) -> Result<RemoteSigner, SignerError> {
        let endpoint = target.endpoint(timeout)?;
        let address = target.to_string();
        let mut client = RemoteSignerClient::new(endpoint.connect_lazy());
        let answer = client
            .get_public_key(GetPublicKeyRequest {})
            .await
            .map_err(|s| SignerError::Config(format!("cannot reach the kms daemon at {address}: {}", describe(&s))))?;
        let answer = answer.into_inner();
        let key: [u8; 32] = answer
            .public_key
            .try_into()
            .map_err(|_| SignerError::Config(format!("the kms daemon at {address} sent a malformed public key")))?;
        if answer.chain_id != chain_id {
            return Err(SignerError::Config(format!(
                "the kms daemon at {address} signs for chain `{}`, this node runs `{chain_id}`",
                answer.chain_id
            )));
        }
        Ok(RemoteSigner { client, public_key: PublicKey(key), address })
    }

    async fn sign_remote(&self, request: &SignRequest) -> Result<Signature, SignerError> {
        let mut client = self.client.clone();
        let answer = client
            .sign(ProtoSignRequest {
                height: request.height,
                round: request.round,
                step: step_to_proto(request.step).into(),
                sign_bytes: request.bytes.clone(),
            })
            .await
            .map_err(|s| match s.code() {
                Code::FailedPrecondition => SignerError::Refused(s.message().to_owned()),
                Code::Internal | Code::InvalidArgument => SignerError::Backend(s.message().to_owned()),
                _ => unavailable(&self.address, &s),
            })?;
        let sig: [u8; 64] = answer
            .into_inner()
            .signature
            .try_into()
            .map_err(|_| SignerError::Backend("the kms daemon sent a malformed signature".into()))?;
        let signature = Signature(sig);
        if !self.public_key.verify(&request.bytes, &signature) {
            return Err(SignerError::BadSignature);
        }
        Ok(signature)
    }
}

impl Signer for RemoteSigner {
    fn public_key(&self) -> PublicKey {
        self.public_key
    }

    fn sign<'a>(&'a self, request: &'a SignRequest) -> SignFuture<'a> {
        Box::pin(self.sign_remote(request))
    }

    fn health(&self) -> HealthFuture<'_> {
        Box::pin(async move {
            let mut client = self.client.clone();
            client.get_public_key(GetPublicKeyRequest {}).await.map_err(|s| unavailable(&self.address, &s))?;
            Ok(())
        })
    }
}
