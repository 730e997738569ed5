#!/usr/bin/env bash
# Tests the set-up functions of scripts/lib.sh where nothing was installed before: a clean
# Debian 12 root (mmdebstrap, minbase plus what "a Debian machine with Rust" has: curl and CA
# certificates), this machine's Rust toolchain mounted read-only, this checkout copied in.
# Inside it runs every ensure_* function the README's two commands run, checks that each probed
# file is there afterwards, and builds librocksdb-sys (the crate whose bindgen needs libclang).
#
#   bash scripts/check-setup.sh [--keep] [--full]
#     --keep  leave the root in place (default: removed on exit)
#     --full  build every binary of the workspace, not only librocksdb-sys
# Needs root (chroot, mounts). Takes about 10 minutes on 2 cores (--full: 25).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

keep=0 full=0
for arg in "$@"; do
    case "$arg" in
        --keep) keep=1 ;;
        --full) full=1 ;;
        *) echo "unknown argument: $arg (use --keep, --full)" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "check-setup.sh needs root (chroot and bind mounts)" >&2; exit 1; }
command -v mmdebstrap >/dev/null 2>&1 || apt_install mmdebstrap
command -v mmdebstrap >/dev/null 2>&1 || { echo "mmdebstrap did not install" >&2; exit 1; }

toolchain=$(rustc --print sysroot)
root=$(mktemp -d /var/tmp/chain-setup-root.XXXXXX)
mounts=()
cleanup() {
    local i
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
    if [ "$keep" = 1 ]; then
        echo "root kept at $root"
    else
        # --one-file-system: never follow a bind mount that failed to come off into the host.
        rm -rf --one-file-system "$root"
    fi
}
trap cleanup EXIT

echo "== clean Debian 12 root in $root (mmdebstrap minbase)"
mmdebstrap --variant=minbase --include=ca-certificates,curl bookworm "$root" \
    http://deb.debian.org/debian >/dev/null
echo "== copy of this checkout (tracked files only) into /src"
mkdir -p "$root/src"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$root/src"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# This machine's CA bundle, in case its registries are reached through a TLS-inspecting proxy
# whose CA only the host trusts (the root's own bundle is Debian's). Every client is pointed at it.
ca=/etc/ssl/certs/ca-certificates.crt
cp "$ca" "$root$ca"

bind() { # bind SOURCE TARGET [ro]
    mkdir -p "$2"
    mount --bind "$1" "$2"
    mounts+=("$2")
    [ "${3:-}" = ro ] && mount -o remount,bind,ro "$2"
    return 0
}
bind /proc "$root/proc"
bind /dev "$root/dev"
bind /dev/pts "$root/dev/pts"
bind "$toolchain" "$root/opt/rust" ro

target=librocksdb-sys
[ "$full" = 1 ] && target=workspace
echo "== set-up and build inside the root ($target)"
chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb PATH=/opt/rust/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SSL_CERT_FILE=$ca PIP_CERT=$ca NODE_EXTRA_CA_CERTS=$ca REQUESTS_CA_BUNDLE=$ca \
    FULL="$full" bash -euo pipefail -c '
cd /src
source scripts/lib.sh
echo "-- before: $(build_probes | tr "\n" " ")"
ensure_build_deps
ensure_bench_deps
ensure_node_deps
ensure_browser
ensure_chaos_deps
ensure_python_deps
ensure_openbao
ensure_prometheus
ensure_image_deps
left=$(build_probes)
[ -z "$left" ] || { echo "still missing after set-up: $left" >&2; exit 1; }
for f in "$BENCH_FONT" "$PROMETHEUS_BIN" "$PROMTOOL_BIN" "$CA_BUNDLE" "/usr/bin/$IMAGE_TOOL"; do
    [ -e "$f" ] || { echo "still missing after set-up: $f" >&2; exit 1; }
done
(cd tests/js && node --input-type=module -e "import { Account } from \"near-api-js\"; import puppeteer from \"puppeteer-core\"; if (!Account || !puppeteer) process.exit(1);")
/usr/bin/chromium --headless --no-sandbox --disable-gpu --dump-dom "data:text/html,<p>ok</p>" | grep -q "<p>ok</p>" || { echo "chromium does not run" >&2; exit 1; }
echo "-- node $(node --version), $(tests/py/.venv/bin/python -c "import near, kubernetes_validate, grpc_reflection, near_jsonrpc_models, sys; print(\"near-kit\", sys.version.split()[0])"), $("$BAO_BIN" version | head -n 1), $("$PROMETHEUS_BIN" --version 2>&1 | head -n 1), $("$IMAGE_TOOL" --version)"
if [ "$FULL" = 1 ]; then
    cargo build --workspace --bins --locked
else
    cargo build --locked -p librocksdb-sys
fi
echo "-- build ok"
'
echo "set-up check passed: a clean Debian 12 root installed everything and built $target"
