#!/usr/bin/env bash
# Regenerates tests/golden/list6/: ip6tables 1.8.9's listings of every cases6/NAME.rules
# (gen-list.sh with GOLDEN_FAMILY=6; see there). Run as root.
GOLDEN_FAMILY=6 exec bash "$(dirname "${BASH_SOURCE[0]}")/gen-list.sh" "$@"
