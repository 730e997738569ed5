//! gRPC: the typed `chain.v1.Node` service (`rpc/proto/chain/v1/node.proto`), the standard
//! health service and server reflection. They are routes of the node's one HTTP server:
//! gRPC arrives as HTTP/2 on the JSON-RPC port, behind the same access control.

mod convert;
mod service;
mod streams;
pub(crate) mod subscriptions;
mod treasury;
mod workspace;

use std::sync::Arc;
use std::time::Duration;

pub use service::NodeService;
pub use subscriptions::Subscriptions;

use crate::NodeApi;

/// Generated messages, server and client.
#[allow(clippy::all, clippy::pedantic, missing_debug_implementations)]
pub mod proto {
    tonic::include_proto!("chain.v1");

    /// The encoded descriptors, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("node_descriptor");
}

/// Keeps the gRPC health service true: the node's service (and the server as a whole, the
/// empty name) is NOT_SERVING while the node syncs, SERVING otherwise, changed the moment
/// sync starts or ends, until the node stops.
async fn report_health<N: NodeApi>(
    mut syncing: tokio::sync::watch::Receiver<bool>,
    reporter: tonic_health::server::HealthReporter,
) {
    loop {
        let serving = !*syncing.borrow_and_update();
        set_serving::<N>(&reporter, serving).await;
        // Ends with the node (in-process tests drop it and reopen its store).
        if syncing.changed().await.is_err() {
            return;
        }
    }
}

async fn set_serving<N: NodeApi>(reporter: &tonic_health::server::HealthReporter, serving: bool) {
    use tonic::server::NamedService as _;
    let status = if serving { tonic_health::ServingStatus::Serving } else { tonic_health::ServingStatus::NotServing };
    reporter.set_service_status("", status).await;
    reporter.set_service_status(proto::node_server::NodeServer::<NodeService<N>>::NAME, status).await;
}

/// The gRPC services as routes of the node's HTTP server (HTTP/2), beside JSON-RPC, with
/// their streams under `subscriptions` (shared with the console's block stream).
pub async fn routes<N: NodeApi>(node: Arc<N>, tx_timeout: Duration, subscriptions: Arc<Subscriptions>) -> axum::Router {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    let syncing = node.subscribe_syncing();
    let serving = !*syncing.borrow();
    set_serving::<N>(&health_reporter, serving).await;
    tokio::spawn(report_health::<N>(syncing, health_reporter));
    let mut routes = tonic::service::Routes::new(health)
        .add_service(proto::node_server::NodeServer::new(NodeService::new(node, tx_timeout, subscriptions)));
    // Reflection in both versions: v1, and v1alpha for the clients that speak only it
    // (Python's grpcio-reflection, older grpcurl, Postman). Both descriptor sets are compiled
    // in; building from them cannot fail at run time.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    match (reflection().build_v1(), reflection().build_v1alpha()) {
        (Ok(v1), Ok(v1alpha)) => routes = routes.add_service(v1).add_service(v1alpha),
        (Err(e), _) | (_, Err(e)) => tracing::error!(target: "rpc", error = %e, "grpc reflection unavailable"),
    }
    routes.prepare().into_axum_router()
}
