//! `genesis deploy`: a genesis and its key material rendered as Kubernetes manifests for
//! validators spread over organizations, namespaces and clusters.
//!
//! # Invariants
//! - Each validator gets one Service (compose: one service) whose DNS name is the host of its address in the
//!   deployed genesis (`/dns4/<service>.<namespace>.svc.<domain>/tcp/26656`), so every
//!   validator's peers are exactly the other validators' Services. The domain is the cluster's
//!   own (`cluster.local`) when every validator runs in one cluster, and the Multi-Cluster
//!   Services domain (`clusterset.local`, with a `ServiceExport` per Service) otherwise.
//! - Rewriting the addresses changes the genesis hash: the deployed genesis is written next to
//!   the manifests and is the one every organization must start from. Nothing else in it changes.
//! - An organization's directory holds only its own validators' secrets.

mod compose;
mod kubernetes;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Genesis, GenesisError, ValidatorSpec};

/// Ports inside every pod (the image's `EXPOSE`).
pub const P2P_PORT: u16 = 26656;
pub const RPC_PORT: u16 = 3030;
pub const METRICS_PORT: u16 = 26660;

/// Where the organizations run, from `--placement FILE` (TOML); every field has a default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    /// The DNS domain of one cluster's Services (default `cluster.local`).
    #[serde(default)]
    pub cluster_domain: Option<String>,
    /// The domain Services exported across clusters resolve in (default `clusterset.local`,
    /// the Multi-Cluster Services API's).
    #[serde(default)]
    pub clusterset_domain: Option<String>,
    #[serde(default)]
    pub organizations: BTreeMap<String, OrgPlacement>,
    #[serde(default)]
    pub validators: BTreeMap<String, ValidatorPlacement>,
}

/// One organization's namespace, cluster and Vault.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgPlacement {
    /// Default: `chain-<organization id>`.
    pub namespace: Option<String>,
    /// Default: `default`.
    pub cluster: Option<String>,
    /// `https://host:port` of the organization's Vault or OpenBao (with `--signer vault`).
    pub vault_address: Option<String>,
    /// PEM file of the CA that signed its Vault's certificate (read at deploy time).
    pub vault_ca: Option<PathBuf>,
    /// Mount of its Transit engine (default `transit`).
    pub transit_mount: Option<String>,
}

/// Per validator, overriding its organization's placement.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorPlacement {
    pub namespace: Option<String>,
    pub cluster: Option<String>,
    /// Transit key name (default: the validator's account id).
    pub key_name: Option<String>,
    /// Transit key version (default 1).
    pub key_version: Option<u64>,
}

/// How validators sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Signing {
    /// Their consensus keys, from the genesis directory, as Secrets.
    Keys,
    /// Their organization's Vault Transit keys, logging in with AppRole credentials given as
    /// `--approle DIR/<validator>/{role_id,secret_id}`.
    Vault,
}

/// What `genesis deploy` renders for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// Manifests per cluster and namespace.
    Kubernetes,
    /// One Compose project: every validator on one host, signing through one OpenBao.
    Compose,
}

/// A rendered file; a secret one is written 0600 in directories of mode 0700.
#[derive(Debug, Clone)]
pub struct File {
    pub path: PathBuf,
    pub text: String,
    pub secret: bool,
}

impl File {
    pub(crate) fn new(path: impl Into<PathBuf>, text: String) -> File {
        File { path: path.into(), text, secret: false }
    }

    pub(crate) fn secret(path: impl Into<PathBuf>, text: String) -> File {
        File { path: path.into(), text, secret: true }
    }
}

/// What `genesis deploy` renders.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub target: Target,
    /// A directory as `genesis new` writes it: `genesis.json`, `validators/<account>/`.
    pub net: PathBuf,
    pub placement: Placement,
    pub image: String,
    /// OpenBao's image (compose).
    pub openbao_image: String,
    /// Render only this organization's files (Kubernetes).
    pub organization: Option<String>,
    pub signing: Signing,
    pub approle: Option<PathBuf>,
    /// Persistent volume size of each validator (`50Gi`).
    pub storage: String,
}

/// A validator where it runs.
#[derive(Debug, Clone)]
pub struct Placed {
    pub spec: ValidatorSpec,
    /// Its Service and StatefulSet name: a DNS-1123 label made from the account id.
    pub name: String,
    pub namespace: String,
    pub cluster: String,
    /// The Service's DNS name its peers dial.
    pub host: String,
}

/// The validators placed, and the genesis with their addresses rewritten.
#[derive(Debug, Clone)]
pub struct Plan {
    pub genesis: Genesis,
    pub validators: Vec<Placed>,
    pub multi_cluster: bool,
}

/// A DNS-1123 label from an account id (`v0.acme` -> `v0-acme`).
pub fn dns_label(account: &str) -> String {
    let s: String =
        account.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    s.chars().take(63).collect::<String>().trim_matches('-').to_owned()
}

/// A Service and StatefulSet name from an account id: a DNS-1035 label (a letter first) of at
/// most 52 characters, since the StatefulSet's pods carry `<name>-<hash>` in a 63-character
/// label.
pub fn object_name(account: &str) -> String {
    let mut s = dns_label(account);
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        s.insert_str(0, "v-");
    }
    s.chars().take(52).collect::<String>().trim_end_matches('-').to_owned()
}

/// A valid label value (at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends).
pub fn label_value(text: &str) -> String {
    let s: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' }).collect();
    s.chars().take(63).collect::<String>().trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned()
}

fn options(message: String) -> GenesisError {
    GenesisError::Options(message)
}

/// Places every validator of the genesis in `opts.net` and rewrites their addresses.
pub fn plan(opts: &DeployOptions) -> Result<Plan, GenesisError> {
    let mut genesis = Genesis::load(&opts.net.join("genesis.json"))?;
    let p = &opts.placement;
    for org in p.organizations.keys() {
        if !genesis.organizations.iter().any(|o| &o.id == org) {
            return Err(options(format!("placement: organization `{org}` is not in the genesis")));
        }
    }
    for v in p.validators.keys() {
        if !genesis.validators.iter().any(|s| s.account_id.as_str() == v) {
            return Err(options(format!("placement: validator `{v}` is not in the genesis")));
        }
    }
    if let Some(org) = &opts.organization {
        if !genesis.validators.iter().any(|v| &v.organization == org) {
            return Err(options(format!("--organization {org}: no validator of the genesis belongs to it")));
        }
    }
    if opts.target == Target::Kubernetes
        && opts.signing == Signing::Keys
        && genesis.preset == crate::Preset::Professional
    {
        return Err(options(
            "the professional preset refuses local key files: use --signer vault (see docs/DEPLOY.md)".into(),
        ));
    }
    let mut validators = Vec::new();
    for spec in &genesis.validators {
        let org = p.organizations.get(&spec.organization).cloned().unwrap_or_default();
        let own = p.validators.get(spec.account_id.as_str()).cloned().unwrap_or_default();
        let namespace =
            own.namespace.or(org.namespace).unwrap_or_else(|| format!("chain-{}", dns_label(&spec.organization)));
        let cluster = own.cluster.or(org.cluster).unwrap_or_else(|| "default".into());
        let name = object_name(spec.account_id.as_str());
        if dns_label(&namespace) != namespace || namespace.is_empty() {
            return Err(options(format!("{}: `{namespace}` is not a DNS-1123 namespace name", spec.account_id)));
        }
        if dns_label(&cluster) != cluster || cluster.is_empty() {
            return Err(options(format!("{}: cluster `{cluster}` is not a DNS-1123 label", spec.account_id)));
        }
        for other in validators.iter().filter(|v: &&Placed| v.namespace == namespace && v.cluster == cluster) {
            if other.name == name {
                return Err(options(format!(
                    "{}: two validators would share the Service name `{name}`",
                    spec.account_id
                )));
            }
            if other.spec.organization != spec.organization {
                return Err(options(format!(
                    "{} ({}) and {} ({}) would share namespace {namespace} of cluster {cluster}: each organization needs its own",
                    other.spec.account_id, other.spec.organization, spec.account_id, spec.organization
                )));
            }
        }
        validators.push(Placed { spec: spec.clone(), name, namespace, cluster, host: String::new() });
    }
    let clusters: std::collections::BTreeSet<&str> = validators.iter().map(|v| v.cluster.as_str()).collect();
    let multi_cluster = clusters.len() > 1;
    let domain = if multi_cluster {
        p.clusterset_domain.clone().unwrap_or_else(|| "clusterset.local".into())
    } else {
        p.cluster_domain.clone().unwrap_or_else(|| "cluster.local".into())
    };
    for v in &mut validators {
        // Compose: one project's network, where a service's name is its host name.
        v.host = match opts.target {
            Target::Kubernetes => format!("{}.{}.svc.{domain}", v.name, v.namespace),
            Target::Compose => v.name.clone(),
        };
        v.spec.address = format!("/dns4/{}/tcp/{P2P_PORT}", v.host);
    }
    for (spec, placed) in genesis.validators.iter_mut().zip(&validators) {
        spec.address = placed.spec.address.clone();
    }
    let problems = crate::validate(&genesis);
    if !problems.is_empty() {
        return Err(GenesisError::Invalid(problems));
    }
    Ok(Plan { genesis, validators, multi_cluster })
}

/// Renders the plan's files (paths relative to the output directory), `genesis.json` (the
/// deployed genesis) among them.
pub fn render(opts: &DeployOptions) -> Result<(Plan, Vec<File>), GenesisError> {
    let plan = plan(opts)?;
    let genesis_json = serde_json::to_string_pretty(&plan.genesis).map_err(|e| options(e.to_string()))?;
    let mut files = vec![File::new("genesis.json", format!("{genesis_json}\n"))];
    match opts.target {
        Target::Kubernetes => files.extend(kubernetes::render(&plan, opts, &genesis_json)?),
        Target::Compose => {
            if opts.signing != Signing::Vault {
                return Err(options("--target compose signs through its OpenBao: use --signer vault".into()));
            }
            files.extend(compose::render(&plan, opts)?)
        }
    }
    Ok((plan, files))
}

/// The `chain init` a validator's set-up step runs, up to its signer: the home on the /data
/// volume, listening on every interface at the image's ports.
fn init_command(genesis: &str, network_key: &str) -> Vec<String> {
    [
        "init",
        "--if-missing",
        "--genesis",
        genesis,
        "--home",
        "/data/node",
        "--rpc-listen",
        &format!("0.0.0.0:{RPC_PORT}"),
        "--p2p-listen",
        &format!("/ip4/0.0.0.0/tcp/{P2P_PORT}"),
        "--metrics-listen",
        &format!("0.0.0.0:{METRICS_PORT}"),
        "--network-key",
        network_key,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// A `[signer]` file of kind `vault` with the settings `vault` holds.
fn vault_signer_toml(vault: serde_json::Value) -> Result<String, GenesisError> {
    toml::to_string(&serde_json::json!({ "kind": "vault", "vault": vault }))
        .map_err(|e| options(format!("signer.toml: {e}")))
}

/// Writes what [`render`] made under `out` (refusing a non-empty directory); returns the plan.
pub fn write(opts: &DeployOptions, out: &Path) -> Result<Plan, GenesisError> {
    if out.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        return Err(options(format!("{} is not empty; choose another --out", out.display())));
    }
    let (plan, files) = render(opts)?;
    let io = |path: &Path, source| GenesisError::Write { path: path.to_owned(), source };
    for f in files {
        let path = out.join(&f.path);
        let dir = path.parent().unwrap_or(out);
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        if f.secret {
            // Every directory between `out` and the file: 0700.
            for d in f.path.ancestors().skip(1).filter(|d| !d.as_os_str().is_empty()) {
                let d = out.join(d);
                std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).map_err(|e| io(&d, e))?;
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| io(&path, e))?;
            file.write_all(f.text.as_bytes()).map_err(|e| io(&path, e))?;
        } else {
            std::fs::write(&path, f.text).map_err(|e| io(&path, e))?;
        }
    }
    Ok(plan)
}

/// A file of the genesis directory or of `--approle`, read as text.
fn read(path: &Path) -> Result<String, GenesisError> {
    std::fs::read_to_string(path).map_err(|source| GenesisError::Read { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::{dns_label, label_value, object_name};

    #[test]
    fn account_ids_become_names_and_labels_kubernetes_accepts() {
        assert_eq!(dns_label("v0.acme"), "v0-acme");
        assert_eq!(dns_label("Node_1.Globex"), "node-1-globex");
        assert_eq!(dns_label("-x-"), "x");
        assert_eq!(dns_label(&"a".repeat(80)).len(), 63);
        assert_eq!(object_name("v0.acme"), "v0-acme");
        assert_eq!(object_name("0x1.acme"), "v-0x1-acme", "a Service name starts with a letter");
        assert_eq!(object_name(&"f".repeat(64)).len(), 52, "room for the pods' revision hash");
        assert_eq!(label_value("Acme Corp!"), "Acme-Corp");
        let long = label_value(&format!("-{}-", "a.b".repeat(30)));
        assert!(
            long.len() <= 63 && long.starts_with('a') && long.ends_with(|c: char| c.is_ascii_alphanumeric()),
            "{long}"
        );
    }
}
