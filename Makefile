# The two entry points README.md names: `make demo` (run) and `make test`.
CARGO ?= cargo
# The appliance binary with the DPDK data plane (Debian's DPDK 22.11, see scripts/setup.sh).
NFDP_DPDK := target/release/nfdp

.PHONY: setup build build-dpdk test lint deny fuzz faults floods soak demo replay-demo golden conformance lab bench pgo image image-check lab-image deb deb-check

# Randomised tests (proptest): in CI (CI set in the environment, as .ci/run does) every
# property draws from one fixed seed, so a run repeats the last one and a random draw cannot
# block a submission; locally each run draws afresh. proptest writes what it finds to
# *.proptest-regressions beside the test: commit those, every run replays them. An explicit
# PROPTEST_RNG_SEED wins.
ifdef CI
export PROPTEST_RNG_SEED ?= 20261202
endif

setup:
	bash scripts/setup.sh

# Release builds go through scripts/release-build.sh: profile-guided (perf/pgo.sh keeps the
# profile current in target/pgo), NFDP_PGO=0 without the profile.
RELEASE_BUILD := CARGO=$(CARGO) bash scripts/release-build.sh

build: setup
	$(RELEASE_BUILD) --workspace
	$(MAKE) build-dpdk

build-dpdk:
	$(RELEASE_BUILD) -p control --bins --features dpdk

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --workspace --all-targets --features control/dpdk,perf/dpdk -- -D warnings

# Supply chain: cargo-deny (advisories, licences, duplicate versions, sources) against
# deny.toml; installs cargo-deny the first time (scripts/deny.sh).
deny:
	CARGO=$(CARGO) bash scripts/deny.sh

test: setup lint deny
	$(CARGO) test --workspace
	$(CARGO) test -p dataplane --features dpdk --test dpdk_port
	$(CARGO) test -p perf --features dpdk
	$(CARGO) test -p control --features dpdk --test sd_notify --test privileges
	$(MAKE) fuzz
	$(MAKE) conformance
	$(MAKE) lab
	$(MAKE) faults
	$(MAKE) floods
	$(MAKE) image-check
	$(MAKE) lab-image
	$(MAKE) deb-check
	@echo "make test: all checks passed"

# The coverage-guided fuzz targets (fuzz/, cargo-fuzz + libFuzzer on nightly; the script
# installs both when missing): FUZZ_SECONDS per target (default 30, what CI runs), each from
# a copy of its committed seeds; corpus growth and crash inputs go under target/fuzz/.
# scripts/fuzz.sh TARGET... runs some; see fuzz/README.md.
FUZZ_SECONDS ?= 30
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

# The kernel as the oracle: each scenario on a namespace router and on nfdp replay.
# Needs root (namespaces, iptables); CI runs as root.
conformance:
	@if [ "$$(id -u)" = 0 ]; then \
		$(CARGO) build -p control --bin nfdp && python3 tests/conformance/run.py; \
	else \
		echo "conformance: needs root (network namespaces); run: sudo make conformance"; \
	fi

# The lab with real clients (curl, ping, iperf3) through nfdp on DPDK af_packet ports.
demo: setup build-dpdk
	@if [ "$$(id -u)" = 0 ]; then bash tests/lab/run.sh; else sudo bash tests/lab/run.sh; fi

# The same lab, as the integration test CI runs (root only): once with one worker, once
# with two (multi-core NAT: af_packet spreads flows over both queues, replies and spilled
# packets are handed to the worker that owns the connection), once on the AF_XDP PMD
# (LAB_PMD=af_xdp); then IPv6 neighbour discovery and ping -6 against a Linux host
# (tests/lab/ipv6nd.sh, about 10 s).
lab: build-dpdk
	@if [ "$$(id -u)" = 0 ]; then \
		bash tests/lab/run.sh && LAB_WORKERS=0,1 bash tests/lab/run.sh && \
		LAB_PMD=af_xdp bash tests/lab/run.sh && bash tests/lab/ipv6nd.sh; \
	else \
		echo "lab: needs root (network namespaces); run: sudo make lab"; \
	fi

# Faults under traffic (tests/lab/faults.sh, about 55 s, root only): a port's link down and
# up under iperf3, the TAP interface deleted under the daemon. Its own namespaces (nff-).
faults: build-dpdk
	@if [ "$$(id -u)" = 0 ]; then \
		bash tests/lab/faults.sh; \
	else \
		echo "faults: needs root (network namespaces); run: sudo make faults"; \
	fi

# Floods in the lab (tests/lab/floods.sh, about 90 s, root only): SYN, UDP, fragment, ICMP
# error and ARP floods from hping3 and a raw sender beside an iperf3 stream; what the stream
# kept, conntrack and memory bounds. Its own namespaces (nfl-); per flood to target/floods.
floods: build-dpdk
	@if [ "$$(id -u)" = 0 ]; then \
		bash tests/lab/floods.sh; \
	else \
		echo "floods: needs root (network namespaces); run: sudo make floods"; \
	fi

# Soak (not in `make test`; root only): the lab's traffic for SOAK_MINUTES (default 30)
# with rule swaps (API and SIGHUP) and conntrack flushes, nfdp's RSS to target/soak/rss.csv;
# fails on RSS growth after warm-up or loss beyond the budget (tests/lab/README.md).
SOAK_MINUTES ?= 30
soak: build-dpdk
	@if [ "$$(id -u)" = 0 ]; then \
		SOAK_MINUTES=$(SOAK_MINUTES) bash tests/lab/soak.sh; \
	else \
		echo "soak: needs root (network namespaces); run: sudo make soak"; \
	fi

# nfdp offline: ruleset checks and a pcap replayed through the pipeline (no DPDK, no root).
replay-demo: build
	bash scripts/demo.sh

# Regenerates tests/golden/*.golden with the real iptables in a network namespace (root),
# and tests/golden/ipset/ with the real ipset.
golden: setup
	bash tests/golden/gen.sh
	bash tests/golden/gen-list.sh
	bash tests/golden/ipset/gen.sh

# Benchmarks (not part of `make test`): the quick suite (JSON in target/bench/suite.json)
# and, as root, nfdp against the kernel as a router (target/bench/compare-kernel.json).
# See perf/README.md.
bench: build-dpdk
	$(RELEASE_BUILD) -p perf --features dpdk
	mkdir -p target/bench
	target/release/nfdp-bench suite --quick --json target/bench/suite.json
	@if [ "$$(id -u)" = 0 ]; then \
		bash perf/compare-kernel.sh --json target/bench/compare-kernel.json; \
	else \
		echo "compare-kernel: needs root (network namespaces); run: sudo perf/compare-kernel.sh"; \
	fi

# The profile of the profile-guided release builds, made current (perf/pgo.sh: nfdp-bench
# built instrumented in target/pgo/gen, the suite's S1, S1v6, S2, S2v6, S3, S6 and S8 as
# training when it changed); every release build does this first. See perf/README.md.
pgo: setup
	bash perf/pgo.sh target/pgo

# The container image (docker/): built without registry access (a debootstrapped Debian 12
# base, the binaries built here), then checked in a chroot of the mounted image: nfdp runs,
# the shipped configs and rulesets check, every DPDK driver finds its libraries. Root only
# (debootstrap, podman image mount); about 2 min when cargo is up to date (docker/README.md).
image: setup
	bash docker/build.sh --offline

image-check:
	@if [ "$$(id -u)" = 0 ]; then \
		bash docker/build.sh --offline && bash docker/check.sh; \
	else \
		echo "image-check: needs root (debootstrap, podman image mount); run: sudo make image-check"; \
	fi

# The lab (tests/lab/run.sh) with the image's nfdp and nfdpctl, copied out of the mounted
# image (same Debian 12 libraries as the host). Root only.
lab-image: image
	@if [ "$$(id -u)" = 0 ]; then \
		mkdir -p target/image && root=$$(podman image mount localhost/nfdp:latest) && \
		cp "$$root/usr/bin/nfdp" "$$root/usr/bin/nfdpctl" target/image/ && \
		podman image unmount localhost/nfdp:latest >/dev/null && \
		NFDP=target/image/nfdp NFDPCTL=target/image/nfdpctl bash tests/lab/run.sh; \
	else \
		echo "lab-image: needs root (podman image mount, network namespaces); run: sudo make lab-image"; \
	fi

# The Debian package (cargo-deb; metadata in control/Cargo.toml): the DPDK binaries, the
# systemd unit, the gateway example as /etc/nfdp/nfdp.toml, the DPDK runtime and drivers as
# dependencies. cargo-deb itself is installed with cargo the first time (a few minutes).
CARGO_DEB_VERSION := 3.8.0
deb: build-dpdk
	$(RELEASE_BUILD) -p perf --features dpdk --bin nfdp-pktgen
	@$(CARGO) deb --version 2>/dev/null | grep -q ' $(CARGO_DEB_VERSION)' || \
		$(CARGO) install --locked cargo-deb --version $(CARGO_DEB_VERSION)
	rm -f target/debian/nfdp_*.deb
	$(CARGO) deb -p control --no-build --strip

# The package installed into a fresh Debian 12 chroot (debootstrap) with apt-get, where
# nfdp runs and the installed config checks. Root only.
deb-check:
	@if [ "$$(id -u)" = 0 ]; then \
		$(MAKE) deb && bash scripts/deb-check.sh; \
	else \
		echo "deb-check: needs root (debootstrap, chroot); run: sudo make deb-check"; \
	fi
