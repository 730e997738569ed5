//! Where a node reaches its `kms` daemon, checked before anything is sent: a Unix socket,
//! plaintext to a loopback address, or mutual TLS. Plaintext across a network is refused.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::transport::Endpoint;

use super::tls::TlsFiles;
use crate::config::under;
use crate::error::TransportError;
use crate::loopback::{is_loopback_host, server_name};

const WHAT: &str = "kms daemon address";
const EXPECTED: &str = "unix:PATH, http://LOOPBACK:PORT or https://HOST:PORT";

/// A checked daemon address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonTarget {
    /// `unix:/run/kms/kms.sock` (a relative path is under the node home); who may connect is
    /// the socket file's permissions.
    Unix(PathBuf),
    /// `http://127.0.0.1:26650`: plaintext, loopback only.
    Loopback(String),
    /// `https://kms.internal:26650` with the node's certificate, key and the daemon's CA.
    Tls { uri: String, server_name: String, files: TlsFiles },
}

impl DaemonTarget {
    /// Checks `address` against `tls` (relative paths under `base`): `https://` needs TLS
    /// files, `http://` must be loopback and without them, `unix:` is without them.
    pub fn parse(address: &str, tls: Option<&TlsFiles>, base: &Path) -> Result<DaemonTarget, TransportError> {
        let mismatch =
            |expected, found| TransportError::TlsMismatch { what: WHAT, address: address.into(), expected, found };
        if let Some(rest) = address.strip_prefix("unix:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(bad(address, "an empty socket path".into()));
            }
            if tls.is_some() {
                return Err(mismatch(
                    "no [tls] section with a unix: socket (its file permissions decide who connects)",
                    "one",
                ));
            }
            return Ok(DaemonTarget::Unix(under(base, Path::new(path))));
        }
        let url = url::Url::parse(address).map_err(|e| bad(address, e.to_string()))?;
        let host = url.host().ok_or_else(|| bad(address, "no host".into()))?;
        match (url.scheme(), tls) {
            ("https", Some(files)) => Ok(DaemonTarget::Tls {
                uri: address.to_owned(),
                server_name: server_name(&host),
                files: files.resolved(base),
            }),
            ("https", None) => Err(mismatch("a [tls] section (ca_cert, cert, key) with https://", "none")),
            ("http", Some(_)) => Err(mismatch("https:// with a [tls] section", "http://")),
            ("http", None) if is_loopback_host(&host) => Ok(DaemonTarget::Loopback(address.to_owned())),
            ("http", None) => {
                Err(TransportError::PlaintextRemote { address: address.to_owned(), host: host.to_string() })
            }
            (scheme, _) => Err(bad(address, format!("the scheme `{scheme}`"))),
        }
    }

    /// A lazily connecting endpoint with `timeout` for connecting and for each call; loads
    /// the TLS files (the key refused if group or others may read it).
    pub fn endpoint(&self, timeout: Duration) -> Result<Endpoint, TransportError> {
        let (uri, tls) = match self {
            DaemonTarget::Unix(path) => (format!("unix:{}", path.display()), None),
            DaemonTarget::Loopback(uri) => (uri.clone(), None),
            DaemonTarget::Tls { uri, server_name, files } => (uri.clone(), Some(files.client_config(server_name)?)),
        };
        let mut endpoint = Endpoint::from_shared(uri.clone()).map_err(|e| bad(&uri, e.to_string()))?;
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls).map_err(|e| bad(&uri, format!("TLS settings: {e}")))?;
        }
        Ok(endpoint.connect_timeout(timeout).timeout(timeout))
    }
}

impl std::fmt::Display for DaemonTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DaemonTarget::Unix(path) => write!(f, "unix:{}", path.display()),
            DaemonTarget::Loopback(uri) | DaemonTarget::Tls { uri, .. } => f.write_str(uri),
        }
    }
}

fn bad(address: &str, found: String) -> TransportError {
    TransportError::BadAddress { what: WHAT, address: address.to_owned(), expected: EXPECTED, found }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> TlsFiles {
        TlsFiles { ca_cert: "ca.pem".into(), cert: "node.pem".into(), key: "node-key.pem".into() }
    }

    #[test]
    fn plaintext_only_on_loopback_or_a_unix_socket() {
        let base = Path::new("/home/node");
        let parse = |a: &str, tls: Option<&TlsFiles>| DaemonTarget::parse(a, tls, base);
        assert_eq!(parse("unix:kms.sock", None).unwrap(), DaemonTarget::Unix("/home/node/kms.sock".into()));
        assert_eq!(parse("unix:///run/kms.sock", None).unwrap(), DaemonTarget::Unix("/run/kms.sock".into()));
        for ok in ["http://127.0.0.1:26650", "http://localhost:26650", "http://[::1]:26650"] {
            assert_eq!(parse(ok, None).unwrap(), DaemonTarget::Loopback(ok.into()));
        }
        match parse("https://10.0.0.5:26650", Some(&files())).unwrap() {
            DaemonTarget::Tls { server_name, files, .. } => {
                assert_eq!(server_name, "10.0.0.5");
                assert_eq!(files.key, Path::new("/home/node/node-key.pem"));
            }
            other => panic!("{other:?}"),
        }

        let e = parse("http://10.0.0.5:26650", None).unwrap_err();
        assert!(matches!(e, TransportError::PlaintextRemote { .. }), "{e}");
        assert!(e.to_string().contains("refusing the kms daemon at http://10.0.0.5:26650"), "{e}");
        for (address, tls) in [
            ("https://10.0.0.5:26650", None),
            ("http://127.0.0.1:1", Some(&files())),
            ("unix:kms.sock", Some(&files())),
        ] {
            assert!(matches!(parse(address, tls), Err(TransportError::TlsMismatch { .. })), "{address}");
        }
        for address in ["10.0.0.5:26650", "ftp://127.0.0.1:1", "unix:", "http://"] {
            assert!(parse(address, None).is_err(), "{address}");
        }
    }
}
