//! What the RPC counts for the node's Prometheus metrics: requests by protocol, method and
//! outcome, their latency, failed authentications and rate-limited requests. Method labels
//! come from a fixed list (an unknown JSON-RPC method counts as `unknown`, an unserved path as
//! `not_served`), so a client cannot grow the label set.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Request {
    /// `jsonrpc`, `grpc` or `http` (probes).
    pub protocol: &'static str,
    pub method: &'static str,
    /// `ok`, a NEAR error cause (`INVALID_TRANSACTION`, ...), or an HTTP status.
    pub status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Protocol {
    pub protocol: &'static str,
}

#[derive(Debug)]
pub struct RpcMetrics {
    pub requests: Family<Request, Counter>,
    pub latency: Family<Protocol, Histogram>,
    pub auth_failures: Counter,
    pub rate_limited: Counter,
}

impl Default for RpcMetrics {
    fn default() -> Self {
        RpcMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0001, 2.0, 18))),
            auth_failures: Counter::default(),
            rate_limited: Counter::default(),
        }
    }
}

impl RpcMetrics {
    /// Registers the families under `chain_rpc_*`.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("chain_rpc");
        r.register("requests", "Requests by protocol, method and outcome", self.requests.clone());
        r.register("request_seconds", "Time to answer a request (to the response headers)", self.latency.clone());
        r.register("auth_failures", "Requests refused for missing or wrong credentials", self.auth_failures.clone());
        r.register("rate_limited", "Requests refused by a rate limit or a cap", self.rate_limited.clone());
    }

    pub fn request(&self, protocol: &'static str, method: &'static str, status: String, took: Duration) {
        self.requests.get_or_create(&Request { protocol, method, status }).inc();
        self.latency.get_or_create(&Protocol { protocol }).observe(took.as_secs_f64());
    }
}
