//! A minimal JSON-RPC client for tools and tests (the testnet's workload, integration tests).

use base64::Engine as _;
use chain_types::{to_borsh, AccountId, CryptoHash, PublicKey, SignedTransaction};
use serde_json::{json, Value};

/// A failed call: transport trouble, or the node's error object.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    #[error("rpc error {cause}: {error}")]
    Rpc { cause: String, error: Value },
    #[error("unexpected reply: {0}")]
    Reply(String),
    /// Turned away before the call ran (401, 403, 429): the JSON body says why.
    #[error("refused with HTTP {status}: {body}")]
    Refused { status: u16, body: Value },
}

impl ClientError {
    /// The `cause.name` of a node error (`INVALID_TRANSACTION`, `UNKNOWN_ACCOUNT`, ...).
    pub fn cause(&self) -> Option<&str> {
        match self {
            ClientError::Rpc { cause, .. } => Some(cause),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RpcClient {
    url: String,
    http: reqwest::Client,
    /// HTTP Basic credentials sent with every call.
    auth: Option<(String, String)>,
}

impl RpcClient {
    pub fn new(url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap_or_default();
        RpcClient { url: url.into(), http, auth: None }
    }

    /// Sends `username:password` as HTTP Basic authorization on every call.
    pub fn with_basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some((username.into(), password.into()));
        self
    }

    /// Sends through `http` (a client bound to a local address, with other timeouts).
    pub fn with_http(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The HTTP Basic credentials sent with every call, if any.
    pub fn basic_auth(&self) -> Option<(&str, &str)> {
        self.auth.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    pub async fn call(&self, method: &str, params: Value) -> Result<Value, ClientError> {
        let body = json!({ "jsonrpc": "2.0", "id": "c", "method": method, "params": params });
        let mut request = self.http.post(&self.url).json(&body);
        if let Some((user, password)) = &self.auth {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.send().await?;
        let status = response.status();
        let reply: Value = response.json().await?;
        if status != reqwest::StatusCode::OK {
            return Err(ClientError::Refused { status: status.as_u16(), body: reply });
        }
        if let Some(error) = reply.get("error") {
            let cause = error["cause"]["name"].as_str().unwrap_or("UNKNOWN").to_owned();
            return Err(ClientError::Rpc { cause, error: error.clone() });
        }
        reply.get("result").cloned().ok_or_else(|| ClientError::Reply(reply.to_string()))
    }

    pub async fn status(&self) -> Result<Value, ClientError> {
        self.call("status", json!([])).await
    }

    pub async fn final_block_hash(&self) -> Result<CryptoHash, ClientError> {
        let b = self.call("block", json!({ "finality": "final" })).await?;
        b["header"]["hash"].as_str().and_then(|s| s.parse().ok()).ok_or_else(|| ClientError::Reply(b.to_string()))
    }

    pub async fn view_account(&self, id: &AccountId) -> Result<Value, ClientError> {
        self.call("query", json!({ "request_type": "view_account", "finality": "final", "account_id": id })).await
    }

    /// The access key's nonce.
    pub async fn nonce(&self, id: &AccountId, key: &PublicKey) -> Result<u64, ClientError> {
        let k = self
            .call(
                "query",
                json!({ "request_type": "view_access_key", "finality": "final", "account_id": id, "public_key": key }),
            )
            .await?;
        k["nonce"].as_u64().ok_or_else(|| ClientError::Reply(k.to_string()))
    }

    pub async fn send_tx(&self, tx: &SignedTransaction, wait_until: &str) -> Result<Value, ClientError> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(to_borsh(tx));
        self.call("send_tx", json!({ "signed_tx_base64": b64, "wait_until": wait_until })).await
    }
}
