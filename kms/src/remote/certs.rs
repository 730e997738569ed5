//! `kms tls init`: a private CA, the daemon's server certificate and the nodes' client
//! certificates for mutual TLS (rcgen, ECDSA P-256). Private keys are written 0600; nothing is
//! overwritten.
//!
//! Files in the output directory: `ca.pem`, `ca-key.pem`, `server.pem`, `server-key.pem`,
//! and `<client>.pem`, `<client>-key.pem` per client.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use time::{Duration, OffsetDateTime};

use crate::error::CertError;
use crate::secret_file;

/// One certificate and its key, as PEM.
struct Issued {
    name: String,
    cert: String,
    key: String,
}

fn generate(what: &str) -> impl Fn(rcgen::Error) -> CertError + '_ {
    move |e| CertError::Generate { what: what.to_owned(), message: e.to_string() }
}

fn params(names: &[String], common_name: &str, days: u32, what: &str) -> Result<CertificateParams, CertError> {
    let mut p = CertificateParams::new(names.to_vec()).map_err(generate(what))?;
    p.distinguished_name.push(DnType::CommonName, common_name);
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::hours(1); // tolerate a clock slightly behind
    p.not_after = now + Duration::days(i64::from(days));
    Ok(p)
}

fn check_client_name(name: &str) -> Result<(), CertError> {
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !name.starts_with('.')
        && !matches!(name, "ca" | "server");
    if valid {
        Ok(())
    } else {
        Err(CertError::BadClientName { name: name.to_owned() })
    }
}

/// Writes a new CA, a server certificate for `server_names` (DNS names or IP addresses the
/// node dials) and a client certificate per name in `clients`, valid `days` days, into `out`.
/// Returns the files written.
pub fn init(out: &Path, server_names: &[String], clients: &[String], days: u32) -> Result<Vec<PathBuf>, CertError> {
    if server_names.is_empty() {
        return Err(CertError::NoServerName);
    }
    clients.iter().try_for_each(|c| check_client_name(c))?;

    let ca_key = KeyPair::generate().map_err(generate("CA key"))?;
    let mut ca_params = params(&[], "kms signer CA", days, "CA certificate")?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key).map_err(generate("CA certificate"))?;

    let leaf = |name: &str, sans: &[String], usage: ExtendedKeyUsagePurpose| -> Result<Issued, CertError> {
        let what = format!("{name} certificate");
        let key = KeyPair::generate().map_err(generate(&what))?;
        let mut p = params(sans, name, days, &what)?;
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![usage];
        p.use_authority_key_identifier_extension = true;
        let cert = p.signed_by(&key, &ca, &ca_key).map_err(generate(&what))?;
        Ok(Issued { name: name.to_owned(), cert: cert.pem(), key: key.serialize_pem() })
    };
    let mut issued = vec![Issued { name: "ca".into(), cert: ca.pem(), key: ca_key.serialize_pem() }];
    issued.push(leaf("server", server_names, ExtendedKeyUsagePurpose::ServerAuth)?);
    for client in clients {
        issued.push(leaf(client, &[], ExtendedKeyUsagePurpose::ClientAuth)?);
    }
    write_all(out, &issued)
}

/// Checks that none of the files exist, then writes certificates (0644) and keys (0600).
fn write_all(out: &Path, issued: &[Issued]) -> Result<Vec<PathBuf>, CertError> {
    let paths = |i: &Issued| (out.join(format!("{}.pem", i.name)), out.join(format!("{}-key.pem", i.name)));
    if let Some(path) = issued.iter().flat_map(|i| <[PathBuf; 2]>::from(paths(i))).find(|p| p.exists()) {
        return Err(CertError::Exists { path });
    }
    std::fs::create_dir_all(out).map_err(|source| CertError::Write { path: out.to_owned(), source })?;
    let mut written = Vec::new();
    for i in issued {
        let (cert, key) = paths(i);
        secret_file::write_new(&key, i.key.as_bytes())?;
        std::fs::write(&cert, &i.cert).map_err(|source| CertError::Write { path: cert.clone(), source })?;
        written.extend([cert, key]);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn writes_ca_server_and_clients_with_private_keys_0600_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("tls");
        let names = vec!["kms.internal".to_string(), "10.0.0.5".to_string()];
        let files = init(&out, &names, &["node".into(), "node-b".into()], 365).unwrap();
        assert_eq!(files.len(), 8);
        for f in &files {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            let is_key = f.to_string_lossy().ends_with("-key.pem");
            if is_key {
                assert_eq!(mode, 0o600, "{}", f.display());
            }
            let text = std::fs::read_to_string(f).unwrap();
            assert!(text.contains(if is_key { "PRIVATE KEY" } else { "CERTIFICATE" }), "{}", f.display());
        }
        let e = init(&out, &names, &[], 365).unwrap_err();
        assert!(matches!(e, CertError::Exists { .. }), "{e}");
        assert!(matches!(init(&dir.path().join("x"), &[], &[], 1), Err(CertError::NoServerName)));
        for bad in ["ca", "server", "../x", "", "a b"] {
            assert!(matches!(
                init(&dir.path().join("y"), &names, &[bad.into()], 1),
                Err(CertError::BadClientName { .. })
            ));
        }
    }
}
