//! `genesis deploy --target compose`: every validator of a genesis on one host, signing
//! through one OpenBao, as a Compose project.
//!
//! Services: `pki` (the image's `kms tls init --if-missing`: a CA and OpenBao's certificate for
//! `openbao`), `openbao` (raft storage, TLS), `openbao-setup` (initialises and unseals it,
//! imports each validator's consensus key into Transit as a non-exportable key, writes a
//! policy and an AppRole per validator, and hands each validator its secret id and network key
//! in the `node-secrets` volume, owned by the image's user; idempotent, it runs at every `up`),
//! and per validator `<name>-init` (`chain init --if-missing --copy-secrets`) and `<name>`
//! (`chain run`). Validators reach each other at their service names. The key files on the
//! host stay 0600 in 0700 directories: only `openbao-setup`, as root, reads them.

use std::path::PathBuf;

use base64::Engine as _;
use serde_json::{json, Value};

use super::{
    dns_label, init_command, read, vault_signer_toml, DeployOptions, File, Placed, Plan, METRICS_PORT, RPC_PORT,
};
use crate::{GenesisError, KeyFile};

/// RFC 8410's PKCS #8 prefix of an ed25519 private key: the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// The role id of each validator's AppRole: chosen here (OpenBao accepts a custom one) so the
/// signer configs can name it before OpenBao exists.
fn role_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

pub(super) fn render(plan: &Plan, opts: &DeployOptions) -> Result<Vec<File>, GenesisError> {
    if opts.organization.is_some() {
        return Err(GenesisError::Options("--organization applies to --target kubernetes".into()));
    }
    let mut files = vec![File::new("openbao/bao.hcl", BAO_HCL.to_owned())];
    let mut services = serde_json::Map::new();
    let mut volumes = serde_json::Map::new();
    for v in ["pki", "openbao-data", "openbao-init", "node-secrets"] {
        volumes.insert(v.into(), json!({}));
    }
    services.insert(
        "pki".into(),
        json!({
            "image": opts.image,
            "entrypoint": ["/usr/local/bin/kms"],
            "command": ["tls", "init", "--if-missing", "--out", "/data", "--server-name", "openbao", "--server-name", "localhost"],
            "volumes": ["pki:/data"],
            "restart": "no",
        }),
    );
    services.insert(
        "openbao".into(),
        json!({
            "image": opts.openbao_image,
            "user": "0",
            "entrypoint": ["bao"],
            "command": ["server", "-config=/config/bao.hcl"],
            "volumes": ["./openbao/bao.hcl:/config/bao.hcl:ro", "pki:/pki:ro", "openbao-data:/bao/data"],
            "depends_on": { "pki": { "condition": "service_completed_successfully" } },
            "restart": "unless-stopped",
        }),
    );
    let mut setup_volumes = vec![
        json!("./openbao/setup.sh:/setup/setup.sh:ro"),
        json!("pki:/pki:ro"),
        json!("openbao-init:/init"),
        json!("node-secrets:/node-secrets"),
    ];
    let mut setup_calls = String::new();
    for (i, v) in plan.validators.iter().enumerate() {
        let account = v.spec.account_id.as_str();
        let keys = opts.net.join("validators").join(account);
        let consensus = KeyFile::load(&keys.join("consensus_key.json"))?;
        let mut pkcs8 = ED25519_PKCS8_PREFIX.to_vec();
        pkcs8.extend(consensus.secret_key.seed());
        let secrets = PathBuf::from("secrets").join(account);
        files.push(File::secret(
            secrets.join("consensus.pkcs8.b64"),
            base64::engine::general_purpose::STANDARD.encode(pkcs8),
        ));
        files.push(File::secret(secrets.join("network_key.json"), read(&keys.join("network_key.json"))?));
        setup_volumes.push(json!(format!("./secrets/{account}/consensus.pkcs8.b64:/import/{account}.consensus:ro")));
        setup_volumes
            .push(json!(format!("./secrets/{account}/network_key.json:/import/{account}.network_key.json:ro")));
        let role = role_id();
        setup_calls.push_str(&format!("setup {account} {role}\n"));
        files.push(File::new(format!("validators/{account}/signer.toml"), signer_toml(account, &role)?));
        services.insert(format!("{}-init", v.name), init_service(v, opts));
        services.insert(v.name.clone(), node_service(v, opts, i));
        volumes.insert(format!("{}-data", v.name), json!({}));
    }
    files.push(File::new("openbao/setup.sh", SETUP_SH.replace("__SETUP_CALLS__", setup_calls.trim_end())));
    services.insert(
        "openbao-setup".into(),
        json!({
            "image": opts.openbao_image,
            "user": "0",
            "entrypoint": ["/bin/sh", "/setup/setup.sh"],
            "environment": { "BAO_ADDR": "https://openbao:8200", "BAO_CACERT": "/pki/ca.pem" },
            "volumes": setup_volumes,
            "depends_on": { "openbao": { "condition": "service_started" } },
            "restart": "no",
        }),
    );
    let compose = json!({ "name": dns_label(&plan.genesis.chain_id), "services": services, "volumes": volumes });
    let text = serde_norway::to_string(&compose).map_err(|e| GenesisError::Options(format!("yaml: {e}")))?;
    files.push(File::new(
        "compose.yaml",
        format!("# Rendered by `genesis deploy --target compose`; see docs/DEPLOY.md.\n{text}"),
    ));
    Ok(files)
}

fn init_service(v: &Placed, opts: &DeployOptions) -> Value {
    let account = v.spec.account_id.as_str();
    let mut command = init_command("/config/genesis.json", &format!("/node-secrets/{account}/network_key.json"));
    command.extend(["--signer-config", "/config/signer.toml", "--copy-secrets"].map(str::to_owned));
    json!({
        "image": opts.image,
        "command": command,
        "volumes": [
            "./genesis.json:/config/genesis.json:ro",
            format!("./validators/{account}/signer.toml:/config/signer.toml:ro"),
            "node-secrets:/node-secrets:ro",
            format!("{}-data:/data", v.name),
        ],
        "depends_on": { "openbao-setup": { "condition": "service_completed_successfully" } },
        "restart": "no",
    })
}

/// The node; its RPC and metrics on the host's loopback at 3030 + i and 26660 + i.
fn node_service(v: &Placed, opts: &DeployOptions, i: usize) -> Value {
    json!({
        "image": opts.image,
        "command": ["run", "--home", "/data/node", "--log-format", "json"],
        "volumes": [format!("{}-data:/data", v.name), "pki:/pki:ro"],
        "ports": [
            format!("127.0.0.1:{}:{RPC_PORT}", usize::from(RPC_PORT) + i),
            format!("127.0.0.1:{}:{METRICS_PORT}", usize::from(METRICS_PORT) + i),
        ],
        "depends_on": {
            format!("{}-init", v.name): { "condition": "service_completed_successfully" },
            "openbao": { "condition": "service_started" },
        },
        "stop_grace_period": "30s",
        "restart": "unless-stopped",
    })
}

fn signer_toml(account: &str, role_id: &str) -> Result<String, GenesisError> {
    vault_signer_toml(json!({
        "address": "https://openbao:8200",
        "key_name": account,
        "key_version": 1,
        "ca_cert": "/pki/ca.pem",
        "auth": { "method": "approle", "role_id": role_id, "secret_id_file": format!("/node-secrets/{account}/secret_id") },
    }))
}

const BAO_HCL: &str = r#"# OpenBao for the validators of this host (rendered by `genesis deploy --target compose`).
ui = false
api_addr = "https://openbao:8200"
cluster_addr = "https://openbao:8201"

storage "raft" {
  path    = "/bao/data"
  node_id = "openbao"
}

listener "tcp" {
  address       = "0.0.0.0:8200"
  tls_cert_file = "/pki/server.pem"
  tls_key_file  = "/pki/server-key.pem"
}
"#;

const SETUP_SH: &str = r#"#!/bin/sh
# Rendered by `genesis deploy --target compose`; runs at every `compose up`, changing only what
# is missing: initialises OpenBao once (one unseal key, kept with the root token in
# $INIT_DIR/init.json on this host), unseals it, imports each validator's consensus key into
# Transit (non-exportable), gives each validator a policy allowing only its own key and an
# AppRole with the role id its signer.toml names, and puts its secret id and network key in
# $SECRETS_DIR/<validator>/, owned by the node's user, 0600.
set -eu
INIT_DIR=${INIT_DIR:-/init}
SECRETS_DIR=${SECRETS_DIR:-/node-secrets}
IMPORT_DIR=${IMPORT_DIR:-/import}
NODE_OWNER=${NODE_OWNER:-10001:10001}

# within_a_minute WHAT CMD...: runs CMD every second until it succeeds; after 60 tries, fails
# saying OpenBao WHAT.
within_a_minute() {
    what=$1
    shift
    tries=0
    until "$@"; do
        tries=$((tries + 1))
        if [ "$tries" -ge 60 ]; then
            echo "OpenBao at $BAO_ADDR $what" >&2
            exit 1
        fi
        sleep 1
    done
}
# `bao status`: 0 unsealed, 2 sealed (both answers), 1 no answer yet.
answers() {
    rc=0
    bao status >/dev/null 2>&1 || rc=$?
    [ "$rc" -ne 1 ]
}
within_a_minute "does not answer" answers

if [ ! -s "$INIT_DIR/init.json" ]; then
    if bao status -format=json | grep -q '"initialized": true'; then
        echo "OpenBao is initialised, but $INIT_DIR/init.json (its unseal key) is missing" >&2
        exit 1
    fi
    (umask 077 && bao operator init -key-shares=1 -key-threshold=1 -format=json >"$INIT_DIR/init.json.tmp")
    mv "$INIT_DIR/init.json.tmp" "$INIT_DIR/init.json"
    echo "OpenBao initialised"
fi
unseal_key=$(sed -n '/"unseal_keys_b64"/{n;s/[^"]*"\([^"]*\)".*/\1/p;}' "$INIT_DIR/init.json")
BAO_TOKEN=$(sed -n 's/.*"root_token": *"\([^"]*\)".*/\1/p' "$INIT_DIR/init.json")
export BAO_TOKEN
if ! bao status >/dev/null 2>&1; then
    bao operator unseal "$unseal_key" >/dev/null
    echo "OpenBao unsealed"
fi
# Raft elects its leader after unsealing; until then requests are refused.
active() { bao secrets list >/dev/null 2>&1; }
within_a_minute "does not become active" active
bao secrets list -format=json | grep -q '"transit/"' || bao secrets enable transit >/dev/null
bao auth list -format=json | grep -q '"approle/"' || bao auth enable approle >/dev/null

# setup VALIDATOR ROLE_ID
setup() {
    v=$1
    if ! bao read "transit/keys/$v" >/dev/null 2>&1; then
        bao transit import "transit/keys/$v" "@$IMPORT_DIR/$v.consensus" type=ed25519 exportable=false >/dev/null
        echo "imported the consensus key of $v"
    fi
    printf 'path "transit/sign/%s" { capabilities = ["update"] }\npath "transit/keys/%s" { capabilities = ["read"] }\n' "$v" "$v" |
        bao policy write "$v" - >/dev/null
    bao write "auth/approle/role/$v" token_policies="$v" token_ttl=1h token_max_ttl=2h >/dev/null
    bao write "auth/approle/role/$v/role-id" role_id="$2" >/dev/null
    mkdir -p "$SECRETS_DIR/$v"
    if [ ! -s "$SECRETS_DIR/$v/secret_id" ]; then
        (umask 077 && bao write -f -field=secret_id "auth/approle/role/$v/secret-id" >"$SECRETS_DIR/$v/secret_id")
    fi
    cp "$IMPORT_DIR/$v.network_key.json" "$SECRETS_DIR/$v/network_key.json"
    chown -R "$NODE_OWNER" "$SECRETS_DIR/$v"
    chmod 700 "$SECRETS_DIR/$v"
    chmod 600 "$SECRETS_DIR/$v/secret_id" "$SECRETS_DIR/$v/network_key.json"
}

__SETUP_CALLS__
echo "OpenBao ready"
"#;
