#!/usr/bin/env bash
# Supply chain check (`make deny`, part of `make test`): cargo-deny over the whole build
# graph, `dpdk` features included, against deny.toml: RustSec advisories (vulnerable,
# unmaintained, unsound, yanked), licences, duplicate versions and wildcards, sources.
# CI runs on a clean clone: cargo-deny is installed here the first time (a few minutes).
#
# The advisory database is fetched from github.com on every run, so a new advisory against
# a crate we use fails the next run: that is the point (fix it, or write the reason into
# deny.toml's ignore list). Without github.com the last fetched copy
# (~/.cargo/advisory-dbs) is used and its age printed; with no copy at all the check fails,
# unless NFDP_DENY_OFFLINE=1 (then advisories are skipped, loudly, and the rest runs).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
VERSION=0.20.2

if ! "$CARGO" deny --version 2>/dev/null | grep -qx "cargo-deny $VERSION"; then
  echo "deny: installing cargo-deny $VERSION (cargo install --locked)"
  "$CARGO" install --locked cargo-deny --version "$VERSION"
fi

checks=(advisories bans licenses sources)
if "$CARGO" deny fetch db; then
  echo "deny: advisory database fetched"
else
  db=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/advisory-dbs/advisory-db-* 2>/dev/null | head -1 || true)
  if [ -n "$db" ] && [ -d "$db/crates" ]; then
    echo "deny: WARNING: cannot fetch the advisory database; using the copy in $db" \
      "(last commit $(git -C "$db" log -1 --format=%cs 2>/dev/null || echo unknown))" >&2
  elif [ "${NFDP_DENY_OFFLINE:-0}" = 1 ]; then
    echo "deny: WARNING: no advisory database (offline, NFDP_DENY_OFFLINE=1): advisories NOT checked" >&2
    checks=(bans licenses sources)
  else
    echo "deny: cannot fetch the advisory database (github.com) and no local copy;" \
      "NFDP_DENY_OFFLINE=1 skips the advisories" >&2
    exit 1
  fi
fi
# --offline: the database is the one just fetched (or the local copy); crates come from
# Cargo.lock (--locked), so the graph checked is the one built.
"$CARGO" deny --offline --locked check "${checks[@]}"
