//! `kms.toml`, the `kms serve` daemon's config, and the checks made before it opens its
//! signer or binds: no plaintext on a non-loopback address, no `remote` backend, no socket
//! that others may connect to.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::listen::{Listen, DEFAULT_SOCKET_MODE};
use super::tls::TlsFiles;
use crate::{SignerConfig, SignerError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// `unix:PATH` (relative to the config's directory) or `IP:PORT`; a non-loopback IP needs
    /// `[tls]`.
    pub listen: Listen,
    /// Mode of the Unix socket file (default 0o600, owner only; 0o660 lets a group in).
    /// Others are never let in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_mode: Option<u32>,
    /// Only this chain's consensus messages are signed.
    pub chain_id: String,
    /// Mutual TLS: the daemon's certificate and key, and the CA its clients' certificates
    /// must be signed by. Every call, signing and health alike, needs such a certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFiles>,
    /// `local` or `vault` (a daemon does not forward to another daemon).
    pub signer: SignerConfig,
}

impl DaemonConfig {
    /// Everything that can be checked without the network or the key: the transport policy,
    /// the backend kind and the socket mode.
    pub fn check(&self) -> Result<(), SignerError> {
        self.listen.check(self.tls.is_some())?;
        if let SignerConfig::Remote { .. } = self.signer {
            return Err(SignerError::Config("a kms daemon signs with `local` or `vault`, not `remote`".into()));
        }
        match (self.socket_mode, &self.listen) {
            (Some(mode), Listen::Unix(_)) if mode & 0o007 != 0 || mode > 0o777 => Err(SignerError::Config(format!(
                "socket_mode: expected at most 0o660 (owner and group), found {mode:#o}, which lets others connect"
            ))),
            (Some(_), Listen::Tcp(_)) => {
                Err(SignerError::Config("socket_mode: expected only with a unix: listen address".into()))
            }
            _ => self.signer.check(),
        }
    }

    pub fn socket_mode(&self) -> u32 {
        self.socket_mode.unwrap_or(DEFAULT_SOCKET_MODE)
    }

    /// The same config with relative paths (socket, TLS files) taken under `base`; the
    /// signer's own paths are resolved when it is opened.
    pub fn resolved(&self, base: &Path) -> DaemonConfig {
        DaemonConfig {
            listen: self.listen.resolved(base),
            tls: self.tls.as_ref().map(|t| t.resolved(base)),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> DaemonConfig {
        toml::from_str(&format!("chain_id = \"c\"\n{text}\n[signer]\nkind = \"local\"\nkey_file = \"k.json\"\n"))
            .unwrap()
    }

    #[test]
    fn checks_listen_tls_socket_mode_and_backend() {
        config("listen = \"unix:kms.sock\"").check().unwrap();
        config("listen = \"unix:kms.sock\"\nsocket_mode = 0o660").check().unwrap();
        config("listen = \"127.0.0.1:26650\"").check().unwrap();
        let tls = "[tls]\nca_cert = \"ca.pem\"\ncert = \"server.pem\"\nkey = \"server-key.pem\"";
        config(&format!("listen = \"0.0.0.0:26650\"\n{tls}")).check().unwrap();

        let e = config("listen = \"0.0.0.0:26650\"").check().unwrap_err().to_string();
        assert!(e.contains("refusing to listen on 0.0.0.0:26650 without TLS"), "{e}");
        let e = config("listen = \"unix:kms.sock\"\nsocket_mode = 0o666").check().unwrap_err().to_string();
        assert!(e.contains("lets others connect"), "{e}");
        assert!(config("listen = \"127.0.0.1:1\"\nsocket_mode = 0o600").check().is_err());
        let remote: DaemonConfig = toml::from_str(
            "listen = \"unix:k\"\nchain_id = \"c\"\n[signer]\nkind = \"remote\"\naddress = \"unix:x\"\n",
        )
        .unwrap();
        assert!(remote.check().unwrap_err().to_string().contains("not `remote`"));

        let resolved = config(&format!("listen = \"unix:kms.sock\"\n{tls}")).resolved(Path::new("/k"));
        assert_eq!(resolved.listen, Listen::Unix("/k/kms.sock".into()));
        assert_eq!(resolved.tls.unwrap().key, Path::new("/k/server-key.pem"));
    }
}
