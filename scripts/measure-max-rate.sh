#!/usr/bin/env bash
# Prints a table of --max-rate limits against the rate achieved (see measure-max-rate.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/prepare.sh
source scripts/lib/prepare.sh
scripts/testenv.sh up >/dev/null
# shellcheck disable=SC1091
source "${CBR_TESTENV:-.testenv}/env.sh"
node scripts/measure-max-rate.ts
