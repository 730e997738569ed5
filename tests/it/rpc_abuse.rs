//! The RPC port against abusive clients, on a node process: a `read` credential calling a
//! `submit` gRPC method under another content type; sockets held open from one address;
//! password guessing; subscriptions without end or from genesis.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rpc::client::RpcClient;
use rpc::grpc::proto::{self, node_client::NodeClient};
use tests::{reach, transfer, TestNode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio_stream::StreamExt as _;
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

/// A connection to `to` from the loopback address `from` (all of 127.0.0.0/8 is loopback).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// A JSON-RPC client whose connections come from the loopback address `from`.
fn client_from(from: &str, url: &str) -> RpcClient {
    let http = reqwest::Client::builder().local_address(from.parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    RpcClient::new(url).with_http(http)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_held_open_from_one_address_neither_lock_out_others_nor_stay() {
    // Only the total cap is set: the per-address cap (an eighth of it) and the 10 s header
    // timeout are the defaults.
    let mut node = TestNode::init();
    node.set_access("max_connections", "8");
    node.spawn().await;
    let addr = node.rpc_addr();
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(connect_from("127.0.0.2", addr).await);
    }
    let mut partial = connect_from("127.0.0.4", addr).await;
    partial.write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n").await.unwrap();
    let started = Instant::now();
    client_from("127.0.0.3", node.rpc.url())
        .status()
        .await
        .expect("another address is answered while 127.0.0.2 holds its sockets");

    // Every socket that sent nothing, or half a header, is closed by the node.
    idle.push(partial);
    for (i, s) in idle.iter_mut().enumerate() {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "socket {i} still open after {:?}", started.elapsed());
    }
    client_from("127.0.0.2", node.rpc.url()).status().await.expect("the address is served again");
}

/// The JSON-RPC `status` call with `user:password` from `client`: the HTTP status, the time
/// taken and the body.
async fn login(client: &reqwest::Client, url: &str, user: &str, password: &str) -> (u16, Duration, serde_json::Value) {
    let started = Instant::now();
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "status", "params": []});
    let r = client.post(url).basic_auth(user, Some(password)).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or_default();
    (status, started.elapsed(), body)
}

fn from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(ip.parse::<std::net::IpAddr>().unwrap()).build().unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_bounded_and_costs_honest_clients_nothing() {
    let (node, passwords) =
        node_with(&[("explorer", "read"), ("wallet", "read")], &[("node_requests_per_sec", "20")]).await;
    let url = node.rpc.url().to_owned();

    // 40 wrong passwords at once from one address: a few are checked (401), the rest are
    // turned away at once (429), none waits in line for argon2.
    let attacker = from("127.0.0.2");
    let burst: Vec<_> = (0..40)
        .map(|_| {
            let (attacker, url) = (attacker.clone(), url.clone());
            tokio::spawn(async move { login(&attacker, &url, "explorer", "wrong").await })
        })
        .collect();
    let mut replies = Vec::new();
    for reply in burst {
        replies.push(reply.await.unwrap());
    }
    let checked = replies.iter().filter(|(s, ..)| *s == 401).count();
    for (status, _, body) in &replies {
        let message = body["message"].as_str().unwrap_or_default();
        assert!(*status == 401 || (*status == 429 && !message.contains("the node is over")), "{status} {body}");
    }
    assert!(checked <= 30 && checked < replies.len(), "{checked} of 40 checked");
    // The node's 20 a second were not spent by them: an honest client elsewhere is served.
    let (status, _, body) = login(&from("127.0.0.3"), &url, "wallet", &passwords[1]).await;
    assert_eq!(status, 200, "{body}");

    // Keep guessing: within the address's 30 a minute the pre-auth limiter answers 429.
    let mut limited = None;
    for _ in 0..40 {
        let (status, _, body) = login(&attacker, &url, "explorer", "wrong").await;
        if status == 429 && body["message"].as_str().is_some_and(|m| m.contains("too many failed authentications")) {
            limited = Some(body);
            break;
        }
    }
    let body = limited.expect("the address runs out of attempts");
    assert!(body["message"].as_str().unwrap().contains("127.0.0.2"), "{body}");
    let (status, ..) = login(&attacker, &url, "explorer", &passwords[0]).await;
    assert_eq!(status, 429, "not even the right password is checked from there for now");
    let (status, ..) = login(&from("127.0.0.3"), &url, "explorer", &passwords[0]).await;
    assert_eq!(status, 200, "the credential itself is not locked");

    // An unknown username costs what a wrong password costs (no user enumeration).
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();
    for _ in 0..5 {
        let (s, t, _) = login(&from("127.0.0.4"), &url, "nobody", "wrong").await;
        assert_eq!(s, 401);
        unknown.push(t);
        let (s, t, _) = login(&from("127.0.0.5"), &url, "explorer", "wrong").await;
        assert_eq!(s, 401);
        wrong.push(t);
    }
    let (unknown, wrong) = (median(unknown), median(wrong));
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!((0.33..3.0).contains(&ratio), "unknown user {unknown:?} vs wrong password {wrong:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_past_the_per_credential_cap_are_refused() {
    // The default cap: 16 per credential.
    let (node, passwords) = node_with(&[("indexer", "read"), ("explorer", "read")], &[]).await;
    let (indexer, explorer) = (&passwords[0], &passwords[1]);
    let mut grpc = NodeClient::connect(node.rpc.url().to_owned()).await.unwrap();
    let blocks = proto::SubscribeBlocksRequest { from_height: None };
    let outcomes = proto::SubscribeOutcomesRequest { accounts: vec!["alice.acme".into()], from_height: None };

    let (mut open_blocks, mut open_outcomes) = (Vec::new(), Vec::new());
    for _ in 0..8 {
        open_blocks.push(grpc.subscribe_blocks(authed(blocks, "indexer", indexer)).await.unwrap().into_inner());
        let req = authed(outcomes.clone(), "indexer", indexer);
        open_outcomes.push(grpc.subscribe_outcomes(req).await.unwrap().into_inner());
    }
    let e = grpc.subscribe_blocks(authed(blocks, "indexer", indexer)).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("credential `indexer` has 16 subscriptions open"), "{e:?}");
    let e = grpc.subscribe_outcomes(authed(outcomes, "indexer", indexer)).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");

    // Another credential has its own; a closed subscription gives its slot back.
    let mut other = grpc.subscribe_blocks(authed(blocks, "explorer", explorer)).await.unwrap().into_inner();
    tokio::time::timeout(Duration::from_secs(10), other.next()).await.unwrap().unwrap().unwrap();
    drop(open_blocks.pop());
    let mut reopened = false;
    for _ in 0..50 {
        if grpc.subscribe_blocks(authed(blocks, "indexer", indexer)).await.is_ok() {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened, "the slot came back within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_may_not_start_too_far_behind_the_head() {
    let (node, passwords) = node_with(&[("explorer", "read")], &[("max_replay_blocks", "3")]).await;
    let explorer = &passwords[0];
    reach(&node.rpc, 6, 30).await;
    let mut grpc = NodeClient::connect(node.rpc.url().to_owned()).await.unwrap();
    let blocks = |from: Option<u64>| proto::SubscribeBlocksRequest { from_height: from };

    let e = grpc.subscribe_blocks(authed(blocks(Some(1)), "explorer", explorer)).await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");
    assert!(e.message().contains("at most 3 blocks back") && e.message().contains("GetBlock"), "{e:?}");
    let outcomes = proto::SubscribeOutcomesRequest { accounts: vec!["alice.acme".into()], from_height: Some(1) };
    let e = grpc.subscribe_outcomes(authed(outcomes, "explorer", explorer)).await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");

    // Within the cap it replays from where it was asked.
    let head = tests::height(&node.rpc).await;
    let mut recent =
        grpc.subscribe_blocks(authed(blocks(Some(head - 2)), "explorer", explorer)).await.unwrap().into_inner();
    let b = tokio::time::timeout(Duration::from_secs(10), recent.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(b.height, head - 2);
}
