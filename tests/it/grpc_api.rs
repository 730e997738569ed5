//! The gRPC API with a tonic client against a node process: every unary method, both
//! subscriptions, errors with their status codes, the health service and reflection.

use std::time::Duration;

use chain_types::{CryptoHash, SignedTransaction};
use rpc::grpc::proto::{self, node_client::NodeClient};
use serde_json::json;
use tests::{function_call, submit, transfer, TestNode};
use tokio_stream::StreamExt as _;
use tonic::transport::Channel;
use tonic::Code;

async fn connect(node: &TestNode) -> NodeClient<Channel> {
    NodeClient::connect(node.rpc.url().to_owned()).await.expect("grpc connect")
}

fn final_block() -> Option<proto::BlockRef> {
    Some(proto::BlockRef { r#ref: Some(proto::block_ref::Ref::Finality(proto::Finality::Final.into())) })
}

fn at_height(h: u64) -> Option<proto::BlockRef> {
    Some(proto::BlockRef { r#ref: Some(proto::block_ref::Ref::Height(h)) })
}

async fn head_hash(grpc: &mut NodeClient<Channel>) -> CryptoHash {
    let head = grpc.status(proto::StatusRequest {}).await.unwrap().into_inner().head.unwrap();
    CryptoHash(head.hash.try_into().unwrap())
}

async fn send(
    grpc: &mut NodeClient<Channel>,
    tx: &SignedTransaction,
    wait: proto::WaitUntil,
) -> Result<proto::SubmitTransactionResponse, tonic::Status> {
    let req =
        proto::SubmitTransactionRequest { signed_transaction: borsh::to_vec(tx).unwrap(), wait_until: wait.into() };
    grpc.submit_transaction(req).await.map(tonic::Response::into_inner)
}

/// The next item of a stream, failing the test after 10 s.
async fn next<T>(s: &mut tonic::Streaming<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), s.next()).await.expect("stream item in 10 s").unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_methods_and_errors() {
    let node = TestNode::start().await;
    let mut grpc = connect(&node).await;
    let alice = node.account("alice.acme");

    let status = grpc.status(proto::StatusRequest {}).await.unwrap().into_inner();
    assert_eq!((status.chain_id.as_str(), status.validator_account_id.as_str()), ("e2e", "v0.acme"));
    assert_eq!(status.validators, vec!["v0.acme".to_owned()]);

    let account = |id: &str| proto::ViewAccountRequest { account_id: id.into(), block: final_block() };
    let a = grpc.view_account(account("alice.acme")).await.unwrap().into_inner();
    assert_eq!(a.amount, tests::balance(&node.rpc, "alice.acme").await.to_string());
    assert_eq!(grpc.view_account(account("nobody.acme")).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(grpc.view_account(account("Not An Id")).await.unwrap_err().code(), Code::InvalidArgument);

    // Transfers: waiting for FINAL, and not waiting then fetching the outcome.
    let tx = transfer(&alice, "bob.acme", 1, head_hash(&mut grpc).await, 5);
    let sent = send(&mut grpc, &tx, proto::WaitUntil::Final).await.unwrap();
    let outcome = sent.outcome.expect("an outcome when waiting");
    assert_eq!(outcome.status, Some(proto::transaction_outcome::Status::SuccessValue(Vec::new())));
    assert_eq!((outcome.signer_id.as_str(), outcome.receiver_id.as_str()), ("alice.acme", "bob.acme"));
    let included = outcome.block.clone().unwrap();
    let tx2 = transfer(&alice, "bob.acme", 2, head_hash(&mut grpc).await, 6);
    let quick = send(&mut grpc, &tx2, proto::WaitUntil::None).await.unwrap();
    assert!(quick.outcome.is_none() && quick.transaction_hash == tx2.hash().0.to_vec());
    let get = proto::GetTransactionRequest {
        transaction_hash: quick.transaction_hash.clone(),
        wait_until: proto::WaitUntil::Final.into(),
    };
    let fetched = grpc.get_transaction(get).await.unwrap().into_inner();
    assert_eq!(fetched.transaction_hash, tx2.hash().0.to_vec());
    // Resending one that ran returns its outcome again.
    let again = send(&mut grpc, &tx, proto::WaitUntil::Final).await.unwrap();
    assert_eq!(again.outcome.unwrap(), outcome);

    // A stale nonce: INVALID_ARGUMENT with NEAR's error JSON in the details.
    let stale = transfer(&alice, "bob.acme", 2, head_hash(&mut grpc).await, 7);
    let e = send(&mut grpc, &stale, proto::WaitUntil::Final).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let detail: serde_json::Value = serde_json::from_slice(e.details()).unwrap();
    assert_eq!(detail, json!({"InvalidTxError": {"InvalidNonce": {"tx_nonce": 2, "ak_nonce": 2}}}));
    // Garbage and a bad signature.
    let req = proto::SubmitTransactionRequest { signed_transaction: vec![1, 2, 3], wait_until: 0 };
    assert_eq!(grpc.submit_transaction(req).await.unwrap_err().code(), Code::InvalidArgument);
    let mut forged = transfer(&alice, "bob.acme", 3, head_hash(&mut grpc).await, 8);
    forged.transaction.nonce = 4;
    let e = send(&mut grpc, &forged, proto::WaitUntil::Final).await.unwrap_err();
    assert!(e.code() == Code::InvalidArgument && e.message().contains("InvalidSignature"), "{e:?}");
    let unknown = proto::GetTransactionRequest { transaction_hash: vec![7; 32], wait_until: 0 };
    assert_eq!(grpc.get_transaction(unknown).await.unwrap_err().code(), Code::NotFound);
    let short = proto::GetTransactionRequest { transaction_hash: vec![7; 5], wait_until: 0 };
    assert_eq!(grpc.get_transaction(short).await.unwrap_err().code(), Code::InvalidArgument);

    // Blocks by height and by hash, with the transaction and the certificate's approval.
    let by_height =
        grpc.get_block(proto::GetBlockRequest { block: at_height(included.height) }).await.unwrap().into_inner();
    let by_hash = proto::BlockRef { r#ref: Some(proto::block_ref::Ref::Hash(included.hash.clone())) };
    let by_hash = grpc.get_block(proto::GetBlockRequest { block: Some(by_hash) }).await.unwrap().into_inner();
    assert_eq!(by_height, by_hash);
    assert!(by_height.transaction_hashes.contains(&tx.hash().0.to_vec()));
    let decoded: SignedTransaction = borsh::from_slice(&by_height.transactions[0]).unwrap();
    assert!(by_height.transaction_hashes.contains(&decoded.hash().0.to_vec()));
    assert_eq!(by_height.approvals.len(), 1);
    assert_eq!(by_height.approvals[0].len(), 64, "the one validator signed");
    let missing = grpc.get_block(proto::GetBlockRequest { block: at_height(1 << 40) }).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    // Keys, views, validators.
    let key = proto::ViewAccessKeyRequest {
        account_id: "alice.acme".into(),
        public_key: alice.public_key.to_string(),
        block: final_block(),
    };
    let key = grpc.view_access_key(key).await.unwrap().into_inner();
    assert_eq!(key.nonce, 2);
    assert_eq!(key.permission, Some(proto::access_key_view::Permission::FullAccess(true)));
    let list = grpc.view_access_key_list(account("alice.acme")).await.unwrap().into_inner();
    assert_eq!(list.keys.len(), 1);
    let call = |method: &str, args: serde_json::Value| proto::CallViewRequest {
        account_id: "treasury".into(),
        method_name: method.into(),
        args: args.to_string().into_bytes(),
        block: final_block(),
    };
    let k = grpc.call_view(call("get_num_confirmations", json!({}))).await.unwrap().into_inner();
    assert_eq!(k.result, b"2");
    let e = grpc.call_view(call("get_request", json!({"request_id": 9}))).await.unwrap_err();
    assert!(e.code() == Code::FailedPrecondition && e.message().contains("no request 9"), "{e:?}");
    let v = grpc.get_validators(proto::GetBlockRequest { block: None }).await.unwrap().into_inner();
    assert_eq!(v.current.len(), 1);
    assert_eq!(v.current[0].stake, node.generated.genesis.total_stake.to_string());

    // Treasury requests: alice proposes, bob confirms (2 of 3): it runs.
    let empty = grpc.list_treasury_requests(proto::GetBlockRequest { block: None }).await.unwrap().into_inner();
    assert!(empty.requests.is_empty());
    let args = json!({"request": {"receiver_id": "bob.acme", "actions": [{"type": "Transfer", "amount": "3"}]}});
    submit(&node.rpc, &alice, "treasury", vec![function_call("add_request_and_confirm", &args, 0)]).await;
    let pending = grpc.list_treasury_requests(proto::GetBlockRequest { block: None }).await.unwrap().into_inner();
    assert_eq!(pending.requests.len(), 1);
    let r = &pending.requests[0];
    assert_eq!((r.request_id, r.proposer.as_str(), r.receiver_id.as_str()), (0, "alice.acme", "bob.acme"));
    assert_eq!(r.status(), proto::TreasuryRequestStatus::Pending);
    assert_eq!(r.confirmations, vec!["alice.acme".to_owned()]);
    let actions: serde_json::Value = serde_json::from_str(&r.actions_json).unwrap();
    assert_eq!(actions, json!([{"type": "Transfer", "amount": "3"}]));
    submit(
        &node.rpc,
        &node.account("bob.acme"),
        "treasury",
        vec![function_call("confirm", &json!({"request_id": 0}), 0)],
    )
    .await;
    let get = proto::GetTreasuryRequestRequest { request_id: 0, block: None };
    let done = grpc.get_treasury_request(get).await.unwrap().into_inner();
    assert_eq!(done.status(), proto::TreasuryRequestStatus::Executed);
    assert!(done.ran_at_height > r.added_at_height && !done.logs.is_empty(), "{done:?}");
    let get = proto::GetTreasuryRequestRequest { request_id: 0, block: at_height(r.added_at_height) };
    let then = grpc.get_treasury_request(get).await.unwrap().into_inner();
    assert_eq!(then.status(), proto::TreasuryRequestStatus::Pending, "read as of the block it was added in");

    // The workspace: organizations, invitations and credentials, as the module's views say.
    let orgs = grpc.list_organizations(proto::GetBlockRequest { block: None }).await.unwrap().into_inner();
    assert_eq!(orgs.organizations.len(), 1);
    let acme = &orgs.organizations[0];
    assert_eq!((acme.id.as_str(), acme.validators.clone()), ("acme", vec!["v0.acme".to_owned()]));
    assert!(acme.members.iter().any(|m| m.account_id == "acme" && m.role == "admin"), "{acme:?}");
    let admin = node.account("acme");
    let invite = json!({"org_id": "acme", "account_id": "dave.acme", "role": "operator"});
    submit(&node.rpc, &admin, "workspace", vec![function_call("invite_user", &invite, 0)]).await;
    let hash = chain_types::sha256(b"secret").to_string();
    let credential = json!({"org_id": "acme", "username": "app", "role": "read", "password_sha256": hash});
    submit(&node.rpc, &admin, "workspace", vec![function_call("create_credential", &credential, 0)]).await;
    let list = proto::ListInvitationsRequest { account_id: "dave.acme".into(), org_id: String::new(), block: None };
    let invitations = grpc.list_invitations(list).await.unwrap().into_inner().invitations;
    assert_eq!(invitations.len(), 1);
    let i = &invitations[0];
    assert_eq!(
        (i.kind.as_str(), i.role.as_str(), i.inviter.as_str(), i.status.as_str()),
        ("user", "operator", "acme", "pending")
    );
    let get = proto::GetOrganizationRequest { org_id: "acme".into(), block: None };
    let credentials = grpc.list_credentials(get.clone()).await.unwrap().into_inner().credentials;
    assert_eq!(credentials.len(), 1);
    let c = &credentials[0];
    assert_eq!(
        (c.username.as_str(), c.role.as_str(), c.created_by.as_str(), c.revoked_at_height),
        ("app", "read", "acme", None)
    );
    assert_eq!(grpc.get_organization(get).await.unwrap().into_inner().id, "acme");
    let unknown = proto::GetOrganizationRequest { org_id: "initech".into(), block: None };
    let e = grpc.get_organization(unknown).await.unwrap_err();
    assert!(e.code() == Code::FailedPrecondition && e.message().contains("UnknownOrganization"), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_follow_finalized_blocks_and_chosen_accounts() {
    let node = TestNode::start().await;
    let mut grpc = connect(&node).await;
    let alice = node.account("alice.acme");

    let mut blocks =
        grpc.subscribe_blocks(proto::SubscribeBlocksRequest { from_height: None }).await.unwrap().into_inner();
    let follow = |accounts: &[&str]| proto::SubscribeOutcomesRequest {
        accounts: accounts.iter().map(|a| a.to_string()).collect(),
        from_height: None,
    };
    let mut bobs = grpc.subscribe_outcomes(follow(&["bob.acme"])).await.unwrap().into_inner();
    let mut carols = grpc.subscribe_outcomes(follow(&["carol.acme"])).await.unwrap().into_inner();

    let mut hashes = Vec::new();
    for (nonce, to) in [(1, "bob.acme"), (2, "carol.acme"), (3, "bob.acme")] {
        let tx = transfer(&alice, to, nonce, head_hash(&mut grpc).await, 1);
        send(&mut grpc, &tx, proto::WaitUntil::Final).await.unwrap();
        hashes.push(tx.hash().0.to_vec());
    }
    let (first, second) = (next(&mut bobs).await, next(&mut bobs).await);
    assert_eq!((first.transaction_hash.clone(), second.transaction_hash), (hashes[0].clone(), hashes[2].clone()));
    assert_eq!(next(&mut carols).await.transaction_hash, hashes[1]);

    // Finalized blocks arrive one after another, none skipped, the transactions inside.
    let mut seen = Vec::new();
    let mut last = None;
    while seen.len() < 3 {
        let b = next(&mut blocks).await;
        if let Some(prev) = last {
            assert_eq!(b.height, prev + 1, "no gap");
        }
        last = Some(b.height);
        seen.extend(b.transaction_hashes.into_iter().filter(|h| hashes.contains(h)));
    }
    assert_eq!(seen, hashes);

    // Replay from height 1, and the outcome stream from the first transaction's block.
    let mut replay =
        grpc.subscribe_blocks(proto::SubscribeBlocksRequest { from_height: Some(1) }).await.unwrap().into_inner();
    for h in 1..=3 {
        assert_eq!(next(&mut replay).await.height, h);
    }
    let mut from = follow(&["alice.acme"]);
    from.from_height = first.block.map(|b| b.height);
    let mut alices = grpc.subscribe_outcomes(from).await.unwrap().into_inner();
    for h in &hashes {
        assert_eq!(&next(&mut alices).await.transaction_hash, h, "alice signed all three");
    }
    let e = grpc.subscribe_outcomes(follow(&[])).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let node = TestNode::start().await;
    let channel = Channel::from_shared(node.rpc.url().to_owned()).unwrap().connect().await.unwrap();
    let mut health = HealthClient::new(channel.clone());
    for service in ["", "chain.v1.Node"] {
        let r = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(r.status(), ServingStatus::Serving, "{service:?}");
    }
    let unknown = health.check(HealthCheckRequest { service: "nope".into() }).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let mut reflection = ServerReflectionClient::new(channel);
    let ask = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection.server_reflection_info(tokio_stream::iter([ask])).await.unwrap().into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) = next(&mut answers).await.message_response else {
        panic!("not a service list");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for expected in ["chain.v1.Node", "grpc.health.v1.Health"] {
        assert!(names.iter().any(|n| n == expected), "{expected} in {names:?}");
    }

    // A client that speaks only v1alpha: Python's grpcio-reflection (PyPI).
    let out = std::process::Command::new(tests::python())
        .arg(tests::py_script("reflection_v1alpha.py"))
        .arg(node.rpc_addr().to_string())
        .arg("chain.v1.Node")
        .output()
        .unwrap();
    assert!(out.status.success(), "v1alpha reflection: {}", String::from_utf8_lossy(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for expected in ["chain.v1.Node", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"] {
        assert!(listed["services"].as_array().unwrap().iter().any(|s| s == expected), "{expected} in {listed}");
    }
    for method in ["Status", "SubmitTransaction", "SubscribeBlocks"] {
        assert!(listed["methods"].as_array().unwrap().iter().any(|m| m == method), "{method} in {listed}");
    }
}
