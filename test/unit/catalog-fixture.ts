// Backups built by hand in a local (file://) destination, and a CatalogContext over it, for the unit tests of
// list, verify and restore. Objects and manifests are written through the real local backend.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalBackend } from '../../src/storage/local.ts';
import type { Backend } from '../../src/storage/backend.ts';
import { bytesSource } from '../../src/storage/source.ts';
import { finishManifest, type Manifest, type ManifestFile } from '../../src/catalog/manifest.ts';
import { manifestKey } from '../../src/catalog/keys.ts';
import { writeManifest } from '../../src/catalog/catalog.ts';
import { crc32cOf, crc32cToBase64 } from '../../src/checksum/crc32c.ts';
import type { CatalogContext } from '../../src/commands/catalog-context.ts';
import type { RunEvent } from '../../src/report.ts';

export const ID_USERS = 'c2517630e99a11f1a8c74f9ac66883fd';
export const ID_EVENTS = 'd3627741f00b22f2b9d85fa0d77994fe';

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `cbr-${prefix}-`));
}

export interface FixtureFile {
  /** Relative to the data directory, e.g. `ks/users-<id>/snapshots/<tag>/nb-1-big-Data.db`. */
  readonly path: string;
  readonly content: string | Buffer;
  readonly mtimeMs?: number;
  /** Store under another key than `<node>/<path>` (as the dedup layout does). */
  readonly key?: string;
}

export interface FixtureBackup {
  readonly nodeId: string;
  readonly tag: string;
  readonly kind: 'snapshot' | 'incremental';
  readonly startedAt: string;
  readonly files: readonly FixtureFile[];
}

/** Stores each file's bytes, then the manifest (last, as the real runs do). */
export async function addBackup(backend: Backend, b: FixtureBackup): Promise<Manifest> {
  const files: ManifestFile[] = [];
  for (const f of b.files) {
    const bytes = Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content);
    const key = f.key ?? `${b.nodeId}/${f.path}`;
    const info = await backend.put(key, bytesSource(bytes));
    files.push({
      path: f.path, dataDir: 0, size: bytes.length, mtimeMs: f.mtimeMs ?? Date.parse(b.startedAt) - 60_000, ino: 1,
      key, crc32c: crc32cToBase64(crc32cOf(bytes)), ...(info.etag ? { etag: info.etag } : {}),
    });
  }
  const manifest = finishManifest({
    tool: { name: 'cass-backup-run', version: '0.0.0-test' }, nodeId: b.nodeId, kind: b.kind, tag: b.tag, layout: 'seed',
    startedAt: b.startedAt, finishedAt: new Date(Date.parse(b.startedAt) + 30_000).toISOString(), cloud: { cloud: 'none' },
    hostname: b.nodeId, cassandra: { clusterName: 'Test Cluster' }, dataDirs: ['/var/lib/cassandra/data'], files,
  });
  await writeManifest(backend, manifest);
  return manifest;
}

/** Writes a manifest document as is (no validation): for crafted, hostile manifests. */
export async function putRawManifest(backend: Backend, nodeId: string, tag: string, doc: unknown): Promise<void> {
  await backend.put(manifestKey(nodeId, tag), bytesSource(Buffer.from(JSON.stringify(doc))));
}

export interface Harness {
  readonly root: string;
  readonly backend: Backend;
  readonly ctx: CatalogContext;
  readonly stdout: () => string;
  readonly events: RunEvent[];
}

export async function harness(overrides: Partial<CatalogContext> = {}, root?: string): Promise<Harness> {
  const storeRoot = root ?? (await tempDir('store'));
  const backend = createLocalBackend({ root: storeRoot });
  let out = '';
  const events: RunEvent[] = [];
  const ctx: CatalogContext = {
    nodeId: 'node-a', backend, reporter: { emit: (e) => void events.push(e) }, out: (t) => void (out += t), json: false, dryRun: false,
    stateDir: await tempDir('state'), concurrency: 4, now: () => new Date('2026-11-26T12:00:00Z'),
    signal: new AbortController().signal, ...overrides,
  };
  return { root: storeRoot, backend: ctx.backend, ctx, stdout: () => out, events };
}

export function snapshotPath(table: 'users' | 'events', tag: string, file: string): string {
  return `ks/${table}-${table === 'users' ? ID_USERS : ID_EVENTS}/snapshots/${tag}/${file}`;
}

export function backupPath(table: 'users' | 'events', file: string): string {
  return `ks/${table}-${table === 'users' ? ID_USERS : ID_EVENTS}/backups/${file}`;
}
