//! What a request asks for, decided by its HTTP method and path alone, never by headers the
//! client chooses (a gRPC handler runs whatever `content-type` says). Every path served is
//! listed here with the role it needs; anything else is refused before authentication.

use http::Method;

use super::Role;

/// The endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /`: the role depends on the JSON-RPC method, checked once the body is parsed.
    JsonRpc,
    /// A gRPC method: the role it needs, `None` for the open ones (health).
    Grpc { role: Option<Role> },
    /// `GET /health` (alive) and `GET /ready` (ready for traffic): open, for Kubernetes
    /// probes and load balancers, which carry no credentials; they tell nothing but health.
    Probe,
    /// `GET /console...`: the browser console's page, assets, API and block stream; read
    /// role (what it changes it changes by transactions the page signs itself).
    Console,
    /// Not served: the status to answer with (404, or 405 for `/` with another method).
    Unknown { status: http::StatusCode },
}

/// Every gRPC method served, with the role it needs. A unit test checks this against the
/// services' descriptors, so a method added to the proto without a row here fails the build's
/// tests rather than being served with a guessed role.
const GRPC_METHODS: &[(&str, Option<Role>)] = &[
    ("/chain.v1.Node/Status", Some(Role::Read)),
    ("/chain.v1.Node/ViewAccount", Some(Role::Read)),
    ("/chain.v1.Node/ViewAccessKey", Some(Role::Read)),
    ("/chain.v1.Node/ViewAccessKeyList", Some(Role::Read)),
    ("/chain.v1.Node/CallView", Some(Role::Read)),
    ("/chain.v1.Node/GetBlock", Some(Role::Read)),
    ("/chain.v1.Node/SubmitTransaction", Some(Role::Submit)),
    ("/chain.v1.Node/GetTransaction", Some(Role::Read)),
    ("/chain.v1.Node/GetValidators", Some(Role::Read)),
    ("/chain.v1.Node/GetTreasuryRequest", Some(Role::Read)),
    ("/chain.v1.Node/ListTreasuryRequests", Some(Role::Read)),
    ("/chain.v1.Node/ListOrganizations", Some(Role::Read)),
    ("/chain.v1.Node/GetOrganization", Some(Role::Read)),
    ("/chain.v1.Node/ListInvitations", Some(Role::Read)),
    ("/chain.v1.Node/ListCredentials", Some(Role::Read)),
    ("/chain.v1.Node/SubscribeBlocks", Some(Role::Read)),
    ("/chain.v1.Node/SubscribeOutcomes", Some(Role::Read)),
    ("/grpc.health.v1.Health/Check", None),
    ("/grpc.health.v1.Health/Watch", None),
    ("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Some(Role::Read)),
    ("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", Some(Role::Read)),
];

impl Endpoint {
    pub fn of(method: &Method, path: &str) -> Endpoint {
        if path == "/" {
            return if method == Method::POST {
                Endpoint::JsonRpc
            } else {
                Endpoint::Unknown { status: http::StatusCode::METHOD_NOT_ALLOWED }
            };
        }
        if matches!(path, "/health" | "/ready") {
            return if method == Method::GET {
                Endpoint::Probe
            } else {
                Endpoint::Unknown { status: http::StatusCode::METHOD_NOT_ALLOWED }
            };
        }
        if path == "/console" || path.starts_with("/console/") {
            return if method == Method::GET {
                Endpoint::Console
            } else {
                Endpoint::Unknown { status: http::StatusCode::METHOD_NOT_ALLOWED }
            };
        }
        match GRPC_METHODS.iter().find(|(p, _)| *p == path) {
            Some((_, role)) if method == Method::POST => Endpoint::Grpc { role: *role },
            _ => Endpoint::Unknown { status: http::StatusCode::NOT_FOUND },
        }
    }
}

/// A gRPC path as a metric label: the served method's path, else `unknown`.
pub fn grpc_method_label(path: &str) -> &'static str {
    GRPC_METHODS.iter().find(|(p, _)| *p == path).map_or("unknown", |(p, _)| *p)
}

/// The role a JSON-RPC method needs.
pub fn json_rpc_role(method: &str) -> Role {
    match method {
        "send_tx" | "broadcast_tx_async" | "broadcast_tx_commit" => Role::Submit,
        m if m.starts_with("admin_") => Role::Admin,
        _ => Role::Read,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    /// `/package.Service/Method` of every method in a descriptor set.
    fn methods(set: &[u8]) -> Vec<String> {
        let set = prost_types::FileDescriptorSet::decode(set).unwrap();
        let mut out = Vec::new();
        for file in set.file {
            for service in &file.service {
                for m in &service.method {
                    out.push(format!("/{}.{}/{}", file.package(), service.name(), m.name()));
                }
            }
        }
        out
    }

    #[test]
    fn every_served_method_is_listed_once() {
        let mut served = methods(crate::grpc::proto::FILE_DESCRIPTOR_SET);
        served.extend(methods(tonic_health::pb::FILE_DESCRIPTOR_SET));
        served.extend(methods(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET));
        served.extend(methods(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET));
        served.sort();
        let mut listed: Vec<String> = GRPC_METHODS.iter().map(|(p, _)| (*p).to_owned()).collect();
        listed.sort();
        assert_eq!(listed, served);
    }

    #[test]
    fn the_path_decides_never_a_header() {
        let post = Method::POST;
        assert_eq!(
            Endpoint::of(&post, "/chain.v1.Node/SubmitTransaction"),
            Endpoint::Grpc { role: Some(Role::Submit) }
        );
        assert_eq!(Endpoint::of(&post, "/grpc.health.v1.Health/Check"), Endpoint::Grpc { role: None });
        assert_eq!(Endpoint::of(&post, "/"), Endpoint::JsonRpc);
        assert_eq!(Endpoint::of(&Method::GET, "/health"), Endpoint::Probe);
        assert_eq!(Endpoint::of(&Method::GET, "/ready"), Endpoint::Probe);
        assert!(matches!(Endpoint::of(&post, "/ready"), Endpoint::Unknown { .. }));
        for (m, path) in [
            (&Method::GET, "/"),
            (&post, "/chain.v1.Node/Nope"),
            (&post, "/chain.v1.Node/SubmitTransaction/"),
            (&post, "//chain.v1.Node/SubmitTransaction"),
            (&post, "/chain.v1.Node/Submit%54ransaction"),
            (&post, "/grpc.reflection.v1beta.ServerReflection/ServerReflectionInfo"),
            (&Method::GET, "/chain.v1.Node/Status"),
        ] {
            assert!(matches!(Endpoint::of(m, path), Endpoint::Unknown { .. }), "{m} {path}");
        }
    }
}
