//! `genesis deploy`: a genesis and its key material rendered as Kubernetes manifests for
//! validators spread over organizations, namespaces and clusters.
//!
//! # Invariants
//! - Each validator gets one Service whose DNS name is the host of its address in the
//!   deployed genesis (`/dns4/<service>.<namespace>.svc.<domain>/tcp/26656`), so every
//!   validator's peers are exactly the other validators' Services. The domain is the cluster's
//!   own (`cluster.local`) when every validator runs in one cluster, and the Multi-Cluster
//!   Services domain (`clusterset.local`, with a `ServiceExport` per Service) otherwise.
//! - Rewriting the addresses changes the genesis hash: the deployed genesis is written next to
//!   the manifests and is the one every organization must start from. Nothing else in it changes.
//! - An organization's directory holds only its own validators' secrets.

mod kubernetes;

use std::collections::BTreeMap;
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

/// What `genesis deploy` renders.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// A directory as `genesis new` writes it: `genesis.json`, `validators/<account>/`.
    pub net: PathBuf,
    pub placement: Placement,
    pub image: String,
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
    let mut s: String =
        account.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    s.truncate(63);
    s.trim_matches('-').to_owned()
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
    let mut validators = Vec::new();
    for spec in &genesis.validators {
        let org = p.organizations.get(&spec.organization).cloned().unwrap_or_default();
        let own = p.validators.get(spec.account_id.as_str()).cloned().unwrap_or_default();
        let namespace =
            own.namespace.or(org.namespace).unwrap_or_else(|| format!("chain-{}", dns_label(&spec.organization)));
        let cluster = own.cluster.or(org.cluster).unwrap_or_else(|| "default".into());
        let name = dns_label(spec.account_id.as_str());
        if name.is_empty() || dns_label(&namespace) != namespace {
            return Err(options(format!("{}: `{namespace}` is not a DNS-1123 namespace name", spec.account_id)));
        }
        if validators.iter().any(|v: &Placed| v.name == name && v.namespace == namespace && v.cluster == cluster) {
            return Err(options(format!("{}: two validators would share the Service name `{name}`", spec.account_id)));
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
        v.host = format!("{}.{}.svc.{domain}", v.name, v.namespace);
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

/// Renders the plan's manifests: `(relative path, YAML)` pairs, one directory per cluster and
/// namespace, plus `genesis.json` (the deployed genesis).
pub fn render(opts: &DeployOptions) -> Result<(Plan, Vec<(PathBuf, String)>), GenesisError> {
    let plan = plan(opts)?;
    let files = kubernetes::render(&plan, opts)?;
    Ok((plan, files))
}

/// Writes what [`render`] made under `out` (refusing a non-empty directory); returns the plan.
pub fn write(opts: &DeployOptions, out: &Path) -> Result<Plan, GenesisError> {
    if out.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        return Err(options(format!("{} is not empty; choose another --out", out.display())));
    }
    let (plan, files) = render(opts)?;
    let io = |path: &Path, source| GenesisError::Write { path: path.to_owned(), source };
    for (rel, text) in files {
        let path = out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        std::fs::write(&path, text).map_err(|e| io(&path, e))?;
    }
    Ok(plan)
}

/// A file of the genesis directory or of `--approle`, read as text.
fn read(path: &Path) -> Result<String, GenesisError> {
    std::fs::read_to_string(path).map_err(|source| GenesisError::Read { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::dns_label;

    #[test]
    fn account_ids_become_dns_labels() {
        assert_eq!(dns_label("v0.acme"), "v0-acme");
        assert_eq!(dns_label("Node_1.Globex"), "node-1-globex");
        assert_eq!(dns_label("-x-"), "x");
        assert_eq!(dns_label(&"a".repeat(80)).len(), 63);
    }
}
