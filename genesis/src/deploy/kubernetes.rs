//! The Kubernetes objects of a [`Plan`]: per namespace its Namespace, the genesis ConfigMap,
//! a PodDisruptionBudget and a Prometheus ServiceMonitor; per validator a headless Service, a
//! StatefulSet with a volume, its Secret and (signing through Vault) its signer ConfigMap,
//! and across clusters a ServiceExport.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::{
    init_command, label_value, read, vault_signer_toml, DeployOptions, File, Placed, Plan, Signing, METRICS_PORT,
    P2P_PORT, RPC_PORT,
};
use crate::GenesisError;

/// The image's user (Containerfile: `USER 10001:10001`).
const UID: u64 = 10001;

fn yaml(docs: &[Value]) -> Result<String, GenesisError> {
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n");
        out.push_str(&serde_norway::to_string(d).map_err(|e| GenesisError::Options(format!("yaml: {e}")))?);
    }
    Ok(out)
}

fn labels(plan: &Plan, v: Option<&Placed>) -> Value {
    let mut l = json!({
        "app.kubernetes.io/name": "chain",
        "app.kubernetes.io/component": "validator",
        "app.kubernetes.io/part-of": label_value(&plan.genesis.chain_id),
    });
    if let Some(v) = v {
        l["app.kubernetes.io/instance"] = json!(v.name);
        l["chain/validator"] = json!(label_value(v.spec.account_id.as_str()));
        l["chain/organization"] = json!(label_value(&v.spec.organization));
    }
    l
}

fn selector(v: &Placed) -> Value {
    json!({ "app.kubernetes.io/name": "chain", "app.kubernetes.io/instance": v.name })
}

fn meta(name: &str, namespace: &str, labels: Value) -> Value {
    json!({ "name": name, "namespace": namespace, "labels": labels })
}

/// Every file under `kubernetes/<cluster>/<namespace>/`; `genesis_json` is the deployed genesis.
pub(super) fn render(plan: &Plan, opts: &DeployOptions, genesis_json: &str) -> Result<Vec<File>, GenesisError> {
    let mut files = Vec::new();
    let mut namespaces: BTreeMap<(&str, &str), Vec<&Placed>> = BTreeMap::new();
    for v in &plan.validators {
        namespaces.entry((v.cluster.as_str(), v.namespace.as_str())).or_default().push(v);
    }
    for ((cluster, namespace), members) in namespaces {
        // Every validator of a namespace is of one organization (checked by the plan).
        let org = &members[0].spec.organization;
        if opts.organization.as_ref().is_some_and(|only| only != org) {
            continue;
        }
        let dir = PathBuf::from("kubernetes").join(cluster).join(namespace);
        let vault_ca = match opts.placement.organizations.get(org).and_then(|o| o.vault_ca.as_ref()) {
            Some(path) if opts.signing == Signing::Vault => Some(read(path)?),
            _ => None,
        };
        let mut common = vec![
            json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": namespace, "labels": labels(plan, None) } }),
            json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": meta("chain-genesis", namespace, labels(plan, None)),
                "data": { "genesis.json": genesis_json },
            }),
        ];
        if let Some(ca) = &vault_ca {
            common.push(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": meta("chain-vault-ca", namespace, labels(plan, None)),
                "data": { "ca.pem": ca },
            }));
        }
        files.push(File::new(dir.join("00-namespace.yaml"), yaml(&common)?));
        for v in &members {
            let mut docs = Vec::new();
            if opts.signing == Signing::Vault {
                docs.push(json!({
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": meta(&format!("{}-signer", v.name), namespace, labels(plan, Some(v))),
                    "data": { "signer.toml": signer_toml(v, opts, vault_ca.is_some())? },
                }));
            }
            docs.push(service(plan, v));
            docs.push(stateful_set(plan, v, opts, vault_ca.is_some()));
            if plan.multi_cluster {
                docs.push(json!({
                    "apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceExport",
                    "metadata": meta(&v.name, namespace, labels(plan, Some(v))),
                }));
            }
            files.push(File::new(dir.join(format!("{}.yaml", v.name)), yaml(&docs)?));
            files.push(File::secret(dir.join(format!("{}-secret.yaml", v.name)), yaml(&[secret(plan, v, opts)?])?));
        }
        files.push(File::new(dir.join("policy.yaml"), yaml(&policy(plan, namespace))?));
    }
    Ok(files)
}

/// Headless, and publishing pods that are not ready: peers must reach a validator that is
/// still catching up (it is not ready until it has), or no validator would ever become ready.
fn service(plan: &Plan, v: &Placed) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": meta(&v.name, &v.namespace, labels(plan, Some(v))),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": true,
            "selector": selector(v),
            "ports": [
                { "name": "p2p", "port": P2P_PORT, "targetPort": "p2p", "protocol": "TCP" },
                { "name": "rpc", "port": RPC_PORT, "targetPort": "rpc", "protocol": "TCP" },
                { "name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP" },
            ],
        },
    })
}

fn stateful_set(plan: &Plan, v: &Placed, opts: &DeployOptions, vault_ca: bool) -> Value {
    let container_security = json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": { "drop": ["ALL"] },
    });
    let mut init_args = init_command("/etc/chain/genesis/genesis.json", "/etc/chain/keys/network_key.json");
    let mut init_mounts = vec![
        json!({ "name": "data", "mountPath": "/data" }),
        json!({ "name": "genesis", "mountPath": "/etc/chain/genesis", "readOnly": true }),
        json!({ "name": "keys", "mountPath": "/etc/chain/keys", "readOnly": true }),
    ];
    let mut volumes = vec![
        json!({ "name": "genesis", "configMap": { "name": "chain-genesis" } }),
        json!({ "name": "keys", "secret": { "secretName": format!("{}-keys", v.name), "defaultMode": 0o440 } }),
    ];
    match opts.signing {
        Signing::Keys => init_args.extend(["--validator-key", "/etc/chain/keys/consensus_key.json"].map(str::to_owned)),
        Signing::Vault => {
            init_args.extend(["--signer-config", "/etc/chain/signer/signer.toml", "--copy-secrets"].map(str::to_owned));
            init_mounts.push(json!({ "name": "signer", "mountPath": "/etc/chain/signer", "readOnly": true }));
            volumes.push(json!({ "name": "signer", "configMap": { "name": format!("{}-signer", v.name) } }));
            if vault_ca {
                init_mounts.push(json!({ "name": "vault-ca", "mountPath": "/etc/chain/vault-ca", "readOnly": true }));
                volumes.push(json!({ "name": "vault-ca", "configMap": { "name": "chain-vault-ca" } }));
            }
        }
    }
    // The CA is read at every start, so the node mounts it too.
    let mut run_mounts = vec![json!({ "name": "data", "mountPath": "/data" })];
    if vault_ca && opts.signing == Signing::Vault {
        run_mounts.push(json!({ "name": "vault-ca", "mountPath": "/etc/chain/vault-ca", "readOnly": true }));
    }
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": meta(&v.name, &v.namespace, labels(plan, Some(v))),
        "spec": {
            "serviceName": v.name,
            "replicas": 1,
            "podManagementPolicy": "Parallel",
            "selector": { "matchLabels": selector(v) },
            "template": {
                "metadata": { "labels": labels(plan, Some(v)) },
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": true, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
                        "seccompProfile": { "type": "RuntimeDefault" },
                    },
                    "terminationGracePeriodSeconds": 30,
                    "initContainers": [{
                        "name": "init", "image": opts.image, "args": init_args,
                        "securityContext": container_security, "volumeMounts": init_mounts,
                    }],
                    "containers": [{
                        "name": "chain", "image": opts.image,
                        "args": ["run", "--home", "/data/node", "--log-format", "json"],
                        "ports": [
                            { "name": "p2p", "containerPort": P2P_PORT, "protocol": "TCP" },
                            { "name": "rpc", "containerPort": RPC_PORT, "protocol": "TCP" },
                            { "name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP" },
                        ],
                        "startupProbe": { "httpGet": { "path": "/health", "port": "rpc" }, "periodSeconds": 5, "failureThreshold": 60 },
                        "livenessProbe": { "httpGet": { "path": "/health", "port": "rpc" }, "periodSeconds": 10, "failureThreshold": 6 },
                        "readinessProbe": { "httpGet": { "path": "/ready", "port": "rpc" }, "periodSeconds": 5, "failureThreshold": 3 },
                        "resources": {
                            "requests": { "cpu": "1", "memory": "1Gi" },
                            "limits": { "memory": "4Gi" },
                        },
                        "securityContext": container_security,
                        "volumeMounts": run_mounts,
                    }],
                    "volumes": volumes,
                },
            },
            "volumeClaimTemplates": [{
                "metadata": { "name": "data", "labels": labels(plan, Some(v)) },
                "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": opts.storage } } },
            }],
        },
    })
}

/// The validator's network key and either its consensus key or its AppRole secret id.
fn secret(plan: &Plan, v: &Placed, opts: &DeployOptions) -> Result<Value, GenesisError> {
    let keys = opts.net.join("validators").join(v.spec.account_id.as_str());
    let mut data = json!({ "network_key.json": read(&keys.join("network_key.json"))? });
    match opts.signing {
        Signing::Keys => data["consensus_key.json"] = json!(read(&keys.join("consensus_key.json"))?),
        Signing::Vault => data["secret-id"] = json!(approle(opts, v, "secret_id")?),
    }
    Ok(json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": meta(&format!("{}-keys", v.name), &v.namespace, labels(plan, Some(v))),
        "stringData": data,
    }))
}

/// `--approle DIR/<validator>/<file>`, trimmed.
fn approle(opts: &DeployOptions, v: &Placed, file: &str) -> Result<String, GenesisError> {
    let dir = opts.approle.as_ref().ok_or_else(|| {
        GenesisError::Options("--signer vault needs --approle DIR with <validator>/role_id and secret_id".into())
    })?;
    Ok(read(&dir.join(v.spec.account_id.as_str()).join(file))?.trim().to_owned())
}

fn signer_toml(v: &Placed, opts: &DeployOptions, vault_ca: bool) -> Result<String, GenesisError> {
    let org = opts.placement.organizations.get(&v.spec.organization).cloned().unwrap_or_default();
    let own = opts.placement.validators.get(v.spec.account_id.as_str()).cloned().unwrap_or_default();
    let address = org.vault_address.ok_or_else(|| {
        GenesisError::Options(format!(
            "--signer vault: organization `{}` has no vault_address in the placement",
            v.spec.organization
        ))
    })?;
    if !address.starts_with("https://") {
        return Err(GenesisError::Options(format!(
            "{}: vault_address must be https:// (got {address})",
            v.spec.organization
        )));
    }
    let mut vault = json!({
        "address": address,
        "mount": org.transit_mount.unwrap_or_else(|| "transit".into()),
        "key_name": own.key_name.unwrap_or_else(|| v.spec.account_id.to_string()),
        "key_version": own.key_version.unwrap_or(1),
        "auth": { "method": "approle", "role_id": approle(opts, v, "role_id")?, "secret_id_file": "/etc/chain/keys/secret-id" },
    });
    if vault_ca {
        vault["ca_cert"] = json!("/etc/chain/vault-ca/ca.pem");
    }
    vault_signer_toml(vault)
}

/// Drains take one validator of the namespace at a time (the chain tolerates f down in all;
/// organizations coordinate drains across namespaces), and Prometheus scrapes each one.
fn policy(plan: &Plan, namespace: &str) -> Vec<Value> {
    let all = json!({ "app.kubernetes.io/name": "chain", "app.kubernetes.io/component": "validator" });
    vec![
        json!({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": meta("chain-validators", namespace, labels(plan, None)),
            "spec": { "maxUnavailable": 1, "selector": { "matchLabels": all } },
        }),
        json!({
            "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": meta("chain-validators", namespace, labels(plan, None)),
            "spec": {
                "selector": { "matchLabels": all },
                "endpoints": [{ "port": "metrics", "path": "/metrics", "interval": "15s" }],
            },
        }),
    ]
}
