#!/usr/bin/env bash
# The main job on an embedded default: bring up the loopback environment (a real Cassandra 5.0 node and the
# object-store servers), write sample data, then run `cass-backup-run snapshot` against it into a local
# directory, and show what was stored.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/prepare.sh
source scripts/lib/prepare.sh
scripts/testenv.sh up >/dev/null
# shellcheck disable=SC1091
source "${CBR_TESTENV:-.testenv}/env.sh"

echo "== writing sample data (keyspace demo: tables users and events, with a secondary index)"
node scripts/demo-data.ts

dest=$CBR_TESTENV/demo-backups
echo "== cass-backup-run snapshot demo  →  file://$dest"
CASS_BACKUP_NODETOOL=$CBR_NODETOOL CASS_BACKUP_CASSANDRA_YAML=$CBR_CASSANDRA_YAML \
CASS_BACKUP_STATE_DIR=$CBR_TESTENV/demo-state CASS_BACKUP_CLOUD=none \
  node dist/main.js snapshot --dest "file://$dest" demo

manifest=$(ls -t "$dest"/*/.cass-backup-run/manifests/*.json | head -1)
echo "== stored under $dest:"
(cd "$dest" && find . -type f -path '*/demo/*' | sort | head -12; echo "   … $(find . -type f | wc -l) files in all")
echo "== manifest $manifest:"
node -e 'const m=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
console.log(`   node ${m.nodeId}, tag ${m.tag}, cluster ${m.cassandra.clusterName}, ${m.totals.files} files, ${m.totals.bytes} bytes, data dirs ${m.dataDirs.join(", ")}`)' "$manifest"
echo "== done. Other commands: node dist/main.js --help   (stop the environment: scripts/testenv.sh down)"
