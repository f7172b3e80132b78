#!/usr/bin/env bash
# The whole test suite: provides Node >= 22, installs npm dependencies when needed, builds, type-checks,
# brings up the loopback test environment (scripts/testenv.sh) and runs the unit and end-to-end tests.
# Extra arguments are passed to `node --test` (e.g. a single file).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/prepare.sh
source scripts/lib/prepare.sh
npx tsc -p tsconfig.test.json
scripts/testenv.sh up >/dev/null
# shellcheck disable=SC1091
source "${CBR_TESTENV:-.testenv}/env.sh"
if [ $# -gt 0 ]; then
  exec node --test --test-concurrency=1 "$@"
fi
# One run, files one at a time: the end-to-end tests share one Cassandra node.
exec node --test --test-concurrency=1 'test/unit/**/*.test.ts' 'test/e2e/**/*.test.ts'
