#!/usr/bin/env bash
# Peak RSS of ours (issue 5, target < 256 MiB) for one 20 GiB file (sparse: zeros, fine for RSS) and for
# 100,000 tiny files, each uploaded to the discard sink (bench/sink.ts) so that nothing is stored.
#   source .testenv/env.sh && bench/memory.sh [/tmp/cbr-bench]
set -euo pipefail
ROOT=${1:-/tmp/cbr-bench}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PORT=7097
mkdir -p "$ROOT/work"
node "$REPO/bench/sink.ts" $PORT /dev/null & SINK=$!
trap 'kill $SINK' EXIT
sleep 1
big="$ROOT/mem20g/ks0/big-00000000000000000000000000000001/snapshots/mem"
mkdir -p "$big"
for c in Data.db Index.db Filter.db Summary.db Statistics.db CompressionInfo.db Digest.crc32 TOC.txt; do
  [ -e "$big/nb-1-big-$c" ] || truncate -s $([ $c = Data.db ] && echo 20G || echo 4K) "$big/nb-1-big-$c"
done
[ -d "$ROOT/mem100k" ] || node "$REPO/bench/generate.ts" "$ROOT" mem100k >/dev/null
for case in mem20g mem100k; do
  state=$(mktemp -d)
  echo "== $case"
  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y CBR_BENCH_PROBE="$ROOT/work/probe-$case.json" \
    /usr/bin/time -v node --import "$REPO/bench/probe.mjs" "$REPO/dist/main.js" snapshot --resume mem --keep-snapshot \
      --data-dir "$ROOT/$case" --dest "s3://bench/mem-$case-$$" --s3-endpoint "http://127.0.0.1:$PORT" --node-id bench \
      --cloud none --state-dir "$state" --json --nodetool "$CBR_NODETOOL" 2> "$ROOT/work/time-$case.txt" | tail -1 | cut -c1-300
  grep -E 'Elapsed|Maximum resident|User time|System time' "$ROOT/work/time-$case.txt"
  echo "node process only: $(cat "$ROOT/work/probe-$case.json")"
  rm -rf "$state"
done
