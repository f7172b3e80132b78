// Issue 12, scale: a year of daily cluster backups of a 100-node cluster with 1,000 tables, written as the tool
// would write its catalog (member and completion records per node per day, a cluster manifest per complete day,
// the last two days incomplete), then `list --cluster` timed with the real CLI: cold (empty manifest cache) and warm.
// Also prints what one cluster backup costs in requests, from the protocol (src/cluster/cluster-catalog.ts).
//
//   source .testenv/env.sh && npx tsc -p tsconfig.json && node bench/cluster-scale.ts [--nodes 100] [--days 365] [--target file|s3]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openBackend } from '../src/storage/open.ts';
import { chunksSource } from '../src/storage/source.ts';
import { parseDestination } from '../src/config/destination.ts';
import { clusterIndexKey, clusterManifestKey, completeKey, memberKey } from '../src/cluster/keys.ts';
import { CLUSTER_FORMAT } from '../src/cluster/records.ts';
import { forEachLimit } from '../src/upload/pool.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const NODES = Number(arg('nodes', '100'));
const DAYS = Number(arg('days', '365'));
const TABLES = Number(arg('tables', '1000'));
const TARGET = arg('target', 'file');
const KEEP = process.argv.includes('--keep'); // leave the catalog in place (to probe it)
const REPO = path.resolve(import.meta.dirname, '..');
const run = `scale-${Date.now().toString(36)}`;
const dest = TARGET === 's3' ? `s3://${process.env.CBR_S3_BUCKET}/${run}` : `file://${mkdtempSync(path.join(tmpdir(), 'cbr-cluster-scale-'))}`;
const env = {
  ...process.env, AWS_ACCESS_KEY_ID: process.env.CBR_S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: process.env.CBR_S3_SECRET_KEY,
  CASS_BACKUP_S3_ENDPOINT: process.env.CBR_S3_ENDPOINT, CASS_BACKUP_CLOUD: 'none',
};

// This process writes the catalog through the same backend the CLI uses, with the test server's credentials.
process.env.AWS_ACCESS_KEY_ID ??= process.env.CBR_S3_ACCESS_KEY;
process.env.AWS_SECRET_ACCESS_KEY ??= process.env.CBR_S3_SECRET_KEY;
const backend = await openBackend(parseDestination(dest), {
  region: 'us-east-1', s3Endpoint: process.env.CBR_S3_ENDPOINT, s3PathStyle: true, s3Checksum: 'when_supported', gcsEndpoint: undefined,
  projectId: undefined, multipartThreshold: 64 << 20, partConcurrency: 4, concurrency: 32, dryRun: false, ioTimeoutMs: 120_000,
  retryAttempts: 5, retryDelayMs: 200,
});
const put = (key: string, doc: unknown) => backend.put(key, chunksSource([Buffer.from(JSON.stringify(doc))]));
const hostId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const ring = Array.from({ length: NODES }, (_, n) => ({ hostId: hostId(n), address: `10.0.${n >> 8}.${n & 255}`, dataCenter: 'dc1',
  rack: `r${n % 3}`, status: 'up', state: 'normal' }));
const tokens = (n: number) => Array.from({ length: 16 }, (_, k) => String(BigInt(n * 16 + k) * 11529215046068469n - 9223372036854775808n));
const schema = Array.from({ length: TABLES }, (_, t) => ({ keyspace: `ks${t % 10}`, table: `t${t}`,
  cql: `CREATE TABLE IF NOT EXISTS ks${t % 10}.t${t} (id uuid PRIMARY KEY, a text, b bigint, c blob) WITH compaction = {'class': 'SizeTieredCompactionStrategy'};` }));

const started = Date.now();
let objects = 0;
const days = Array.from({ length: DAYS }, (_, d) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000));
await forEachLimit(days, 4, new AbortController().signal, async (day) => {
  const stamp = day.toISOString().slice(0, 10).replace(/-/g, '');
  const id = `scale-daily-${stamp}`;
  const incomplete = day.getTime() >= days[DAYS - 2]!.getTime();
  const members = Array.from({ length: NODES }, (_, n) => n);
  await forEachLimit(members, 8, new AbortController().signal, async (n) => {
    const nodeId = `node${n}`;
    const manifestKey = `${nodeId}/.cass-backup-run/manifests/${id}.json`;
    await put(memberKey('scale', id, hostId(n)), { format: CLUSTER_FORMAT, clusterName: 'scale', cluster: 'scale', id, hostId: hostId(n),
      address: ring[n]!.address, dataCenter: 'dc1', rack: ring[n]!.rack, tokens: tokens(n), nodeId, manifestKey, hostname: nodeId,
      joinedAt: day.toISOString(), partitioner: 'org.apache.cassandra.dht.Murmur3Partitioner', ring, keyspaces: [] });
    if (!(incomplete && n >= NODES - 3)) {
      await put(completeKey('scale', id, hostId(n)), { format: CLUSTER_FORMAT, hostId: hostId(n), nodeId, manifestKey,
        snapshotAt: day.toISOString(), finishedAt: day.toISOString(), files: TABLES * 8, bytes: TABLES * 8 * 1_000_000 });
      objects++;
    }
    objects++;
  });
  if (!incomplete) {
    await put(clusterManifestKey('scale', id), { format: CLUSTER_FORMAT, clusterName: 'scale', cluster: 'scale', id, partitioner: 'Murmur3Partitioner',
      members: members.map((n) => ({ hostId: hostId(n), address: ring[n]!.address, dataCenter: 'dc1', rack: ring[n]!.rack, tokens: tokens(n),
        nodeId: `node${n}`, manifestKey: `node${n}/.cass-backup-run/manifests/${id}.json`, snapshotAt: day.toISOString(), finishedAt: day.toISOString(),
        files: TABLES * 8, bytes: TABLES * 8 * 1_000_000 })),
      skewSeconds: 12, keyspaces: [], schema: { keyspaces: [], tables: schema },
      totals: { members: NODES, files: NODES * TABLES * 8, bytes: NODES * TABLES * 8 * 1_000_000 }, completedAt: day.toISOString(), writtenBy: 'bench' });
    await put(clusterIndexKey('scale', id), { id, members: members.map((n) => ({ hostId: hostId(n), address: ring[n]!.address, nodeId: `node${n}`,
      manifestKey: `node${n}/.cass-backup-run/manifests/${id}.json` })), skewSeconds: 12,
      totals: { members: NODES, files: NODES * TABLES * 8, bytes: NODES * TABLES * 8 * 1_000_000 }, completedAt: day.toISOString(), writtenBy: 'bench' });
    objects += 2;
  }
});
console.log(`catalog: ${DAYS} daily cluster backups of ${NODES} nodes (${TABLES} tables), ${objects} objects, written in ${((Date.now() - started) / 1000).toFixed(1)} s to ${dest}`);

const stateDir = mkdtempSync(path.join(tmpdir(), 'cbr-scale-state-'));
for (const label of ['cold (no manifest cache)', 'warm (cached cluster manifests)']) {
  const t = Date.now();
  const out = execFileSync(process.execPath, [path.join(REPO, 'dist', 'main.js'), 'list', '--cluster', '--json', '--dest', dest, '--node-id', 'bench',
    '--state-dir', stateDir], { env, encoding: 'utf8', maxBuffer: 256 << 20 });
  const rows = (JSON.parse(out) as { clusterBackups: { complete: boolean }[] }).clusterBackups;
  console.log(`list --cluster, ${label}: ${((Date.now() - t) / 1000).toFixed(2)} s wall, ${rows.length} cluster backups, ` +
    `${rows.filter((r) => r.complete).length} complete`);
}

console.log(`
Requests per cluster backup (${NODES} nodes, ${TABLES} tables), from the protocol:
  each node: 1 PUT (member record) + 1 PUT (completion record) + 1 LIST of the backup's prefix (${Math.ceil((2 * NODES + 1) / 1000)} page(s))
             per completion check; with --cluster-wait, 1 LIST every 2 s while it waits
  the node (or list) that writes the cluster manifest, once: 1 LIST + ${2 * NODES} GET (records) + ${NODES} HEAD (node manifests)
             + 1 HEAD + 1 GET (one node manifest, for the schema.cql keys) + ${TABLES} GET (schema.cql) + 1 PUT
  in all, about ${3 * NODES + 1 + 2 * NODES + NODES + 3 + TABLES} requests for the whole cluster: O(nodes + tables), not O(nodes^2)
  list --cluster over ${DAYS} days: ${Math.ceil(DAYS / 1000)} LIST of the index + ${Math.ceil(DAYS / 1000)} delimited LIST of the ids
             + ${DAYS} small GET (summaries, cached after the first run) + a full read of each incomplete backup`);

rmSync(stateDir, { recursive: true, force: true });
if (KEEP) console.log(`kept: ${dest}`);
else if (TARGET === 's3') {
  const keys: string[] = [];
  for await (const o of backend.list('')) keys.push(o.key);
  await backend.delete(keys);
} else {
  rmSync(parseDestination(dest).scheme === 'file' ? (parseDestination(dest) as { path: string }).path : '', { recursive: true, force: true });
}
await backend.close();
