// `purge` over the local backend: manifests and objects written into a temp directory, then purged.
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { purgeCommand, type PurgeInput } from '../../src/commands/purge.ts';
import type { CatalogContext } from '../../src/commands/catalog-context.ts';
import { createLocalBackend } from '../../src/storage/local.ts';
import type { Backend } from '../../src/storage/backend.ts';
import { bytesSource } from '../../src/storage/source.ts';
import { finishManifest } from '../../src/catalog/manifest.ts';
import { writeManifest } from '../../src/catalog/catalog.ts';
import { manifestKey, manifestsPrefix } from '../../src/catalog/keys.ts';
import type { RunEvent } from '../../src/report.ts';
import { IncompleteError, LockedError, UsageError } from '../../src/errors.ts';

const NODE = 'n1';
const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** Real time: the local backend dates objects by file mtime, which the tests set relative to this. */
const NOW = new Date();

let root: string;
let destDir: string;
let stateDir: string;
let backend: Backend;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cbr-purge-'));
  destDir = join(root, 'dest');
  stateDir = join(root, 'state');
  backend = createLocalBackend({ root: destDir });
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Stores an object aged `ageHours`. */
async function object(key: string, ageHours: number, bytes = 10): Promise<void> {
  await backend.put(key, bytesSource(Buffer.alloc(bytes, 1)));
  const t = new Date(NOW.getTime() - ageHours * HOUR);
  utimesSync(join(destDir, key), t, t);
}

/** Stores the objects of a backup (aged like it) and then its manifest. */
async function backup(tag: string, kind: 'snapshot' | 'incremental', daysAgo: number, keys: string[]): Promise<void> {
  for (const key of keys) await object(key, daysAgo * 24);
  const started = new Date(NOW.getTime() - daysAgo * DAY);
  await writeManifest(backend, finishManifest({
    tool: { name: 'cass-backup-run', version: 'test' }, nodeId: NODE, kind, tag, layout: 'seed',
    startedAt: started.toISOString(), finishedAt: new Date(started.getTime() + HOUR).toISOString(),
    cloud: { cloud: 'none' }, hostname: 'h', cassandra: {}, dataDirs: ['/data'],
    files: keys.map((key, i) => ({ path: key.slice(NODE.length + 1), dataDir: 0, size: 10, mtimeMs: 0, ino: i, key, crc32c: 'AAAAAA==' })),
  }));
}

async function storedKeys(): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const o of backend.list('')) out.add(o.key);
  return out;
}

interface Run {
  readonly out: string;
  readonly events: RunEvent[];
}

async function purge(input: Partial<PurgeInput>, over: Partial<CatalogContext> = {}): Promise<Run> {
  let out = '';
  const events: RunEvent[] = [];
  const ctx: CatalogContext = {
    nodeId: NODE, backend, reporter: { emit: (e) => events.push(e) }, out: (t) => (out += t), json: false,
    stateDir, concurrency: 4, now: () => NOW, signal: new AbortController().signal, dryRun: false,
    hostname: 'purge-host', pid: process.pid, bootId: undefined, toolVersion: 'test', leaseTimeoutMs: 600_000, ...over,
  };
  await purgeCommand({ keepLast: undefined, keepDays: undefined, yes: false, graceHours: 24, ...input }, ctx);
  return { out, events };
}

const snapKeys = (tag: string) => [`${NODE}/ks/t-1/snapshots/${tag}/nb-1-big-Data.db`, `${NODE}/ks/t-1/snapshots/${tag}/manifest.json`];
const SHARED = `${NODE}/ks/t-1/backups/nb-1-big-Data.db`;

/** Three snapshots, an incremental after each of the first two, a shared backups/ file, orphans, a catalog marker. */
async function fixture(): Promise<void> {
  await backup('s1', 'snapshot', 30, snapKeys('s1'));
  await backup('i1', 'incremental', 25, [SHARED]);
  await backup('s2', 'snapshot', 20, snapKeys('s2'));
  await backup('i2', 'incremental', 15, [SHARED, `${NODE}/ks/t-1/backups/nb-2-big-Data.db`]);
  await backup('s3', 'snapshot', 10, snapKeys('s3'));
  await backup('i3', 'incremental', 5, [SHARED]);
  await object(`${NODE}/ks/t-1/snapshots/failed/nb-9-big-Data.db`, 48, 7); // a failed run, long ago
  await object(`${NODE}/ks/t-1/snapshots/running/nb-10-big-Data.db`, 1, 5); // a backup in progress
  await object(`${NODE}/.cass-backup-run/markers/x`, 48);
  await object('n10/ks/t-1/snapshots/s1/nb-1-big-Data.db', 48); // another node whose id starts alike
}

describe('purge', () => {
  it('without --yes shows what it would delete and deletes nothing', async () => {
    await fixture();
    const before = await storedKeys();
    const run = await purge({ keepLast: 1 });
    assert.deepEqual(await storedKeys(), before);
    assert.match(run.out, /expire 4 backup\(s\):/);
    for (const tag of ['s1', 'i1', 's2', 'i2']) assert.match(run.out, new RegExp(`\\s${tag}\\s`), `${tag} listed as expired`);
    assert.match(run.out, /would delete 4 manifest\(s\) and 5 object\(s\) \(50 B\)/);
    assert.match(run.out, /would delete 1 orphaned object\(s\) \(7 B\) older than 24 h/);
    assert.match(run.out, /keep 1 unreferenced object\(s\) \(5 B\) younger than 24 h/);
    assert.match(run.out, /Nothing was deleted/);
  });

  it('--yes deletes expired manifests and the objects only they reference; shared objects survive', async () => {
    await fixture();
    const run = await purge({ keepLast: 1, yes: true });
    const left = await storedKeys();
    for (const tag of ['s1', 'i1', 's2', 'i2']) assert.ok(!left.has(manifestKey(NODE, tag)), `${tag} manifest deleted`);
    for (const tag of ['s3', 'i3']) assert.ok(left.has(manifestKey(NODE, tag)), `${tag} manifest kept`);
    for (const key of [...snapKeys('s1'), ...snapKeys('s2'), `${NODE}/ks/t-1/backups/nb-2-big-Data.db`]) assert.ok(!left.has(key), `${key} deleted`);
    for (const key of [...snapKeys('s3'), SHARED]) assert.ok(left.has(key), `${key} kept`);
    assert.ok(!left.has(`${NODE}/ks/t-1/snapshots/failed/nb-9-big-Data.db`), 'old orphan deleted');
    assert.ok(left.has(`${NODE}/ks/t-1/snapshots/running/nb-10-big-Data.db`), 'young orphan kept');
    assert.ok(left.has(`${NODE}/.cass-backup-run/markers/x`), 'catalog untouched');
    assert.ok(left.has('n10/ks/t-1/snapshots/s1/nb-1-big-Data.db'), 'other node untouched');
    assert.match(run.out, /deleted 4 manifest\(s\), 5 object\(s\) \(50 B\) and 1 orphaned object\(s\) \(7 B\)/);
  });

  it('--grace-hours 0 deletes every unreferenced object; a second purge finds nothing', async () => {
    await fixture();
    await purge({ keepLast: 1, yes: true, graceHours: 0 });
    assert.ok(!(await storedKeys()).has(`${NODE}/ks/t-1/snapshots/running/nb-10-big-Data.db`));
    const again = await purge({ keepLast: 1, yes: true, graceHours: 0 });
    assert.match(again.out, /expire no backup/);
    assert.match(again.out, /deleted 0 manifest\(s\), 0 object\(s\) \(0 B\) and 0 orphaned object\(s\)/);
  });

  it('--keep-days keeps young backups and the incrementals after the oldest kept snapshot', async () => {
    await fixture();
    await purge({ keepDays: 22, yes: true });
    const left = await storedKeys();
    for (const tag of ['s1', 'i1']) assert.ok(!left.has(manifestKey(NODE, tag)), `${tag} deleted`);
    for (const tag of ['s2', 'i2', 's3', 'i3']) assert.ok(left.has(manifestKey(NODE, tag)), `${tag} kept`);
    assert.ok(left.has(SHARED));
  });

  it('deletes the manifests before any object they reference', async () => {
    await fixture();
    const calls: string[][] = [];
    const recording: Backend = { ...backend, delete: async (keys, o) => { calls.push([...keys]); await backend.delete(keys, o); } };
    await purge({ keepLast: 1, yes: true }, { backend: recording });
    assert.ok(calls.length >= 2);
    assert.ok(calls[0]?.every((k) => k.startsWith(manifestsPrefix(NODE))), 'first call: manifests only');
    for (const call of calls.slice(1)) assert.ok(call.every((k) => !k.startsWith(manifestsPrefix(NODE))));
  });

  it('spares objects that a backup finished during the purge references', async () => {
    await fixture();
    let manifestListings = 0;
    const racing: Backend = {
      ...backend,
      list: (prefix, o) => {
        if (prefix === manifestsPrefix(NODE) && ++manifestListings === 2) {
          return (async function* () {
            await backup('late', 'snapshot', 0, [snapKeys('s2')[0] ?? '']); // reuses an object of expiring s2
            yield* backend.list(prefix, o);
          })();
        }
        return backend.list(prefix, o);
      },
    };
    const run = await purge({ keepLast: 1, yes: true }, { backend: racing });
    const left = await storedKeys();
    assert.ok(left.has(snapKeys('s2')[0] ?? ''), 'the object the late backup references survived');
    assert.ok(!left.has(snapKeys('s2')[1] ?? ''));
    assert.match(run.out, /1 object\(s\) spared/);
  });

  it("keeps unreferenced objects recorded by an unfinished run's journal", async () => {
    await fixture();
    const held = `${NODE}/ks/t-1/snapshots/failed/nb-9-big-Data.db`;
    mkdirSync(join(stateDir, 'journal', NODE), { recursive: true });
    writeFileSync(join(stateDir, 'journal', NODE, 'snapshot-failed.jsonl'), `${JSON.stringify({ key: held, size: 7, crc32c: 'x' })}\n{"torn`);
    const run = await purge({ keepLast: 1, yes: true, graceHours: 0 });
    assert.ok((await storedKeys()).has(held));
    assert.match(run.out, /recorded by an unfinished run/);
  });

  it('--json prints one document', async () => {
    await fixture();
    const run = await purge({ keepLast: 1 }, { json: true });
    const lines = run.out.trim().split('\n');
    assert.equal(lines.length, 1);
    const doc = JSON.parse(lines[0] ?? '') as {
      dryRun: boolean; policy: unknown; expired: { tag: string }[]; kept: { tag: string }[];
      objects: unknown; orphans: { keys: string[] }; recentOrphans: { count: number };
    };
    assert.equal(doc.dryRun, true);
    assert.deepEqual(doc.policy, { keepLast: 1, keepDays: null, graceHours: 24 });
    assert.deepEqual(doc.expired.map((e) => e.tag).sort(), ['i1', 'i2', 's1', 's2']);
    assert.deepEqual(doc.kept.map((e) => e.tag).sort(), ['i3', 's3']);
    assert.deepEqual(doc.objects, { count: 5, bytes: 50, absent: 0 });
    assert.deepEqual(doc.orphans.keys, [`${NODE}/ks/t-1/snapshots/failed/nb-9-big-Data.db`]);
    assert.equal(doc.recentOrphans.count, 1);
    assert.equal(run.events.length, 0, 'nothing else on stdout');
  });

  it('deletes no data object when a manifest is beyond reading (its objects are unknown), and says so with exit 4', async () => {
    await fixture();
    await backend.put(manifestKey(NODE, 'broken'), bytesSource(Buffer.from('{not json')));
    const before = await storedKeys();
    await assert.rejects(purge({ keepLast: 1, yes: true }), (err: unknown) =>
      err instanceof IncompleteError && /deleted no data object/.test(err.message) && /broken\.json/.test(err.message));
    const after = await storedKeys();
    for (const key of before) {
      // Expired manifests go, and their summary records with them.
      if (!/\/\.cass-backup-run\/(manifests|summaries)\//.test(key)) assert.ok(after.has(key), `${key} (data) survives`);
    }
    assert.ok(after.has(manifestKey(NODE, 'broken')), 'the damaged manifest is kept');
    assert.ok(!after.has(manifestKey(NODE, 's1')), 'expired manifests still expire');
  });

  it('a damaged manifest whose keys can be read is kept with its objects, and the other backups are purged', async () => {
    await fixture();
    const named = `${NODE}/ks/t-1/snapshots/s1/nb-1-big-Data.db`; // otherwise only the expired s1 references it
    await backend.put(manifestKey(NODE, 'future'), bytesSource(Buffer.from(JSON.stringify({ format: 99, kind: 'snapshot', files: [{ key: named }] }))));
    const run = await purge({ keepLast: 1, yes: true });
    const after = await storedKeys();
    assert.ok(after.has(named), 'the object the damaged manifest names survives');
    assert.ok(after.has(manifestKey(NODE, 'future')));
    assert.ok(!after.has(`${NODE}/ks/t-1/snapshots/s1/manifest.json`), 'the expired backups\' other objects are deleted');
    assert.ok(run.events.some((e) => e.type === 'warning' && /future\.json is damaged/.test(e.message)));
  });

  /** A lease another host's run wrote, last refreshed `ageHours` ago. */
  async function lease(id: string, kind: 'backup' | 'purge', ageHours: number): Promise<string> {
    const key = `${NODE}/.cass-backup-run/runs/${id}.json`;
    const at = new Date(NOW.getTime() - ageHours * HOUR).toISOString();
    await backend.put(key, bytesSource(Buffer.from(JSON.stringify({ format: 1, runId: id, nodeId: NODE, kind, command: kind === 'backup' ? 'snapshot' : 'purge',
      hostname: 'other-host', pid: 1, stateDir: '/elsewhere', toolVersion: 't', startedAt: at, heartbeatAt: at, heartbeatSeconds: 60 }))));
    utimesSync(join(destDir, key), new Date(at), new Date(at));
    return key;
  }

  it('while a backup of the node runs on another host, expires manifests but deletes no data object, and exits 75', async () => {
    await fixture();
    await lease('live', 'backup', 0);
    const before = await storedKeys();
    await assert.rejects(purge({ keepLast: 1, yes: true }), (err: unknown) =>
      err instanceof LockedError && /deferred deleting data while a backup is in progress \(snapshot run live on other-host/.test(err.message));
    const after = await storedKeys();
    for (const key of before) if (!/\/(manifests|summaries)\//.test(key)) assert.ok(after.has(key), `${key} survives`);
    assert.ok(!after.has(manifestKey(NODE, 's1')), 'the expired manifests are deleted');
  });

  it('a live backup elsewhere with nothing left to delete is no reason to defer; dead leases are removed', async () => {
    await fixture();
    await purge({ keepLast: 1, yes: true, graceHours: 0 });
    const live = await lease('live', 'backup', 0);
    const dead = await lease('dead', 'backup', 2);
    const run = await purge({ keepLast: 1, yes: true, graceHours: 0 });
    assert.match(run.out, /removed 1 dead run lease/);
    const after = await storedKeys();
    assert.ok(after.has(live) && !after.has(dead));
  });

  it('refuses to run without a retention rule or with a bad grace period', async () => {
    await assert.rejects(purge({ yes: true }), UsageError);
    await assert.rejects(purge({ keepLast: 1, graceHours: Number.NaN }), UsageError);
    await assert.rejects(purge({ keepLast: 1, graceHours: -1 }), UsageError);
  });
});
