//! `genesis deploy --target kubernetes`: validators of two organizations in two namespaces of
//! two clusters. Every rendered manifest passes kubernetes-validate (PyPI, strict, offline
//! Kubernetes schemas; the CRD kinds it has no schema for are only ServiceMonitor and
//! ServiceExport); each validator's peers are exactly the other validators' Service DNS names
//! and ports; an organization's files hold only its own secrets; the init container's
//! `chain init` arguments work on the rendered files (twice: the second run changes
//! nothing); with `--signer vault` the signer config and AppRole secret id do too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use genesis::{NewGenesisOptions, Organization, Preset};
use serde_json::Value;
use tests::{binary, free_port};

const VALIDATE: &str = "tests/py/.venv/bin/kubernetes-validate";

/// A four-validator genesis directory whose validators v2 and v3 belong to a second
/// organization, `globex`.
fn two_organizations(dir: &Path) -> PathBuf {
    let mut generated = genesis::generate(&NewGenesisOptions {
        validators: 4,
        preset: Preset::Development,
        chain_id: "deployed".into(),
        host: "127.0.0.1".into(),
        base_port: free_port(),
        genesis_time_ms: 1_700_000_000_000,
    })
    .unwrap();
    let g = &mut generated.genesis;
    let carol = g.organizations[0].members.iter().position(|m| m.as_str() == "carol.acme").unwrap();
    let carol = g.organizations[0].members.remove(carol);
    g.organizations.push(Organization {
        id: "globex".into(),
        name: "Globex".into(),
        members: vec![carol],
        admins: vec![],
    });
    for v in &mut g.validators[2..] {
        v.organization = "globex".into();
    }
    let net = dir.join("net");
    generated.write(&net).unwrap();
    net
}

fn deploy(args: &[&str]) -> std::process::Output {
    Command::new(binary("genesis")).arg("deploy").args(args).output().unwrap()
}

/// Every YAML document under `dir`, with the file it came from.
fn documents(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut docs = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                for doc in serde_norway::Deserializer::from_str(&text) {
                    let value: Value = serde::Deserialize::deserialize(doc).unwrap();
                    docs.push((path.clone(), value));
                }
            }
        }
    }
    docs
}

fn kinds<'a>(docs: &'a [(PathBuf, Value)], kind: &str) -> Vec<&'a (PathBuf, Value)> {
    docs.iter().filter(|(_, d)| d["kind"] == kind).collect()
}

/// kubernetes-validate --strict over every file; returns its output.
fn validate(files: &[PathBuf]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tool = root.join(VALIDATE);
    assert!(
        tool.is_file(),
        "{} is missing: `bash scripts/test.sh` installs it (tests/py/requirements.txt)",
        tool.display()
    );
    let out = Command::new(tool).arg("--strict").args(files).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "kubernetes-validate refused a manifest:\n{text}");
    for line in text.lines().filter(|l| !l.starts_with("INFO")) {
        assert!(
            line.contains("Couldn't find schema for kind ServiceMonitor with api version monitoring.coreos.com/v1")
                || line.contains(
                    "Couldn't find schema for kind ServiceExport with api version multicluster.x-k8s.io/v1alpha1"
                ),
            "{line}"
        );
    }
    text
}

/// The object of `kind` named `name` in namespace `ns`.
fn object(docs: &[(PathBuf, Value)], kind: &str, name: &str, ns: &str) -> Value {
    let found = docs
        .iter()
        .find(|(_, d)| d["kind"] == kind && d["metadata"]["name"] == name && d["metadata"]["namespace"] == ns);
    found.unwrap_or_else(|| panic!("no {kind} {ns}/{name}")).1.clone()
}

/// Writes a Secret's `stringData` or a ConfigMap's `data` into `dir` as files (a volume).
fn mount(object: &Value, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let data = object.get("stringData").or_else(|| object.get("data")).unwrap().as_object().unwrap();
    for (file, text) in data {
        std::fs::write(dir.join(file), text.as_str().unwrap()).unwrap();
    }
}

/// The init container's arguments with the pod's mount paths moved under `root`.
fn init_args(set: &Value, root: &Path) -> Vec<String> {
    let args = set["spec"]["template"]["spec"]["initContainers"][0]["args"].as_array().unwrap();
    args.iter()
        .map(|a| {
            let a = a.as_str().unwrap();
            if a.starts_with("/etc/chain/") || a.starts_with("/data/") {
                root.join(&a[1..]).to_str().unwrap().to_owned()
            } else {
                a.to_owned()
            }
        })
        .collect()
}

fn chain_init(args: &[String]) -> String {
    let out = Command::new(binary("chain")).args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "chain {args:?}:\n{text}");
    text
}

#[test]
fn kubernetes_manifests_across_organizations_and_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let net = two_organizations(dir.path());
    let placement = dir.path().join("placement.toml");
    std::fs::write(
        &placement,
        "[organizations.acme]\nnamespace = \"acme-chain\"\ncluster = \"eu-1\"\n\n[organizations.globex]\nnamespace = \"globex-chain\"\ncluster = \"us-1\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let args =
        ["--net", net.to_str().unwrap(), "--out", out.to_str().unwrap(), "--placement", placement.to_str().unwrap()];
    let o = deploy(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let again = deploy(&args);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("not empty"));
    // One organization's own rendering: its files only, the same deployed genesis.
    let globex = dir.path().join("globex");
    let mut only = args.to_vec();
    only[3] = globex.to_str().unwrap();
    only.extend(["--organization", "globex"]);
    let o = deploy(&only);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rendered: Vec<_> =
        std::fs::read_dir(globex.join("kubernetes")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(rendered, ["us-1"], "globex renders its cluster only");
    assert_eq!(
        std::fs::read_to_string(globex.join("genesis.json")).unwrap(),
        std::fs::read_to_string(out.join("genesis.json")).unwrap()
    );
    // A namespace shared by two organizations is refused.
    let mixed = dir.path().join("mixed.toml");
    std::fs::write(
        &mixed,
        "[organizations.acme]\nnamespace = \"shared\"\n[organizations.globex]\nnamespace = \"shared\"\n",
    )
    .unwrap();
    let refused = deploy(&[
        "--net",
        net.to_str().unwrap(),
        "--out",
        dir.path().join("m").to_str().unwrap(),
        "--placement",
        mixed.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("each organization needs its own"), "{refused:?}");

    let files: Vec<PathBuf> =
        documents(&out).into_iter().map(|(p, _)| p).collect::<BTreeSet<_>>().into_iter().collect();
    let report = validate(&files);
    let docs = documents(&out);
    assert_eq!(report.matches(" passed for resource ").count(), docs.len() - 2 - 4, "all but the CRD kinds validated");

    // The deployed genesis: the same chain, each validator at its Service's DNS name.
    let deployed = genesis::Genesis::load(&out.join("genesis.json")).unwrap();
    let original = genesis::Genesis::load(&net.join("genesis.json")).unwrap();
    assert_eq!((deployed.chain_id.as_str(), deployed.validators.len()), (original.chain_id.as_str(), 4));
    let services = kinds(&docs, "Service");
    assert_eq!(services.len(), 4);
    let dns: BTreeMap<String, String> = services
        .iter()
        .map(|(_, s)| {
            let name = s["metadata"]["name"].as_str().unwrap();
            let ns = s["metadata"]["namespace"].as_str().unwrap();
            let p2p =
                s["spec"]["ports"].as_array().unwrap().iter().find(|p| p["name"] == "p2p").unwrap()["port"].clone();
            assert_eq!(s["spec"]["publishNotReadyAddresses"], true, "peers reach a validator that is not ready yet");
            let validator = s["metadata"]["labels"]["chain/validator"].as_str().unwrap().to_owned();
            (validator, format!("/dns4/{name}.{ns}.svc.clusterset.local/tcp/{p2p}"))
        })
        .collect();
    for v in &deployed.validators {
        let peers: BTreeSet<&str> =
            deployed.validators.iter().filter(|p| p.account_id != v.account_id).map(|p| p.address.as_str()).collect();
        let others: BTreeSet<&str> =
            dns.iter().filter(|(name, _)| *name != v.account_id.as_str()).map(|(_, a)| a.as_str()).collect();
        assert_eq!(peers, others, "{}'s peers are the other validators' Services", v.account_id);
        let original = original.validators.iter().find(|o| o.account_id == v.account_id).unwrap();
        assert_eq!((&v.peer_id, &v.consensus_key), (&original.peer_id, &original.consensus_key));
    }
    // Two clusters: every Service is exported.
    assert_eq!(kinds(&docs, "ServiceExport").len(), 4);

    // Each organization's directory: its namespace, its validators, its secrets only.
    for (org, cluster, ns, mine) in [
        ("acme", "eu-1", "acme-chain", ["v0.acme", "v1.acme"]),
        ("globex", "us-1", "globex-chain", ["v2.acme", "v3.acme"]),
    ] {
        let here = out.join("kubernetes").join(cluster).join(ns);
        let local: Vec<_> = docs.iter().filter(|(p, _)| p.starts_with(&here)).collect();
        assert!(local.iter().all(|(_, d)| d["metadata"]["namespace"] == ns || d["kind"] == "Namespace"), "{org}");
        let secrets: BTreeSet<&str> = local
            .iter()
            .filter(|(_, d)| d["kind"] == "Secret")
            .map(|(_, d)| d["metadata"]["labels"]["chain/validator"].as_str().unwrap())
            .collect();
        assert_eq!(secrets, mine.into_iter().collect(), "{org} holds only its own keys");
        for kind in ["Namespace", "PodDisruptionBudget", "ServiceMonitor"] {
            assert_eq!(local.iter().filter(|(_, d)| d["kind"] == kind).count(), 1, "{org}: one {kind}");
        }
        let genesis_map = local.iter().find(|(_, d)| d["kind"] == "ConfigMap").unwrap();
        assert_eq!(
            genesis::Genesis::from_json(genesis_map.1["data"]["genesis.json"].as_str().unwrap()).unwrap().hash(),
            deployed.hash()
        );
    }

    // The StatefulSets: one replica each behind its Service, non-root, probed, with a volume;
    // their init container's `chain init` works on the rendered files.
    for (_, set) in kinds(&docs, "StatefulSet") {
        let spec = &set["spec"];
        assert_eq!(spec["serviceName"], set["metadata"]["name"]);
        assert_eq!(spec["replicas"], 1);
        let pod = &spec["template"]["spec"];
        assert_eq!(
            (pod["securityContext"]["runAsUser"].clone(), pod["securityContext"]["runAsNonRoot"].clone()),
            (10001.into(), true.into())
        );
        let c = &pod["containers"][0];
        assert_eq!(
            (c["livenessProbe"]["httpGet"]["path"].as_str(), c["readinessProbe"]["httpGet"]["path"].as_str()),
            (Some("/health"), Some("/ready"))
        );
        assert!(c["resources"]["requests"]["cpu"].is_string() && c["resources"]["requests"]["memory"].is_string());
        assert_eq!(spec["volumeClaimTemplates"][0]["metadata"]["name"], "data");
    }
    let (_, set) = kinds(&docs, "StatefulSet").into_iter().find(|(_, s)| s["metadata"]["name"] == "v2-acme").unwrap();
    let pod_root = dir.path().join("pod");
    let ns = set["metadata"]["namespace"].as_str().unwrap();
    let of = |kind: &str, name: &str| object(&docs, kind, name, ns);
    mount(&of("ConfigMap", "chain-genesis"), &pod_root.join("etc/chain/genesis"));
    mount(&of("Secret", "v2-acme-keys"), &pod_root.join("etc/chain/keys"));
    std::fs::create_dir_all(pod_root.join("data")).unwrap();
    let args = init_args(set, &pod_root);
    chain_init(&args);
    assert!(chain_init(&args).contains("already initialised"), "a restarted pod's init changes nothing");
    let config = std::fs::read_to_string(pod_root.join("data/node/config.toml")).unwrap();
    for expected in ["listen = \"/ip4/0.0.0.0/tcp/26656\"", "listen = \"0.0.0.0:26660\"", "listen = \"0.0.0.0:3030\""] {
        assert!(config.contains(expected), "{expected} in\n{config}");
    }
}

#[test]
fn one_cluster_and_vault_signing() {
    let dir = tempfile::tempdir().unwrap();
    let net = two_organizations(dir.path());
    let approle = dir.path().join("approle");
    for v in ["v0.acme", "v1.acme", "v2.acme", "v3.acme"] {
        std::fs::create_dir_all(approle.join(v)).unwrap();
        std::fs::write(approle.join(v).join("role_id"), format!("role-{v}\n")).unwrap();
        std::fs::write(approle.join(v).join("secret_id"), format!("secret-{v}\n")).unwrap();
    }
    let ca = dir.path().join("acme-ca.pem");
    std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").unwrap();
    let placement = dir.path().join("placement.toml");
    std::fs::write(
        &placement,
        format!("[organizations.acme]\nvault_address = \"https://vault.acme.example:8200\"\nvault_ca = \"{}\"\n\n[organizations.globex]\nvault_address = \"https://vault.globex.example:8200\"\ntransit_mount = \"chain-transit\"\n\n[validators.\"v3.acme\"]\nkey_name = \"validator-3\"\nkey_version = 2\n", ca.display()),
    )
    .unwrap();
    let out = dir.path().join("out");
    let (n, o, p, a) =
        (net.to_str().unwrap(), out.to_str().unwrap(), placement.to_str().unwrap(), approle.to_str().unwrap());

    // Refusals name what is missing.
    let no_approle = deploy(&["--net", n, "--out", o, "--placement", p, "--signer", "vault"]);
    assert!(String::from_utf8_lossy(&no_approle.stderr).contains("--approle"), "{no_approle:?}");
    let stranger = dir.path().join("stranger.toml");
    std::fs::write(&stranger, "[organizations.initech]\nnamespace = \"x\"\n").unwrap();
    let unknown = deploy(&["--net", n, "--out", o, "--placement", stranger.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("organization `initech` is not in the genesis"),
        "{unknown:?}"
    );
    std::fs::remove_dir_all(&out).ok();

    let ok = deploy(&["--net", n, "--out", o, "--placement", p, "--signer", "vault", "--approle", a]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let docs = documents(&out);
    let files: Vec<PathBuf> = docs.iter().map(|(p, _)| p.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    validate(&files);
    // One cluster: the cluster's own domain, nothing exported.
    let deployed = genesis::Genesis::load(&out.join("genesis.json")).unwrap();
    assert!(
        deployed.validators.iter().all(|v| v.address.ends_with(".svc.cluster.local/tcp/26656")),
        "{:?}",
        deployed.validators
    );
    assert!(kinds(&docs, "ServiceExport").is_empty());
    // No consensus key leaves the genesis directory; the AppRole secret id is a Secret.
    for (_, secret) in kinds(&docs, "Secret") {
        let data = secret["stringData"].as_object().unwrap();
        assert_eq!(data.keys().map(String::as_str).collect::<Vec<_>>(), ["network_key.json", "secret-id"]);
    }
    let signer = |name: &str| -> toml::Value {
        let (_, cm) = docs
            .iter()
            .find(|(_, d)| d["kind"] == "ConfigMap" && d["metadata"]["name"] == format!("{name}-signer"))
            .unwrap();
        toml::from_str(cm["data"]["signer.toml"].as_str().unwrap()).unwrap()
    };
    let v3 = signer("v3-acme");
    assert_eq!(v3["vault"]["key_name"].as_str(), Some("validator-3"));
    assert_eq!(v3["vault"]["key_version"].as_integer(), Some(2));
    assert_eq!(v3["vault"]["mount"].as_str(), Some("chain-transit"));
    assert_eq!(v3["vault"]["auth"]["role_id"].as_str(), Some("role-v3.acme"));
    assert!(v3["vault"].get("ca_cert").is_none(), "globex gave no CA");
    let v0 = signer("v0-acme");
    assert_eq!(v0["vault"]["ca_cert"].as_str(), Some("/etc/chain/vault-ca/ca.pem"));

    // v0's init container, on the rendered files mounted as Kubernetes mounts them
    // (group-readable): the secret id is copied into the home, 0600.
    let (_, set) = kinds(&docs, "StatefulSet").into_iter().find(|(_, s)| s["metadata"]["name"] == "v0-acme").unwrap();
    let ns = set["metadata"]["namespace"].as_str().unwrap();
    let of = |kind: &str, name: &str| object(&docs, kind, name, ns);
    let pod_root = dir.path().join("pod");
    mount(&of("ConfigMap", "chain-genesis"), &pod_root.join("etc/chain/genesis"));
    mount(&of("ConfigMap", "v0-acme-signer"), &pod_root.join("etc/chain/signer"));
    mount(&of("ConfigMap", "chain-vault-ca"), &pod_root.join("etc/chain/vault-ca"));
    mount(&of("Secret", "v0-acme-keys"), &pod_root.join("etc/chain/keys"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(pod_root.join("etc/chain/keys/secret-id"), std::fs::Permissions::from_mode(0o440))
        .unwrap();
    // The signer config names the pod's paths; the test's copy of it names the mounts here.
    let toml_path = pod_root.join("etc/chain/signer/signer.toml");
    let text = std::fs::read_to_string(&toml_path)
        .unwrap()
        .replace("/etc/chain/", &format!("{}/etc/chain/", pod_root.display()));
    std::fs::write(&toml_path, text).unwrap();
    std::fs::create_dir_all(pod_root.join("data")).unwrap();
    chain_init(&init_args(set, &pod_root));
    let home = pod_root.join("data/node");
    let copied = home.join("vault-secret-id");
    assert_eq!(std::fs::read_to_string(&copied).unwrap().trim(), "secret-v0.acme");
    assert_eq!(std::fs::metadata(&copied).unwrap().permissions().mode() & 0o777, 0o600);
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(config.contains("secret_id_file = \"vault-secret-id\""), "{config}");
    // A rotated secret id and a new key version, mounted: the next start's init applies them.
    std::fs::write(pod_root.join("etc/chain/keys/secret-id"), "rotated\n").unwrap();
    let text = std::fs::read_to_string(&toml_path).unwrap().replace("key_version = 1", "key_version = 2");
    std::fs::write(&toml_path, text).unwrap();
    assert!(chain_init(&init_args(set, &pod_root)).contains("updated the signer settings"));
    assert_eq!(std::fs::read_to_string(&copied).unwrap().trim(), "rotated");
    assert!(std::fs::read_to_string(home.join("config.toml")).unwrap().contains("key_version = 2"));
}

/// `bao`, from `$BAO_BIN` or the set-up's cache (scripts/lib.sh installs it).
fn bao() -> PathBuf {
    testnet::openbao::bao_binary().expect("OpenBao's `bao`: `bash scripts/test.sh` installs it")
}

/// The compose project, rehearsed where containers cannot run: its services' commands run as
/// processes on this machine with the volumes as directories. `pki` makes OpenBao's
/// certificate, OpenBao starts from the rendered bao.hcl, the rendered setup script (twice)
/// initialises and unseals it, imports every consensus key and writes the AppRoles; each
/// validator's rendered signer config then logs in, finds its genesis key in Transit and
/// signs; its init service's `chain init` runs on the volumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_with_openbao() {
    let dir = tempfile::tempdir().unwrap();
    let net = two_organizations(dir.path());
    let out = dir.path().join("compose");
    let o = deploy(&["--target", "compose", "--net", net.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("use --signer vault"), "{o:?}");
    let o = deploy(&[
        "--target",
        "compose",
        "--signer",
        "vault",
        "--net",
        net.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let compose: Value = serde_norway::from_str(&std::fs::read_to_string(out.join("compose.yaml")).unwrap()).unwrap();
    let services = compose["services"].as_object().unwrap();
    let deployed = genesis::Genesis::load(&out.join("genesis.json")).unwrap();
    let names: Vec<String> =
        deployed.validators.iter().map(|v| genesis::deploy::object_name(v.account_id.as_str())).collect();
    for (v, name) in deployed.validators.iter().zip(&names) {
        assert_eq!(v.address, format!("/dns4/{name}/tcp/26656"), "peers dial the validators' services");
        assert!(services.contains_key(name) && services.contains_key(&format!("{name}-init")), "{name}");
    }
    for s in ["pki", "openbao", "openbao-setup"] {
        assert!(services.contains_key(s), "{s}");
    }
    // Every bind mount's source was rendered; key files stay private on the host.
    for (name, service) in services {
        for mount in service["volumes"].as_array().unwrap() {
            let source = mount.as_str().unwrap().split(':').next().unwrap();
            if let Some(rel) = source.strip_prefix("./") {
                assert!(out.join(rel).is_file(), "{name}: {source} was not rendered");
            }
        }
    }
    use std::os::unix::fs::PermissionsExt;
    for v in &deployed.validators {
        let d = out.join("secrets").join(v.account_id.as_str());
        assert_eq!(std::fs::metadata(&d).unwrap().permissions().mode() & 0o777, 0o700);
        for f in ["consensus.pkcs8.b64", "network_key.json"] {
            assert_eq!(std::fs::metadata(d.join(f)).unwrap().permissions().mode() & 0o777, 0o600, "{f}");
        }
    }

    // The volumes, as directories.
    let vol = |name: &str| {
        let d = dir.path().join("volumes").join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    let (pki, data, init, secrets, import) =
        (vol("pki"), vol("openbao-data"), vol("openbao-init"), vol("node-secrets"), vol("import"));
    // pki: its command, with the volume's path (twice: the second run changes nothing).
    let pki_args: Vec<String> = services["pki"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| if a == "/data" { pki.to_str().unwrap().to_owned() } else { a.as_str().unwrap().to_owned() })
        .collect();
    for _ in 0..2 {
        let o = Command::new(binary("kms")).args(&pki_args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // openbao: the rendered config on a free loopback port.
    let port = free_port();
    let hcl = std::fs::read_to_string(out.join("openbao/bao.hcl"))
        .unwrap()
        .replace("/pki/", &format!("{}/", pki.display()))
        .replace("/bao/data", data.to_str().unwrap())
        .replace("0.0.0.0:8200", &format!("127.0.0.1:{port}"))
        .replace("https://openbao:8200", &format!("https://localhost:{port}"))
        .replace("https://openbao:8201", &format!("https://127.0.0.1:{}", free_port()));
    std::fs::write(dir.path().join("bao.hcl"), hcl).unwrap();
    let log = std::fs::File::create(dir.path().join("bao.log")).unwrap();
    let mut server = tokio::process::Command::new(bao())
        .arg("server")
        .arg(format!("-config={}", dir.path().join("bao.hcl").display()))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // openbao-setup: the rendered script with its mounts as directories (twice: idempotent).
    for mount in services["openbao-setup"]["volumes"].as_array().unwrap() {
        let mut parts = mount.as_str().unwrap().split(':');
        let (source, target) = (parts.next().unwrap(), parts.next().unwrap());
        if let (Some(rel), Some(file)) = (source.strip_prefix("./secrets/"), target.strip_prefix("/import/")) {
            std::fs::copy(out.join("secrets").join(rel), import.join(file)).unwrap();
        }
    }
    let path = format!("{}:{}", bao().parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    for run in 0..2 {
        let o = Command::new("sh")
            .arg(out.join("openbao/setup.sh"))
            .env("PATH", &path)
            .env("BAO_ADDR", format!("https://localhost:{port}"))
            .env("BAO_CACERT", pki.join("ca.pem"))
            .env("INIT_DIR", &init)
            .env("SECRETS_DIR", &secrets)
            .env("IMPORT_DIR", &import)
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(
            o.status.success(),
            "setup run {run}:\n{text}\n{}",
            std::fs::read_to_string(dir.path().join("bao.log")).unwrap_or_default()
        );
        assert!(text.contains("OpenBao ready"), "{text}");
        assert_eq!(text.contains("imported the consensus key"), run == 0, "keys are imported once:\n{text}");
    }
    assert_eq!(std::fs::metadata(init.join("init.json")).unwrap().permissions().mode() & 0o777, 0o600);

    // Each validator's signer: its rendered config, pointed at this OpenBao and these volumes.
    for v in &deployed.validators {
        let account = v.account_id.as_str();
        let text = std::fs::read_to_string(out.join("validators").join(account).join("signer.toml"))
            .unwrap()
            .replace("https://openbao:8200", &format!("https://localhost:{port}"))
            .replace("/pki/", &format!("{}/", pki.display()))
            .replace("/node-secrets/", &format!("{}/", secrets.display()));
        let config: kms::SignerConfig = toml::from_str(&text).unwrap();
        let signer = config.open(dir.path(), &deployed.chain_id).await.unwrap_or_else(|e| panic!("{account}: {e}"));
        assert_eq!(signer.public_key(), v.consensus_key, "{account}: Transit holds its genesis key");
        let bytes = kms::sign_bytes::consensus_bytes(&deployed.chain_id, 1, 0, kms::Step::Prevote, [7; 32]);
        let request = kms::SignRequest { height: 1, round: 0, step: kms::Step::Prevote, bytes: bytes.clone() };
        let signature = signer.sign(&request).await.unwrap();
        assert!(v.consensus_key.verify(&bytes, &signature), "{account}: a valid signature");
        std::fs::remove_file(dir.path().join(kms::DEFAULT_STATE_FILE)).unwrap();
    }
    // A validator's init service: `chain init` on its volumes.
    let name = &names[0];
    let home = vol(&format!("{name}-data"));
    let account = deployed.validators[0].account_id.as_str();
    let signer = dir.path().join("signer.toml");
    let text = std::fs::read_to_string(out.join("validators").join(account).join("signer.toml"))
        .unwrap()
        .replace("https://openbao:8200", &format!("https://localhost:{port}"))
        .replace("/pki/", &format!("{}/", pki.display()))
        .replace("/node-secrets/", &format!("{}/", secrets.display()));
    std::fs::write(&signer, text).unwrap();
    let args: Vec<String> = services[&format!("{name}-init")]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let a = a.as_str().unwrap();
            match a {
                "/config/genesis.json" => out.join("genesis.json").to_str().unwrap().to_owned(),
                "/config/signer.toml" => signer.to_str().unwrap().to_owned(),
                "/data/node" => home.join("node").to_str().unwrap().to_owned(),
                _ => a.replace("/node-secrets/", &format!("{}/", secrets.display())),
            }
        })
        .collect();
    chain_init(&args);
    assert!(chain_init(&args).contains("already initialised"));
    assert!(home.join("node/vault-secret-id").is_file() && home.join("node/network_key.json").is_file());
    let _ = server.kill().await;
}
