//! The RPC port against abusive clients, on a node process: a `read` credential calling a
//! `submit` gRPC method under another content type.

use base64::Engine as _;
use rpc::client::RpcClient;
use rpc::grpc::proto::{self, node_client::NodeClient};
use tests::{reach, transfer, TestNode};
use tonic::codegen::{http, Context, Poll, Service};
use tonic::transport::Channel;
use tonic::Code;

/// A gRPC request carrying `user:password` as Basic authorization metadata.
fn authed<T>(msg: T, user: &str, password: &str) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    req.metadata_mut().insert("authorization", format!("Basic {token}").parse().unwrap());
    req
}

/// A node requiring credentials with an admin (`ops`, its JSON-RPC client's) and the given
/// others; `access` are extra `[rpc.access]` settings. Returns the others' passwords.
async fn node_with(users: &[(&str, &str)], access: &[(&str, &str)]) -> (TestNode, Vec<String>) {
    let mut node = TestNode::init();
    node.set_access("require_credentials", "true");
    for (key, value) in access {
        node.set_access(key, value);
    }
    let admin = node.add_credential("ops", "admin", &[]);
    let passwords = users.iter().map(|(user, role)| node.add_credential(user, role, &[])).collect();
    node.rpc = RpcClient::new(node.rpc.url()).with_basic_auth("ops", &admin);
    node.spawn().await;
    (node, passwords)
}

/// A channel that sends every request with `content-type` set to its own value.
#[derive(Clone)]
struct WithContentType {
    inner: Channel,
    content_type: &'static str,
}

impl Service<http::Request<tonic::body::Body>> for WithContentType {
    type Response = <Channel as Service<http::Request<tonic::body::Body>>>::Response;
    type Error = <Channel as Service<http::Request<tonic::body::Body>>>::Error;
    type Future = <Channel as Service<http::Request<tonic::body::Body>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, mut req: http::Request<tonic::body::Body>) -> Self::Future {
        req.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(self.content_type));
        Service::call(&mut self.inner, req)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_credential_cannot_submit_whatever_the_content_type() {
    let (node, passwords) = node_with(&[("explorer", "read")], &[]).await;
    let reader = &passwords[0];
    let alice = node.account("alice.acme");
    let tx = transfer(&alice, "bob.acme", 1, node.rpc.final_block_hash().await.unwrap(), 1);
    let channel = Channel::from_shared(node.rpc.url().to_owned()).unwrap().connect().await.unwrap();
    for content_type in ["application/octet-stream", "application/grpc", "application/grpc+proto", "text/plain"] {
        let mut grpc = NodeClient::new(WithContentType { inner: channel.clone(), content_type });
        let submit = proto::SubmitTransactionRequest {
            signed_transaction: borsh::to_vec(&tx).unwrap(),
            wait_until: proto::WaitUntil::None.into(),
        };
        let e = grpc.submit_transaction(authed(submit, "explorer", reader)).await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{content_type}: {e:?}");
        assert!(e.message().contains("this needs role submit"), "{content_type}: {e:?}");
    }
    // Nothing reached the mempool: after a few blocks the transaction is unknown and
    // alice's nonce unchanged.
    let h = tests::height(&node.rpc).await;
    reach(&node.rpc, h + 3, 30).await;
    assert_eq!(node.rpc.nonce(&alice.account_id, &alice.public_key).await.unwrap(), 0, "nothing ran");
    // The same transaction is valid: a credential with the role gets it in.
    let mut grpc = NodeClient::new(channel);
    let (user, password) = node.rpc.basic_auth().unwrap();
    let submit = proto::SubmitTransactionRequest {
        signed_transaction: borsh::to_vec(&tx).unwrap(),
        wait_until: proto::WaitUntil::Final.into(),
    };
    let done = grpc.submit_transaction(authed(submit, user, password)).await.unwrap().into_inner();
    assert!(done.outcome.is_some(), "{done:?}");
}
