# Task runner. `make ci` is exactly what CI runs (.ci/run).
.PHONY: ci test testnet fmt

ci:
	bash .ci/run

test: ci

testnet:
	bash scripts/testnet.sh

fmt:
	cargo fmt --all
