#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: formatting, lints, build, every test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_build_deps
ensure_bench_deps
ensure_node_deps
ensure_browser
ensure_chaos_deps
ensure_python_deps
ensure_openbao
ensure_prometheus
ensure_image_deps

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo build (binaries the end-to-end tests start)"
cargo build --workspace --bins --locked
echo "== cargo test"
cargo test --workspace --locked -- --test-threads 2
