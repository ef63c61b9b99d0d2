# The two entry points README.md names: `make demo` (run) and `make test`.
CARGO ?= cargo

.PHONY: setup build test lint demo golden conformance

setup:
	bash scripts/setup.sh

build: setup
	$(CARGO) build --workspace --release

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: setup lint
	$(CARGO) test --workspace
	$(MAKE) conformance
	@echo "make test: all checks passed"

# The kernel as the oracle: each scenario on a namespace router and on nfdp replay.
# Needs root (namespaces, iptables); CI runs as root.
conformance:
	@if [ "$$(id -u)" = 0 ]; then \
		$(CARGO) build -p control --bin nfdp && python3 tests/conformance/run.py; \
	else \
		echo "conformance: needs root (network namespaces); run: sudo make conformance"; \
	fi

demo: build
	bash scripts/demo.sh

# Regenerates tests/golden/*.golden with the real iptables in a network namespace (root).
golden: setup
	bash tests/golden/gen.sh
	bash tests/golden/gen-list.sh
