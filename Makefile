# The two entry points README.md names: `make demo` (run) and `make test`.
CARGO ?= cargo

.PHONY: setup build test lint demo golden

setup:
	bash scripts/setup.sh

build: setup
	$(CARGO) build --workspace --release

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: setup lint
	$(CARGO) test --workspace
	@echo "make test: all checks passed"

demo: build
	bash scripts/demo.sh

# Regenerates tests/golden/*.golden with the real iptables in a network namespace (root).
golden: setup
	bash tests/golden/gen.sh
	bash tests/golden/gen-list.sh
