//! Mutual TLS between a node and its `kms` daemon (rustls with ring, through tonic): each
//! side presents a certificate and accepts only a peer certificate signed by its configured
//! CA. `kms tls init` ([`super::certs`]) makes a CA, a server and client certificates.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use crate::config::under;
use crate::error::TransportError;
use crate::secret_file;

/// The `[tls]` section of a daemon's `kms.toml` and of a node's remote `[signer]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM of the CA the peer's certificate must be signed by: for the daemon, the CA of its
    /// clients' certificates; for the node, the CA of the daemon's certificate.
    pub ca_cert: PathBuf,
    /// This side's certificate (PEM).
    pub cert: PathBuf,
    /// This side's private key (PEM), readable by its owner only (0600), else refused.
    pub key: PathBuf,
}

impl TlsFiles {
    /// The same files with relative paths taken under `base`.
    pub fn resolved(&self, base: &Path) -> TlsFiles {
        TlsFiles { ca_cert: under(base, &self.ca_cert), cert: under(base, &self.cert), key: under(base, &self.key) }
    }

    /// The daemon's side: present `cert`, require a client certificate signed by `ca_cert`.
    pub fn server_config(&self) -> Result<ServerTlsConfig, TransportError> {
        let (ca, identity) = self.load()?;
        Ok(ServerTlsConfig::new().identity(identity).client_ca_root(ca).client_auth_optional(false))
    }

    /// The node's side: accept only a daemon certificate for `server_name` signed by
    /// `ca_cert`, and present `cert`.
    pub fn client_config(&self, server_name: &str) -> Result<ClientTlsConfig, TransportError> {
        let (ca, identity) = self.load()?;
        Ok(ClientTlsConfig::new().ca_certificate(ca).identity(identity).domain_name(server_name))
    }

    fn load(&self) -> Result<(Certificate, Identity), TransportError> {
        let ca = read_pem(&self.ca_cert, "CERTIFICATE", "a PEM CA certificate")?;
        let cert = read_pem(&self.cert, "CERTIFICATE", "a PEM certificate")?;
        let key = secret_file::read(&self.key)?;
        if !pem_has(&key, "PRIVATE KEY") {
            return Err(TransportError::Pem {
                path: self.key.clone(),
                expected: "a PEM private key",
                found: "no `PRIVATE KEY` block".into(),
            });
        }
        Ok((Certificate::from_pem(ca), Identity::from_pem(cert, key)))
    }
}

/// Whether `bytes` hold a PEM block whose label ends with `label`.
fn pem_has(bytes: &[u8], label: &str) -> bool {
    String::from_utf8_lossy(bytes)
        .lines()
        .any(|l| l.starts_with("-----BEGIN ") && l.ends_with(&format!("{label}-----")))
}

fn read_pem(path: &Path, label: &str, expected: &'static str) -> Result<Vec<u8>, TransportError> {
    let bytes = std::fs::read(path).map_err(|e| TransportError::Pem {
        path: path.to_owned(),
        expected,
        found: format!("unreadable: {e}"),
    })?;
    if !pem_has(&bytes, label) {
        return Err(TransportError::Pem { path: path.to_owned(), expected, found: format!("no `{label}` block") });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_key_and_non_pem_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let names = ["kms.internal".to_string()];
        super::super::certs::init(dir.path(), &names, &["node".into()], 30).unwrap();
        let files = TlsFiles { ca_cert: "ca.pem".into(), cert: "node.pem".into(), key: "node-key.pem".into() }
            .resolved(dir.path());
        files.client_config("kms.internal").unwrap();
        let server = TlsFiles { cert: "server.pem".into(), key: "server-key.pem".into(), ..files.clone() };
        server.resolved(dir.path()).server_config().unwrap();

        let loose = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o640);
        std::fs::set_permissions(&files.key, loose).unwrap();
        let e = files.client_config("kms.internal").unwrap_err().to_string();
        assert!(e.contains("permissions 0640") && e.contains("chmod 600"), "{e}");

        let swapped = TlsFiles { ca_cert: files.key.clone(), ..files.clone() };
        assert!(matches!(swapped.client_config("x"), Err(TransportError::Pem { .. })));
        let no_key = TlsFiles { key: files.cert.clone(), ..files };
        std::fs::set_permissions(
            &no_key.key,
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600),
        )
        .unwrap();
        let e = no_key.client_config("x").unwrap_err().to_string();
        assert!(e.contains("expected a PEM private key"), "{e}");
    }
}
