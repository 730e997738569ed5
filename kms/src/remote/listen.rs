//! Where the `kms` daemon listens: a Unix socket (the default for a node on the same host),
//! or a TCP address, which must be loopback unless the daemon serves mutual TLS.

use std::fmt;
use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use tokio::net::{TcpListener, UnixListener};

use crate::config::under;
use crate::error::TransportError;
use crate::loopback::is_loopback_ip;

/// The default mode of the daemon's socket file: only its owner may connect.
pub const DEFAULT_SOCKET_MODE: u32 = 0o600;

/// `unix:PATH` or `IP:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Listen {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Unix(path) => write!(f, "unix:{}", path.display()),
            Listen::Tcp(addr) => write!(f, "{addr}"),
        }
    }
}

impl TryFrom<String> for Listen {
    type Error = TransportError;

    fn try_from(text: String) -> Result<Listen, TransportError> {
        if let Some(rest) = text.strip_prefix("unix:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(bad(&text, "an empty socket path".into()));
            }
            return Ok(Listen::Unix(path.into()));
        }
        text.parse().map(Listen::Tcp).map_err(|e| bad(&text, format!("{e}")))
    }
}

impl From<Listen> for String {
    fn from(l: Listen) -> String {
        l.to_string()
    }
}

fn bad(text: &str, found: String) -> TransportError {
    TransportError::BadAddress { what: "listen", address: text.to_owned(), expected: "unix:PATH or IP:PORT", found }
}

/// A bound listener.
#[derive(Debug)]
pub enum Bound {
    /// The socket file is removed when the daemon stops.
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener),
}

impl Listen {
    /// The same address with a relative socket path taken under `base`.
    pub fn resolved(&self, base: &Path) -> Listen {
        match self {
            Listen::Unix(path) => Listen::Unix(under(base, path)),
            tcp => tcp.clone(),
        }
    }

    /// Refuses plaintext on a non-loopback TCP address, and TLS on a Unix socket.
    pub fn check(&self, tls: bool) -> Result<(), TransportError> {
        match self {
            Listen::Tcp(addr) if !tls && !is_loopback_ip(addr.ip()) => {
                Err(TransportError::PlaintextListen { listen: addr.to_string() })
            }
            Listen::Unix(_) if tls => Err(TransportError::TlsMismatch {
                what: "listen",
                address: self.to_string(),
                expected: "no [tls] section with a unix: socket (its file permissions decide who connects)",
                found: "one",
            }),
            _ => Ok(()),
        }
    }

    /// Binds. A socket file left by a daemon that died is replaced; one that another process
    /// still serves is not. The socket file gets `socket_mode`.
    pub async fn bind(&self, socket_mode: u32) -> Result<Bound, TransportError> {
        let failed = |e: std::io::Error| TransportError::Bind { listen: self.to_string(), source: e };
        match self {
            Listen::Tcp(addr) => Ok(Bound::Tcp(TcpListener::bind(addr).await.map_err(failed)?)),
            Listen::Unix(path) => {
                if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
                    if tokio::net::UnixStream::connect(path).await.is_ok() {
                        return Err(TransportError::SocketInUse { path: path.clone() });
                    }
                    std::fs::remove_file(path).map_err(failed)?;
                }
                let listener = UnixListener::bind(path).map_err(failed)?;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(socket_mode)).map_err(failed)?;
                Ok(Bound::Unix(listener, path.clone()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(text: &str) -> Listen {
        Listen::try_from(text.to_owned()).unwrap()
    }

    #[test]
    fn plaintext_listen_only_on_loopback_or_a_unix_socket() {
        assert_eq!(listen("unix:kms.sock").resolved(Path::new("/k")), Listen::Unix("/k/kms.sock".into()));
        assert_eq!(listen("unix:///run/kms.sock"), Listen::Unix("/run/kms.sock".into()));
        for ok in ["127.0.0.1:26650", "[::1]:26650", "127.0.0.2:1"] {
            listen(ok).check(false).unwrap();
        }
        for open in ["0.0.0.0:26650", "10.0.0.5:26650", "[::]:26650"] {
            let e = listen(open).check(false).unwrap_err();
            assert!(e.to_string().contains(&format!("refusing to listen on {open} without TLS")), "{e}");
            listen(open).check(true).unwrap();
        }
        assert!(matches!(listen("unix:k.sock").check(true), Err(TransportError::TlsMismatch { .. })));
        for bad in ["localhost:1", "unix:", "26650"] {
            assert!(Listen::try_from(bad.to_owned()).is_err(), "{bad}");
        }
        assert_eq!(String::from(listen("unix:/a/b.sock")), "unix:/a/b.sock");
    }

    #[tokio::test]
    async fn a_stale_socket_is_replaced_a_live_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let at = Listen::Unix(dir.path().join("kms.sock"));
        let Bound::Unix(live, path) = at.bind(DEFAULT_SOCKET_MODE).await.unwrap() else { panic!("unix") };
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(matches!(at.bind(DEFAULT_SOCKET_MODE).await, Err(TransportError::SocketInUse { .. })));
        drop(live); // the file stays, as after kill -9
        assert!(path.exists());
        at.bind(0o660).await.unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o660);
    }
}
