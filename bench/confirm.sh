#!/usr/bin/env bash
# How much the confirmation before a manifest costs (issue 10): a dedup snapshot of 100,000 small files whose
# objects are all stored already (a second snapshot of the same SSTables) confirms them with one listing per
# directory. In the same invocation, the per-object way for comparison: `verify`, one HEAD per object.
#   source .testenv/env.sh && bench/confirm.sh [/tmp/cbr-bench]
set -euo pipefail
ROOT=${1:-/tmp/cbr-bench}
REPO=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$ROOT/mem100k" ] || node "$REPO/bench/generate.ts" "$ROOT" mem100k >/dev/null
# A second snapshot of the same files (hard links, as `nodetool snapshot` makes them).
for d in "$ROOT"/mem100k/*/*/snapshots/mem; do
  [ -d "$d/../confirm2" ] || cp -al "$d" "$d/../confirm2"
done
run() { # label tag dest...
  local label=$1 tag=$2; shift 2
  local start=$SECONDS out
  out=$(node "$REPO/dist/main.js" snapshot --resume "$tag" --keep-snapshot --layout dedup --data-dir "$ROOT/mem100k" \
    --node-id bench-confirm --cloud none --state-dir "$state" --json --nodetool "$CBR_NODETOOL" "$@")
  local confirmed; confirmed=$(grep -o '"message":"confirmed [^"]*"' <<<"$out" | tail -1 | cut -d'"' -f4 || true)
  echo "$label: $((SECONDS - start)) s wall; ${confirmed:-no reused objects}"
}
for target in file s3; do
  state=$(mktemp -d)
  if [ $target = file ]; then
    dest=(--dest "file://$ROOT/work/confirm-dest-$$")
  else
    dest=(--dest "s3://$CBR_S3_BUCKET/bench-confirm-$$" --s3-endpoint "$CBR_S3_ENDPOINT")
    export AWS_ACCESS_KEY_ID=$CBR_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$CBR_S3_SECRET_KEY
  fi
  echo "== $target"
  run "first snapshot, 100,000 files sent" mem "${dest[@]}"
  run "second snapshot, 100,000 files reused" confirm2 "${dest[@]}"
  start=$SECONDS
  node "$REPO/dist/main.js" verify mem --node-id bench-confirm --cloud none --state-dir "$state" "${dest[@]}" | tail -1
  echo "verify (one request per object): $((SECONDS - start)) s wall"
  # versitygw slows down as it fills: leave nothing behind.
  [ $target = s3 ] && (cd "$REPO" && node -e "import('./test/support/stores.ts').then((m) => m.s3Reader().deletePrefix('bench-confirm-$$/'))")
  rm -rf "$state" "$ROOT/work/confirm-dest-$$"
done
