#!/usr/bin/env bash
# The whole test suite: provides Node >= 22, installs npm dependencies when needed, builds, type-checks,
# brings up the loopback test environment (scripts/testenv.sh: one node, and the three-node cluster for
# test/cluster/) and runs the unit, end-to-end and cluster tests.
# Extra arguments are passed to `node --test` (e.g. a single file).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/prepare.sh
source scripts/lib/prepare.sh
npx tsc -p tsconfig.test.json
scripts/testenv.sh up >/dev/null
# shellcheck disable=SC1091
source "${CBR_TESTENV:-.testenv}/env.sh"
# The three-node cluster only when cluster tests run (the whole suite, or a file under test/cluster/).
if [ $# -eq 0 ] || printf '%s\n' "$@" | grep -q 'test/cluster/'; then
  scripts/testenv.sh cluster-up >/dev/null
  # shellcheck disable=SC1091
  source "${CBR_TESTENV:-.testenv}/cluster/env.sh"
fi
if [ $# -gt 0 ]; then
  exec node --test --test-concurrency=1 "$@"
fi
# One run, files one at a time: the end-to-end tests share one Cassandra node (and the cluster tests one cluster).
exec node --test --test-concurrency=1 'test/unit/**/*.test.ts' 'test/e2e/**/*.test.ts' 'test/cluster/**/*.test.ts'
