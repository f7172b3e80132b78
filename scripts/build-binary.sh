#!/usr/bin/env bash
# Builds build/cass-backup-run: one self-contained linux-x64 executable, a Node.js single executable application
# (SEA) made of the pinned official Node runtime (scripts/lib/node-env.sh, cached in ~/.cache/cass-backup-run) and
# the CLI bundled into one CommonJS file (scripts/binary/bundle.ts), with the native CRC32C addon as a SEA asset.
# It needs no Node.js on the host it runs on; glibc >= 2.28 (Node's own requirement for linux-x64).
# Needs the npm dependencies installed (esbuild, postject are devDependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
# shellcheck source=lib/node-env.sh
source scripts/lib/node-env.sh

# Never the machine's node: a distribution's build may link a shared libnode and lack the SEA fuse.
runtime=$(cbr_pinned_node_bin)/node
fuse=NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2
addon=node_modules/@node-rs/crc32-linux-x64-gnu/crc32.linux-x64-gnu.node
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || { echo "build-binary: builds for linux-x64 only" >&2; exit 1; }
[ -f "$addon" ] || { echo "build-binary: $addon is missing: run npm ci first" >&2; exit 1; }
grep -q "$fuse" "$runtime" || { echo "build-binary: $runtime has no SEA fuse" >&2; exit 1; }
command -v strip >/dev/null || { echo "build-binary: needs strip(1) from binutils" >&2; exit 1; }

out=build/cass-backup-run
work=build/sea
rm -rf "$work" && mkdir -p "$work"
node scripts/binary/bundle.ts "$work/main.cjs"
cat >"$work/sea-config.json" <<JSON
{
  "main": "$PWD/$work/main.cjs",
  "output": "$PWD/$work/sea.blob",
  "disableExperimentalSEAWarning": true,
  "useCodeCache": true,
  "assets": { "crc32.node": "$PWD/$addon" }
}
JSON
# The blob must come from the very runtime it is injected into.
"$runtime" --experimental-sea-config "$work/sea-config.json" >"$work/blob.log" 2>&1 || { cat "$work/blob.log" >&2; exit 1; }
# Without the runtime's static symbol table and debug info (18 MiB); the dynamic symbols addons link against stay.
strip -o "$work/cass-backup-run" "$runtime"
chmod u+w "$work/cass-backup-run"
npx --no-install postject "$work/cass-backup-run" NODE_SEA_BLOB "$work/sea.blob" --sentinel-fuse "$fuse" \
  >"$work/postject.log" 2>&1 || { cat "$work/postject.log" >&2; exit 1; }

version=$(node -p 'require("./package.json").version')
got=$("$work/cass-backup-run" --version) || { echo "build-binary: the built binary does not start" >&2; exit 1; }
[ "$got" = "$version" ] || { echo "build-binary: the built binary says version '$got', package.json '$version'" >&2; exit 1; }
mv "$work/cass-backup-run" "$out"
echo "build-binary: $out ($(du -m "$out" | cut -f1) MiB, Node $("$runtime" --version), cass-backup-run $version) in $((SECONDS - started)) s"
