// A synthetic catalog of one node written straight into a store with the project's own manifest writer
// (finishManifest + writeManifest), so that every reader accepts it: used by the catalog-at-scale benchmark
// (bench/catalog-scale.ts) and by the tests of list, verify and purge at more than one batch.
//
// Dedup layout (`<node>/.sstables/<ks>/<table-dir>/<file>`): a pool of `objects` distinct small objects spread
// round-robin over `tables` table directories; backups 0 … count-2 each name a window of `perBackup` consecutive
// pool objects, shifted by `shift` per backup; the newest backup names the last `newest` pool objects. A purge
// that keeps only the newest backup must delete exactly the pool objects before `objects - newest`.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Backend, ObjectInfo } from '../../src/storage/backend.ts';
import { openBackend } from '../../src/storage/open.ts';
import { parseDestination } from '../../src/config/destination.ts';
import { bytesSource } from '../../src/storage/source.ts';
import { forEachLimit } from '../../src/upload/pool.ts';
import { finishManifest, type ManifestFile } from '../../src/catalog/manifest.ts';
import { writeManifest } from '../../src/catalog/catalog.ts';
import { objectKeyFor } from '../../src/catalog/layouts.ts';
import { crc32cOf, crc32cToBase64 } from '../../src/checksum/crc32c.ts';

export interface SyntheticShape {
  readonly nodeId: string;
  readonly backups: number;
  readonly perBackup: number;
  readonly shift: number;
  /** Files of the newest backup: the last `newest` pool objects. */
  readonly newest: number;
  /** Distinct objects in the pool; every one is named by at least one backup when shift·(backups-2)+perBackup ≥ objects-newest. */
  readonly objects: number;
  readonly tables: number;
}

export interface SyntheticCatalog {
  readonly shape: SyntheticShape;
  readonly tags: readonly string[];
  /** Object keys (relative to the destination root) by pool index. */
  keyOf(j: number): string;
  /** File references written in all manifests. */
  readonly references: number;
}

const never = new AbortController().signal;

/** The project's backend for a file:// or s3:// destination on the loopback test server (credentials from CBR_S3_*). */
export function openStore(dest: string): Promise<Backend> {
  process.env.AWS_ACCESS_KEY_ID ??= process.env.CBR_S3_ACCESS_KEY;
  process.env.AWS_SECRET_ACCESS_KEY ??= process.env.CBR_S3_SECRET_KEY;
  return openBackend(parseDestination(dest), {
    region: 'us-east-1', s3Endpoint: process.env.CBR_S3_ENDPOINT, s3PathStyle: true, s3Checksum: 'when_supported', gcsEndpoint: undefined,
    projectId: undefined, multipartThreshold: 64 << 20, partConcurrency: 4, concurrency: 64, dryRun: false, ioTimeoutMs: 120_000,
    retryAttempts: 5, retryDelayMs: 200,
  });
}

export function tagOf(i: number): string {
  return `scale-${String(i).padStart(5, '0')}`;
}

const tableDir = (t: number) => `ks${t % 10}/t${t}-${(t + 1).toString(16).padStart(32, '0')}`;
const bodyOf = (j: number) => Buffer.from(`object ${j} `.padEnd(16 + (j % 48), String.fromCharCode(97 + (j % 26))));

/**
 * Writes the pool and the manifests. `fileRoot`: for a file:// destination, the objects are written with plain fs
 * calls under that directory (the local backend's format, a file per key; much faster than its fsync per put);
 * otherwise through the backend. Manifests always go through writeManifest.
 */
export async function writeSyntheticCatalog(store: Backend, shape: SyntheticShape, fileRoot?: string): Promise<SyntheticCatalog> {
  const { nodeId, objects: N, newest: V, tables } = shape;
  const pathOf = (j: number, tag: string) => `${tableDir(j % tables)}/snapshots/${tag}/nb-${j + 1}-big-Data.db`;
  const keyOf = (j: number) => objectKeyFor('dedup', nodeId, pathOf(j, 'x'));
  const pool = Array.from({ length: N }, (_, j) => j);
  if (fileRoot !== undefined) {
    for (let t = 0; t < Math.min(tables, N); t++) mkdirSync(path.join(fileRoot, path.dirname(keyOf(t))), { recursive: true });
    for (const j of pool) writeFileSync(path.join(fileRoot, keyOf(j)), bodyOf(j));
  } else {
    await forEachLimit(pool, 64, never, async (j) => { await store.put(keyOf(j), bytesSource(bodyOf(j))); });
  }
  const listed = new Map<string, ObjectInfo>();
  for await (const o of store.list(`${nodeId}/`)) listed.set(o.key, o);
  const crcs = pool.map((j) => crc32cToBase64(crc32cOf(bodyOf(j))));
  const entry = (j: number, tag: string): ManifestFile => {
    const info = listed.get(keyOf(j));
    if (info === undefined) throw new Error(`object ${keyOf(j)} was not stored`);
    return { path: pathOf(j, tag), dataDir: 0, size: info.size, mtimeMs: 1_700_000_000_000 + j, ino: 1000 + j, key: keyOf(j),
      crc32c: crcs[j] as string, ...(info.etag === undefined ? {} : { etag: info.etag }), reused: true };
  };
  const tags = Array.from({ length: shape.backups }, (_, i) => tagOf(i));
  let references = 0;
  await forEachLimit(tags.map((_, i) => i), 8, never, async (i) => {
    const tag = tagOf(i);
    const [from, to] = i === shape.backups - 1 ? [N - V, N] : [i * shape.shift, Math.min(N, i * shape.shift + shape.perBackup)];
    const files = Array.from({ length: Math.max(0, to - from) }, (_, k) => entry(from + k, tag));
    references += files.length;
    const started = new Date(Date.UTC(2025, 0, 1) + i * 3_600_000);
    await writeManifest(store, finishManifest({
      tool: { name: 'cass-backup-run', version: 'synthetic' }, nodeId, kind: 'snapshot', tag, layout: 'dedup',
      startedAt: started.toISOString(), finishedAt: new Date(started.getTime() + 600_000).toISOString(), cloud: { cloud: 'none' },
      hostname: 'synthetic', cassandra: {}, dataDirs: ['/var/lib/cassandra/data'], files,
    }));
  });
  return { shape, tags, keyOf, references };
}
