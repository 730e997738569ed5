#!/usr/bin/env bash
# The benchmark, as docs/BENCHMARKS.md records it: a release build, then `testnet bench`
# (flat out, a rate sweep for the maximum sustained rate, 10/50/80% of it; JSON and a PNG).
# Extra arguments go to `testnet bench` (e.g. --validators 7, --out result.json).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_build_deps
ensure_bench_deps
case " $* " in
    *" vault "*|*" remote "*|*"--kms=vault"*|*"--kms=remote"*) ensure_openbao ;;
esac

cargo build --release --workspace --bins --locked
exec "$CARGO_TARGET_DIR/release/testnet" bench "$@"
