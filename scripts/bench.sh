#!/usr/bin/env bash
# The side-by-side benchmark (bench/README.md) in one command: generates the workloads when missing, then runs
# ours and the peers on the discard S3 sink (client cost), on versitygw and on fake-gcs-server, and the memory
# cases, then restore against backup (bench/restore.ts). Tables go to <root>/table-{sink,s3,w4,gcs,restore}.md and
# memory figures to stdout. Needs ~12 GB under <root> and about an hour on 2 cores; rclone and aws-cli come from Debian (apt-get install rclone awscli).
#   scripts/bench.sh [root] [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/prepare.sh
source scripts/lib/prepare.sh
scripts/testenv.sh up >/dev/null
# shellcheck disable=SC1091
source "${CBR_TESTENV:-.testenv}/env.sh"
ROOT=${1:-/tmp/cbr-bench}
REPS=${2:-3}
node bench/generate.ts "$ROOT" all >/dev/null   # skips what exists
# Every peer runs in an adjacent pair with its own run of ours (bench/run.ts): s5cmd (when built, see bench/README.md)
# and put-loop (bench/put-loop.ts, the minimal signed PUT loop in Node: the "limit" column) apply to S3 only.
PEERS=ours,s5cmd,put-loop,sdk,rclone,awscli
# Empty stores first: versitygw's posix backend slows down as objects and their sidecar metadata pile up (the same
# 20,000-file upload took 19, 37, 48 and 47 s in four consecutive runs), which would favour whoever runs first.
scripts/testenv.sh down >/dev/null
rm -rf "${CBR_TESTENV:-.testenv}/s3" "${CBR_TESTENV:-.testenv}/gcs"
scripts/testenv.sh up >/dev/null
# --node-data-dirs: ours also gets the test node's data directories, whose system_schema the node-facts cache
# fingerprints as on a real node (src/cassandra/facts-cache.ts); the JVMs column shows the nodetool starts.
node bench/run.ts --root "$ROOT" --reps "$REPS" --target sink --workloads w1,w2,w5 --tools "$PEERS" --node-data-dirs "$CBR_DATA_DIRS"
node bench/run.ts --root "$ROOT" --reps 2 --workloads w1,w2,w3,w5 --tools "$PEERS" --node-data-dirs "$CBR_DATA_DIRS"
mv "$ROOT/table-versitygw.md" "$ROOT/table-s3.md"
node bench/run.ts --root "$ROOT" --reps 1 --workloads w3,w4 --tools ours,ours-dedup
mv "$ROOT/table-versitygw.md" "$ROOT/table-w4.md"
node bench/run.ts --root "$ROOT" --reps 2 --workloads g1,g2 --tools ours,sdk
mv "$ROOT/table-versitygw.md" "$ROOT/table-gcs.md"
# Restore against backup of the same data, adjacent pairs (s5cmd as reference when ~/.cache/cass-backup-run/s5cmd-2.3.0 exists).
node bench/restore.ts --root "$ROOT" --reps 2 --workloads w1,w2 --targets s3,sink,file
bench/memory.sh "$ROOT"
echo "tables: $ROOT/table-sink.md $ROOT/table-s3.md $ROOT/table-w4.md $ROOT/table-gcs.md $ROOT/table-restore.md"
