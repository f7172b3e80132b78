// `restore` over a local destination: Cassandra layout, --until selection, --table, checksums, the directory
// rules (empty unless --force) and the refusals of anything that could write outside DIR.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { restoreCommand, type RestoreInput } from '../../src/commands/restore.ts';
import { IncompleteError, UnsafePathError, UsageError } from '../../src/errors.ts';
import { incrementalsInWindow, placeEntry, planRestore } from '../../src/restore/plan.ts';
import { parseUntil } from '../../src/restore/until.ts';
import type { Manifest, ManifestFile } from '../../src/catalog/manifest.ts';
import {
  addBackup, backupPath, harness, putRawManifest, snapshotPath, tempDir, ID_EVENTS, ID_USERS, type Harness,
} from './catalog-fixture.ts';

const TAG = 'snap-1';
const SNAP_START = '2026-11-20T03:15:00.000Z';
const T0 = Date.parse(SNAP_START);
const USERS = `ks/users-${ID_USERS}`;
const EVENTS = `ks/events-${ID_EVENTS}`;

/** A snapshot of two tables (one with an index), and two incremental runs around it. */
async function scenario(h: Harness): Promise<void> {
  await addBackup(h.backend, { nodeId: 'node-a', tag: 'incr-0', kind: 'incremental', startedAt: '2026-11-20T02:00:00.000Z',
    files: [{ path: backupPath('users', 'nb-1-big-Data.db'), content: 'users gen 1', mtimeMs: T0 - 3_600_000 }] });
  await addBackup(h.backend, { nodeId: 'node-a', tag: TAG, kind: 'snapshot', startedAt: SNAP_START, files: [
    { path: snapshotPath('users', TAG, 'nb-1-big-Data.db'), content: 'users gen 1' },
    { path: snapshotPath('users', TAG, 'nb-1-big-TOC.txt'), content: 'Data.db\nTOC.txt\n' },
    { path: snapshotPath('users', TAG, 'manifest.json'), content: '{"files":["nb-1-big-Data.db"]}' },
    { path: snapshotPath('users', TAG, 'schema.cql'), content: 'CREATE TABLE ks.users (id int PRIMARY KEY);' },
    { path: snapshotPath('events', TAG, 'nb-1-big-Data.db'), content: 'events gen 1' },
    { path: snapshotPath('events', TAG, '.events_kind_idx/nb-1-big-Data.db'), content: 'index gen 1' },
    { path: snapshotPath('events', TAG, 'schema.cql'), content: 'CREATE TABLE ks.events (id int PRIMARY KEY);' },
  ] });
  await addBackup(h.backend, { nodeId: 'node-a', tag: 'incr-1', kind: 'incremental', startedAt: '2026-11-20T05:00:00.000Z', files: [
    { path: backupPath('users', 'nb-1-big-Data.db'), content: 'users gen 1', mtimeMs: T0 - 3_600_000 }, // before: in the snapshot
    { path: backupPath('users', 'nb-2-big-Data.db'), content: 'users gen 2', mtimeMs: T0 + 3_600_000 }, // 04:15
    { path: backupPath('events', '.events_kind_idx/nb-2-big-Data.db'), content: 'index gen 2', mtimeMs: T0 + 3_600_000 },
  ] });
  await addBackup(h.backend, { nodeId: 'node-a', tag: 'incr-2', kind: 'incremental', startedAt: '2026-11-20T09:00:00.000Z', files: [
    { path: backupPath('users', 'nb-2-big-Data.db'), content: 'users gen 2', mtimeMs: T0 + 3_600_000 }, // listed again
    { path: backupPath('users', 'nb-3-big-Data.db'), content: 'users gen 3', mtimeMs: T0 + 5 * 3_600_000 }, // 08:15
  ] });
}

function input(to: string, extra: Partial<RestoreInput> = {}): RestoreInput {
  return { backup: TAG, to, tables: [], until: undefined, force: false, ...extra };
}

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  }
  return out.sort();
}

describe('restore: where files go', () => {
  const file = (path: string): ManifestFile => ({ path, dataDir: 0, size: 1, mtimeMs: 0, ino: 1, key: `n/${path}`, crc32c: 'x' });
  const snap = { kind: 'snapshot' as const, tag: 't' };
  const incr = { kind: 'incremental' as const, tag: 'i' };

  it('snapshot files lose snapshots/<tag>/, backups files lose backups/, index directories are kept', () => {
    assert.equal(placeEntry(snap, file(`${USERS}/snapshots/t/nb-1-big-Data.db`))?.target, `${USERS}/nb-1-big-Data.db`);
    assert.equal(placeEntry(snap, file(`${EVENTS}/snapshots/t/.events_kind_idx/nb-1-big-Data.db`))?.target,
      `${EVENTS}/.events_kind_idx/nb-1-big-Data.db`);
    assert.equal(placeEntry(incr, file(`${USERS}/backups/oa-3gxy_1abc_2s0d22ak6gnqvq0ih4-bti-Partitions.db`))?.target,
      `${USERS}/oa-3gxy_1abc_2s0d22ak6gnqvq0ih4-bti-Partitions.db`);
    assert.equal(placeEntry(incr, file(`${EVENTS}/backups/.events_kind_idx/nb-2-big-Data.db`))?.target,
      `${EVENTS}/.events_kind_idx/nb-2-big-Data.db`);
  });

  it("Cassandra's manifest.json and schema.cql go aside, out of the table directory", () => {
    const item = placeEntry(snap, file(`${USERS}/snapshots/t/schema.cql`));
    assert.equal(item?.target, `.cass-backup-run/tables/${USERS}/schema.cql`);
    assert.equal(item?.data, false);
    assert.equal(placeEntry(snap, file(`${USERS}/snapshots/t/manifest.json`))?.target, `.cass-backup-run/tables/${USERS}/manifest.json`);
  });

  it('entries outside the area of their manifest kind have no place', () => {
    assert.equal(placeEntry(snap, file(`${USERS}/backups/nb-1-big-Data.db`)), undefined);
    assert.equal(placeEntry(incr, file(`${USERS}/snapshots/t/nb-1-big-Data.db`)), undefined);
    assert.equal(placeEntry(snap, file(`${USERS}/nb-1-big-Data.db`)), undefined);
    assert.equal(placeEntry(snap, file('not-a-table/x')), undefined);
  });
});

describe('restore: --until selection (by the incremental backup that stored a file, not by its mtime)', () => {
  const HOUR = 3_600_000;
  /** A manifest from `start` to `end` (hours after the snapshot started); files as [path, mtimeMs, crc32c]. */
  const m = (kind: Manifest['kind'], tag: string, start: number, end: number, files: [string, number, string][]): Manifest => ({
    format: 1, tool: { name: 'cass-backup-run', version: '0' }, nodeId: 'n', kind, tag, layout: 'seed',
    startedAt: new Date(T0 + start * HOUR).toISOString(), finishedAt: new Date(T0 + end * HOUR).toISOString(),
    cloud: { cloud: 'none' }, hostname: 'h', cassandra: {}, dataDirs: ['/d'],
    files: files.map(([path, mtimeMs, crc32c]) => ({ path, dataDir: 0, size: 1, mtimeMs, ino: 1, key: `n/${path}`, crc32c })),
    totals: { files: files.length, bytes: files.length, uploadedBytes: 0 },
  });
  const UNTIL = T0 + 1 * HOUR; // 04:15
  const snapshot = m('snapshot', 's', 0, 0.1, [[`${USERS}/snapshots/s/nb-1-big-Data.db`, T0 - 10, 'A']]);
  const incrementals = [
    // Finished before the snapshot started: all it holds is in the snapshot.
    m('incremental', 'before', -2, -1.5, [[`${USERS}/backups/nb-0-big-Data.db`, T0 - 2 * HOUR, 'Z']]),
    // Started before the snapshot, finished after it: it may hold files flushed after the snapshot.
    m('incremental', 'across-snapshot', -0.25, 0.25, [[`${USERS}/backups/nb-2-big-Data.db`, T0 + 60_000, 'B']]),
    // Started before --until, finished after it.
    m('incremental', 'across-until', 0.75, 1.25, [
      [`${USERS}/backups/nb-2-big-Data.db`, T0 + 60_000, 'B'], // the same file again: fetched once
      [`${EVENTS}/backups/nb-2-big-Data.db`, T0 - 24 * HOUR, 'E'], // mtime a day before the snapshot (cp -p, nodetool import)
    ]),
    // Started after --until, though it holds a file whose mtime is before it.
    m('incremental', 'after-until', 1.5, 1.6, [[`${USERS}/backups/nb-3-big-Data.db`, T0 + 1000, 'C']]),
  ];
  const targets = (p: ReturnType<typeof planRestore>): string[] => p.items.map((i) => i.target).sort();

  it('takes the manifests that finished after the snapshot started and started by --until, whatever the file mtimes', () => {
    assert.deepEqual(incrementalsInWindow(snapshot, incrementals, UNTIL).map((i) => i.tag), ['across-snapshot', 'across-until']);
    const plan = planRestore({ snapshot, incrementals, filters: [], untilMs: UNTIL });
    assert.deepEqual(targets(plan), [`${EVENTS}/nb-2-big-Data.db`, `${USERS}/nb-1-big-Data.db`, `${USERS}/nb-2-big-Data.db`]);
    assert.deepEqual(plan.incrementals, ['across-snapshot', 'across-until']);
    assert.deepEqual(plan.conflicts, []);
  });

  it('a file listed by two manifests is planned once, from the older', () => {
    const plan = planRestore({ snapshot, incrementals, filters: [], untilMs: UNTIL });
    const nb2 = plan.items.filter((i) => i.target === `${USERS}/nb-2-big-Data.db`);
    assert.equal(nb2.length, 1);
    assert.equal(nb2[0]?.from.tag, 'across-snapshot');
    assert.equal(plan.duplicates, 1);
  });

  it('the bounds: finishing exactly when the snapshot started is out, starting exactly at --until is in', () => {
    const edge = [m('incremental', 'ends-at-start', -1, 0, []), m('incremental', 'starts-at-until', 1, 2, [])];
    assert.deepEqual(incrementalsInWindow(snapshot, edge, UNTIL).map((i) => i.tag), ['starts-at-until']);
  });

  it('without --until, only the snapshot; with a later --until, every incremental after it', () => {
    assert.deepEqual(targets(planRestore({ snapshot, incrementals, filters: [], untilMs: undefined })), [`${USERS}/nb-1-big-Data.db`]);
    const later = planRestore({ snapshot, incrementals, filters: [], untilMs: T0 + 2 * HOUR });
    assert.deepEqual(targets(later), [`${EVENTS}/nb-2-big-Data.db`, `${USERS}/nb-1-big-Data.db`, `${USERS}/nb-2-big-Data.db`, `${USERS}/nb-3-big-Data.db`]);
  });

  it('--table filters the incremental files too', () => {
    const plan = planRestore({ snapshot, incrementals, filters: [{ keyspace: 'ks', table: 'events' }], untilMs: UNTIL });
    assert.deepEqual(targets(plan), [`${EVENTS}/nb-2-big-Data.db`]);
  });

  it('the same name with different bytes is a conflict', () => {
    const clash = m('incremental', 'clash', 0.5, 0.6, [[`${USERS}/backups/nb-2-big-Data.db`, T0 + 2000, 'DIFFERENT']]);
    const plan = planRestore({ snapshot, incrementals: [...incrementals, clash], filters: [], untilMs: UNTIL });
    assert.equal(plan.conflicts.length, 1);
    assert.match(plan.conflicts[0] ?? '', /nb-2-big-Data\.db: incremental across-snapshot has 1 bytes, crc32c B .*; incremental clash has 1 bytes, crc32c DIFFERENT/);
  });

  it('an SSTable component rewritten in place since its flush (Statistics.db): the snapshot\'s version, not a conflict', () => {
    const snap = m('snapshot', 's', 0, 0.1, [
      [`${USERS}/snapshots/s/nb-1-big-Data.db`, T0 - 10, 'A'], [`${USERS}/snapshots/s/nb-1-big-Statistics.db`, T0 - 5, 'STATS-NEW'],
    ]);
    const old = m('incremental', 'kept-old-link', 0.5, 0.6, [
      [`${USERS}/backups/nb-1-big-Data.db`, T0 - 3000, 'A'], [`${USERS}/backups/nb-1-big-Statistics.db`, T0 - 3000, 'STATS-OLD'],
    ]);
    const plan = planRestore({ snapshot: snap, incrementals: [old], filters: [], untilMs: UNTIL });
    assert.deepEqual(plan.conflicts, []);
    assert.equal(plan.superseded, 1);
    assert.equal(plan.items.find((i) => i.target === `${USERS}/nb-1-big-Statistics.db`)?.file.crc32c, 'STATS-NEW');
    // The same component name over another SSTable's bytes (its Data.db differs) is still a conflict.
    const other = m('incremental', 'other-sstable', 0.5, 0.6, [
      [`${USERS}/backups/nb-1-big-Data.db`, T0 + 3000, 'OTHER'], [`${USERS}/backups/nb-1-big-Statistics.db`, T0 + 3000, 'STATS-X'],
    ]);
    assert.equal(planRestore({ snapshot: snap, incrementals: [other], filters: [], untilMs: UNTIL }).conflicts.length, 2);
  });

  it('an incremental manifest whose times cannot be read is an error, not left out', () => {
    const broken = { ...m('incremental', 'broken', 0.5, 0.6, []), finishedAt: 'soon' };
    assert.throws(() => planRestore({ snapshot, incrementals: [broken], filters: [], untilMs: UNTIL }),
      (err: unknown) => err instanceof UsageError && /broken .*finishedAt/.test(err.message));
  });

  it('parseUntil: ISO 8601 with or without zone (UTC), or now', () => {
    const now = new Date('2026-11-26T12:00:00Z');
    assert.equal(parseUntil('now', now), now.getTime());
    assert.equal(parseUntil('2026-11-20T04:15:00Z', now), Date.parse('2026-11-20T04:15:00Z'));
    assert.equal(parseUntil('2026-11-20T04:15:00.5+01:00', now), Date.parse('2026-11-20T03:15:00.5Z'));
    assert.equal(parseUntil('2026-11-20 04:15', now), Date.parse('2026-11-20T04:15:00Z'));
    assert.equal(parseUntil('2026-11-20', now), Date.parse('2026-11-20T00:00:00Z'));
    assert.throws(() => parseUntil('yesterday', now), UsageError);
    assert.throws(() => parseUntil('2026-13-45T00:00:00Z', now), UsageError);
  });
});

describe('restore command', () => {
  it('writes the snapshot in Cassandra layout, schema aside, and prints nodetool import per table', async () => {
    const h = await harness();
    await scenario(h);
    const dir = join(await tempDir('restore'), 'target'); // created when missing
    await restoreCommand(input(dir), h.ctx);
    assert.deepEqual(await tree(dir), [
      `.cass-backup-run/tables/${EVENTS}/schema.cql`,
      `.cass-backup-run/tables/${USERS}/manifest.json`,
      `.cass-backup-run/tables/${USERS}/schema.cql`,
      `${EVENTS}/.events_kind_idx/nb-1-big-Data.db`,
      `${EVENTS}/nb-1-big-Data.db`,
      `${USERS}/nb-1-big-Data.db`,
      `${USERS}/nb-1-big-TOC.txt`,
    ]);
    assert.equal(await readFile(join(dir, USERS, 'nb-1-big-Data.db'), 'utf8'), 'users gen 1');
    const out = h.stdout();
    assert.ok(out.includes(`nodetool import ks users ${dir}/${USERS}\n`), out);
    assert.ok(out.includes(`nodetool import ks events ${dir}/${EVENTS}\n`), out);
    assert.ok(out.includes(`sstableloader -d <host> ${dir}/${USERS}`), out);
    assert.ok(out.includes(`${dir}/.cass-backup-run/tables/${USERS}/schema.cql`), out);
    assert.ok(!(await tree(dir)).some((f) => f.includes('.cbr-restore-')), 'no temp files left');
  });

  it('--until now adds the later incremental files; --json gives the result document', async () => {
    const h = await harness({ json: true });
    await scenario(h);
    const dir = await tempDir('restore');
    await restoreCommand(input(dir, { until: 'now' }), h.ctx);
    const files = await tree(dir);
    for (const f of [`${USERS}/nb-2-big-Data.db`, `${USERS}/nb-3-big-Data.db`, `${EVENTS}/.events_kind_idx/nb-2-big-Data.db`]) {
      assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    }
    assert.equal(await readFile(join(dir, USERS, 'nb-3-big-Data.db'), 'utf8'), 'users gen 3');
    const doc = JSON.parse(h.stdout()) as { ok: boolean; files: number; incrementalFiles: number; tables: { table: string; import: string; files: number }[] };
    assert.equal(doc.ok, true);
    assert.equal(doc.incrementalFiles, 3);
    assert.deepEqual(doc.tables.map((t) => [t.table, t.files]), [['events', 3], ['users', 4]]);
    assert.equal(doc.tables[1]?.import, `nodetool import ks users ${dir}/${USERS}`);
  });

  it('--until before the later runs takes only what was written by then', async () => {
    const h = await harness();
    await scenario(h);
    const dir = await tempDir('restore');
    await restoreCommand(input(dir, { until: '2026-11-20T05:00:00Z', tables: ['ks.users'] }), h.ctx);
    assert.deepEqual((await tree(dir)).filter((f) => !f.startsWith('.')), [
      `${USERS}/nb-1-big-Data.db`, `${USERS}/nb-1-big-TOC.txt`, `${USERS}/nb-2-big-Data.db`,
    ]);
  });

  it('restores another node with --node-id (the context node), and refuses an incremental tag alone', async () => {
    const h = await harness();
    await scenario(h);
    const other = await harness({ nodeId: 'node-b' }, h.root);
    await assert.rejects(restoreCommand(input(await tempDir('restore')), other.ctx), /no backup "snap-1" for node node-b/);
    await assert.rejects(restoreCommand(input(await tempDir('restore'), { backup: 'incr-1' }), h.ctx),
      (err: unknown) => err instanceof UsageError && /incremental backup/.test(err.message));
    await assert.rejects(restoreCommand(input(await tempDir('restore'), { tables: ['other_ks'] }), h.ctx),
      (err: unknown) => err instanceof UsageError && /no table data matching --table other_ks/.test(err.message));
  });

  it('refuses a non-empty directory unless --force; --force keeps files already right and fetches the rest', async () => {
    const h = await harness();
    await scenario(h);
    const dir = await tempDir('restore');
    await writeFile(join(dir, 'something'), 'x');
    await assert.rejects(restoreCommand(input(dir), h.ctx), (err: unknown) => err instanceof UsageError && /not empty.*--force/.test(err.message));
    assert.deepEqual(await readdir(dir), ['something']);
    await mkdir(join(dir, USERS), { recursive: true });
    await writeFile(join(dir, USERS, 'nb-1-big-Data.db'), 'users gen 1'); // right already
    await writeFile(join(dir, USERS, 'nb-1-big-TOC.txt'), 'stale'); // wrong: replaced
    await restoreCommand(input(dir, { force: true }), h.ctx);
    assert.equal(await readFile(join(dir, USERS, 'nb-1-big-TOC.txt'), 'utf8'), 'Data.db\nTOC.txt\n');
    assert.match(h.stdout(), /\(0 from incremental backups; 1 already present\)/);
  });

  it('a corrupted object fails the restore (exit 4) and leaves no file under its name', async () => {
    const h = await harness();
    await scenario(h);
    await writeFile(join(h.root, 'node-a', snapshotPath('events', TAG, 'nb-1-big-Data.db')), 'events gen X'); // same size
    const dir = await tempDir('restore');
    await assert.rejects(restoreCommand(input(dir), h.ctx), (err: unknown) =>
      err instanceof IncompleteError && err.failures.length === 1 && /events-.*nb-1-big-Data\.db: .*recorded crc32c/.test(err.failures[0] ?? ''));
    const files = await tree(dir);
    assert.ok(!files.includes(`${EVENTS}/nb-1-big-Data.db`));
    assert.ok(files.includes(`${USERS}/nb-1-big-Data.db`), 'the other files are restored');
    assert.ok(!files.some((f) => f.includes('.cbr-restore-')), 'no temp files left');
  });
});

describe('restore --dry-run: the plan, and nothing written', () => {
  interface DryRunDoc {
    dryRun: boolean; ok: boolean; dir: string; files: number; bytes: number; incrementalFiles: number; incrementalBackups: string[];
    target: { exists: boolean; empty: boolean; forceNeeded: boolean; forceGiven: boolean; filesPresent: number };
    plan: { key: string; size: number; target: string; from: string; kind: string }[];
    tables: { table: string; import: string }[]; nextSteps: string;
  }

  it('a missing DIR is not created; every file is listed with key, size and target, then totals and next steps', async () => {
    const h = await harness({ dryRun: true });
    await scenario(h);
    const parent = await tempDir('restore');
    const dir = join(parent, 'target');
    await restoreCommand(input(dir, { until: 'now' }), h.ctx);
    assert.deepEqual(await readdir(parent), [], 'DIR not created');
    const out = h.stdout();
    assert.match(out, /^dry run: restore snap-1 of node node-a .*nothing was written/);
    assert.ok(out.includes(`target ${dir}: does not exist; the restore would create it`), out);
    for (const [key, size, target] of [
      [`node-a/${snapshotPath('users', TAG, 'nb-1-big-Data.db')}`, '11 B', `${dir}/${USERS}/nb-1-big-Data.db`],
      [`node-a/${backupPath('users', 'nb-3-big-Data.db')}`, '11 B', `${dir}/${USERS}/nb-3-big-Data.db`],
      [`node-a/${snapshotPath('users', TAG, 'schema.cql')}`, '43 B', `${dir}/.cass-backup-run/tables/${USERS}/schema.cql`],
    ]) {
      assert.ok(out.includes(`  ${key}  ${size}  → ${target}\n`), `${key} in:\n${out}`);
    }
    assert.match(out, /\ntotals: 10 files, .* \(3 from incremental backups incr-1, incr-2\)\n/);
    assert.ok(out.includes(`nodetool import ks users ${dir}/${USERS}\n`), out);
    assert.ok(out.includes('To restore, run the same command without --dry-run.'), out);
  });

  it('--json: one document with dryRun, the target, and every file a restore would write', async () => {
    const h = await harness({ dryRun: true, json: true });
    await scenario(h);
    const dir = join(await tempDir('restore'), 'target');
    await restoreCommand(input(dir, { until: 'now' }), h.ctx);
    const doc = JSON.parse(h.stdout()) as DryRunDoc;
    assert.equal(doc.dryRun, true);
    assert.equal(doc.ok, true);
    assert.equal(doc.dir, dir);
    assert.deepEqual(doc.target, { exists: false, empty: true, forceNeeded: false, forceGiven: false, filesPresent: 0 });
    assert.deepEqual(doc.incrementalBackups, ['incr-1', 'incr-2']);
    assert.equal(doc.files, doc.plan.length);
    assert.equal(doc.bytes, doc.plan.reduce((n, p) => n + p.size, 0));
    assert.equal(doc.incrementalFiles, doc.plan.filter((p) => p.kind === 'incremental').length);
    assert.ok(doc.nextSteps.includes(`nodetool import ks events ${dir}/${EVENTS}`));
    assert.equal(existsSync(dir), false);
    // The plan is exactly what a real restore then writes.
    const real = await harness({}, h.root);
    await restoreCommand(input(dir, { until: 'now' }), real.ctx);
    assert.deepEqual(doc.plan.map((p) => p.target.slice(dir.length + 1)).sort(), await tree(dir));
  });

  it('an existing non-empty DIR is reported (and that --force is needed), not touched; exit 0', async () => {
    const h = await harness({ dryRun: true });
    await scenario(h);
    const dir = await tempDir('restore');
    await mkdir(join(dir, USERS), { recursive: true });
    await writeFile(join(dir, USERS, 'nb-1-big-Data.db'), 'stale');
    await restoreCommand(input(dir), h.ctx);
    assert.match(h.stdout(), /exists and is not empty \(1 of the planned files are there already\); the restore would refuse it without --force/);
    assert.match(h.stdout(), /without --dry-run, into an empty directory or with --force/);
    assert.deepEqual(await tree(dir), [`${USERS}/nb-1-big-Data.db`]);
    assert.equal(await readFile(join(dir, USERS, 'nb-1-big-Data.db'), 'utf8'), 'stale');

    const forced = await harness({ dryRun: true, json: true }, h.root);
    await restoreCommand(input(dir, { force: true }), forced.ctx);
    const doc = JSON.parse(forced.stdout()) as DryRunDoc;
    assert.deepEqual(doc.target, { exists: true, empty: false, forceNeeded: true, forceGiven: true, filesPresent: 1 });
    assert.deepEqual(await tree(dir), [`${USERS}/nb-1-big-Data.db`]);
  });

  it('refuses what a restore would refuse: DIR a file, a symlink on a target path', async () => {
    const h = await harness({ dryRun: true });
    await scenario(h);
    const file = join(await tempDir('restore'), 'file');
    await writeFile(file, 'x');
    await assert.rejects(restoreCommand(input(file), h.ctx), (err: unknown) => err instanceof UsageError && /exists and is not a directory/.test(err.message));
    const dir = await tempDir('restore');
    await mkdir(join(dir, 'ks'));
    await symlink(await tempDir('outside'), join(dir, 'ks', `users-${ID_USERS}`));
    await assert.rejects(restoreCommand(input(dir, { force: true }), h.ctx), UnsafePathError);
    assert.equal(h.stdout(), '');
  });
});

describe('restore refuses to write outside DIR', () => {
  async function hostile(h: Harness, file: Record<string, unknown>): Promise<void> {
    await putRawManifest(h.backend, 'node-a', 'evil', {
      format: 1, tool: { name: 'cass-backup-run', version: '0' }, nodeId: 'node-a', kind: 'snapshot', tag: 'evil', layout: 'seed',
      startedAt: SNAP_START, finishedAt: SNAP_START, cloud: { cloud: 'none' }, hostname: 'h', cassandra: {}, dataDirs: ['/d'],
      files: [
        { path: snapshotPath('users', 'evil', 'nb-1-big-Data.db'), dataDir: 0, size: 1, mtimeMs: 0, ino: 1,
          key: `node-a/${snapshotPath('users', 'evil', 'nb-1-big-Data.db')}`, crc32c: 'AAAAAA==' },
        { dataDir: 0, size: 1, mtimeMs: 0, ino: 1, crc32c: 'AAAAAA==', ...file },
      ],
      totals: { files: 2, bytes: 2, uploadedBytes: 2 },
    });
  }

  async function refused(h: Harness): Promise<void> {
    const parent = await tempDir('restore');
    const dir = join(parent, 'target');
    await assert.rejects(restoreCommand(input(dir, { backup: 'evil' }), h.ctx), UnsafePathError);
    assert.deepEqual(await readdir(parent), [], 'nothing written, not even DIR');
  }

  const evilPath = `${USERS}/snapshots/evil/../../../../escaped.db`;
  for (const [name, file] of [
    ['a path with ../', { path: evilPath, key: 'node-a/x' }],
    ['an absolute path', { path: '/tmp/cbr-escaped-absolute.db', key: 'node-a/x' }],
    ['a key with ../', { path: snapshotPath('users', 'evil', 'nb-2-big-Data.db'), key: 'node-a/../../outside' }],
    ['an absolute key', { path: snapshotPath('users', 'evil', 'nb-2-big-Data.db'), key: '/etc/passwd' }],
  ] as const) {
    it(`a crafted manifest with ${name}: UnsafePathError, nothing written`, async () => {
      const h = await harness();
      await hostile(h, file);
      await refused(h);
      assert.ok(!existsSync('/tmp/cbr-escaped-absolute.db'));
    });
  }

  it('a symlink already inside DIR on a target path: refused with --force, nothing written through it', async () => {
    const h = await harness();
    await scenario(h);
    const dir = await tempDir('restore');
    const outside = await tempDir('outside');
    await mkdir(join(dir, 'ks'));
    await symlink(outside, join(dir, 'ks', `users-${ID_USERS}`));
    await assert.rejects(restoreCommand(input(dir, { force: true }), h.ctx),
      (err: unknown) => err instanceof UnsafePathError && /symlink/.test(err.message));
    assert.deepEqual(await readdir(outside), []);
    assert.deepEqual(await readdir(join(dir, 'ks')), [`users-${ID_USERS}`], 'nothing else written either');
  });

  it('a symlink in place of a file is refused too', async () => {
    const h = await harness();
    await scenario(h);
    const dir = await tempDir('restore');
    const outside = join(await tempDir('outside'), 'victim');
    await writeFile(outside, 'keep me');
    await mkdir(join(dir, USERS), { recursive: true });
    await symlink(outside, join(dir, USERS, 'nb-1-big-Data.db'));
    await assert.rejects(restoreCommand(input(dir, { force: true }), h.ctx), UnsafePathError);
    assert.equal(await readFile(outside, 'utf8'), 'keep me');
  });
});
