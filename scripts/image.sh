#!/usr/bin/env bash
# Builds the node's container image (see Containerfile) with buildah, or podman where only it
# is installed, from no registry image: the binaries of one cargo profile and the shared
# libraries they load. Installs buildah (Debian's package) if neither is there.
#
#   bash scripts/image.sh [--profile release|dev] [--bin-dir DIR] [--tag NAME]
#                         [--archive FILE] [--export-root DIR]
#
#   --profile      cargo profile to build the binaries in (default: release)
#   --bin-dir      take chain, genesis and kms from DIR instead of building them
#   --tag          image name (default: localhost/chain:<workspace version>)
#   --archive      also write the image as an OCI archive (podman load / skopeo copy it)
#   --export-root  also copy the image's root filesystem into DIR (to chroot into it)
set -euo pipefail
script=$(realpath "$0")
usage() { sed -n '2,14p' "$script" | sed 's/^# \{0,1\}//'; }

profile=release bin_dir= tag= archive= export_root=
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile=${2:?--profile needs a value}; shift 2 ;;
        --bin-dir) bin_dir=${2:?--bin-dir needs a value}; shift 2 ;;
        --tag) tag=${2:?--tag needs a value}; shift 2 ;;
        --archive) archive=${2:?--archive needs a value}; shift 2 ;;
        --export-root) export_root=${2:?--export-root needs a value}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
# Paths as given, from where the script was called.
for var in bin_dir archive export_root; do
    if [ -n "${!var}" ]; then printf -v "$var" '%s' "$(realpath -m "${!var}")"; fi
done
cd "$(dirname "$script")/.."
source scripts/lib.sh
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
tag=${tag:-localhost/chain:$version}
BINARIES=(chain genesis kms)

ensure_image_deps
if [ -z "$bin_dir" ]; then
    ensure_build_deps
    echo "== cargo build --profile $profile (chain, genesis, kms)"
    cargo build --profile "$profile" --locked -p chain -p genesis -p kms --bins
    case "$profile" in dev) bin_dir="$CARGO_TARGET_DIR/debug" ;; *) bin_dir="$CARGO_TARGET_DIR/$profile" ;; esac
fi
for b in "${BINARIES[@]}"; do
    [ -x "$bin_dir/$b" ] || { echo "error: $bin_dir/$b is missing" >&2; exit 1; }
done

context="$CARGO_TARGET_DIR/image-context"
rm -rf "$context"
mkdir -p "$context/rootfs/usr/local/bin" "$context/rootfs/etc/ssl/certs" "$context/data"
install -d -m 1777 "$context/rootfs/tmp"
echo "== staging $context"
for b in "${BINARIES[@]}"; do
    # Symbols stay (panics name their functions); the line tables go.
    objcopy --strip-debug "$bin_dir/$b" "$context/rootfs/usr/local/bin/$b"
done
# Every shared library a binary loads, and the dynamic loader, at the paths they are loaded
# from (a library the image lacks makes `chain --version` fail in the chroot check).
ldd_out=$(for b in "${BINARIES[@]}"; do ldd "$bin_dir/$b" || { echo "error: ldd $bin_dir/$b failed" >&2; exit 1; }; done)
if grep -q 'not found' <<<"$ldd_out"; then
    echo "error: a library the binaries load is missing on this machine:" >&2
    grep 'not found' <<<"$ldd_out" >&2
    exit 1
fi
libs=$(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$ldd_out" | sort -u)
for lib in $libs; do
    mkdir -p "$context/rootfs$(dirname "$lib")"
    cp -L "$lib" "$context/rootfs$lib"
done
cp -L "$CA_BUNDLE" "$context/rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nchain:x:10001:10001:validator node:/data:/usr/sbin/nologin\n' >"$context/rootfs/etc/passwd"
printf 'root:x:0:\nchain:x:10001:\n' >"$context/rootfs/etc/group"
echo "$(echo "$libs" | wc -w) shared libraries: $(echo "$libs" | xargs -n1 basename | tr '\n' ' ')"

echo "== building $tag ($IMAGE_TOOL)"
case "$IMAGE_TOOL" in
    buildah) buildah bud --quiet --format oci --layers=false --label "org.opencontainers.image.title=chain" --label "org.opencontainers.image.version=$version" -f "$PWD/Containerfile" -t "$tag" "$context" >/dev/null ;;
    podman) podman build --quiet --format oci --label "org.opencontainers.image.title=chain" --label "org.opencontainers.image.version=$version" -f "$PWD/Containerfile" -t "$tag" "$context" >/dev/null ;;
esac
echo "built $tag ($($IMAGE_TOOL images --noheading --format '{{.Size}}' "$tag" | head -1))"

if [ -n "$archive" ]; then
    rm -f "$archive"
    $IMAGE_TOOL push --quiet "$tag" "oci-archive:$archive:$tag" 2>/dev/null || $IMAGE_TOOL push "$tag" "oci-archive:$archive:$tag"
    echo "wrote $archive"
fi
if [ -n "$export_root" ]; then
    mkdir -p "$export_root"
    case "$IMAGE_TOOL" in
        buildah)
            ctr=$(buildah from --pull-never "$tag")
            trap 'buildah rm "$ctr" >/dev/null' EXIT
            mnt=$(buildah mount "$ctr")
            cp -a "$mnt/." "$export_root/"
            buildah umount "$ctr" >/dev/null
            ;;
        podman)
            ctr=$(podman create "$tag")
            trap 'podman rm "$ctr" >/dev/null' EXIT
            podman export "$ctr" | tar -x -C "$export_root"
            ;;
    esac
    echo "exported the image's root to $export_root"
fi
