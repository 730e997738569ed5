#!/usr/bin/env bash
# The main job: build, then run a local testnet with a demo workload of signed transfers.
# Extra arguments go to `testnet up` (e.g. --duration 60, --tps 100, --dir DIR, --kms vault).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_build_deps
case " $* " in
    *" vault "*|*" remote "*|*"--kms=vault"*|*"--kms=remote"*) ensure_openbao ;;
esac

cargo build --workspace --bins --locked
dir="${TESTNET_DIR:-$PWD/testnet-data}"
echo "testnet directory: $dir (remove it to start from a fresh genesis)"
exec "$CARGO_TARGET_DIR/debug/testnet" up --dir "$dir" "$@"
