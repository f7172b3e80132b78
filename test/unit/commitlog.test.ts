// Commit-log archiving logic of our own: segment names, coverage (gaps, restarts), staging (link, durability,
// re-archiving), the upload over a file:// destination through the built CLI (create-only, confirmation, unstaging),
// Cassandra's restore point format, and the newest-segment metric.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseSegmentName } from '../../src/commitlog/segment.ts';
import { coverageFor, coveredWindows } from '../../src/commitlog/coverage.ts';
import type { ArchivedSegment } from '../../src/commitlog/catalog.ts';
import { stageSegment } from '../../src/commitlog/stage.ts';
import { listStaged } from '../../src/commitlog/staging.ts';
import { cassandraRestorePoint, propertiesText, snapshotBefore } from '../../src/restore/point-in-time.ts';
import { updateSeries } from '../../src/output/prometheus.ts';
import { baseEnv, jsonEvents, runCli, tempDir } from '../support/run-cli.ts';
import { assertDocumentedLines } from '../support/json-schema.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const min = (n: number) => T0 + n * 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

function seg(id: number, archivedMs: number, startedMs?: number): ArchivedSegment {
  return { name: `CommitLog-7-${id}.log`, version: 7, id, key: `n/.cass-backup-run/commitlog/segments/CommitLog-7-${id}.log`, size: 10,
    crc32c: 'AAAAAA==', archivedAt: iso(archivedMs), ...(startedMs !== undefined ? { cassandraStartedAt: iso(startedMs) } : {}) };
}

describe('commit-log segment names', () => {
  it('parses CommitLog-<version>-<id>.log and nothing else', () => {
    assert.deepEqual(parseSegmentName('CommitLog-7-1796171623538.log'), { name: 'CommitLog-7-1796171623538.log', version: 7, id: 1796171623538 });
    for (const bad of ['CommitLog-7-1796171623538_cdc.idx', 'CommitLog-7-.log', 'commitlog-7-1.log', 'CommitLog-7-1.log.partial', '../CommitLog-7-1.log']) {
      assert.equal(parseSegmentName(bad), undefined, bad);
    }
  });
});

describe('coverage of a point in time', () => {
  // A run of Cassandra started at min(0) whose first segment id is that time (+2 s), segments archived each minute.
  const base = min(0) + 2000;
  const run1 = [seg(base, min(1), min(0)), seg(base + 1, min(2), min(0)), seg(base + 2, min(3), min(0)), seg(base + 3, min(4), min(0))];

  it('needs the segments archived from the snapshot to the first archived at or after TIME', () => {
    const c = coverageFor(run1, min(1) + 30_000, min(2) + 30_000);
    assert.ok(c.ok);
    assert.deepEqual(c.segments.map((s) => s.id), [base + 1, base + 2]);
  });

  it('the first segment of a run that began before the snapshot covers from its start', () => {
    const c = coverageFor(run1, min(0) + 10_000, min(0) + 20_000);
    assert.ok(c.ok);
    assert.deepEqual(c.segments.map((s) => s.id), [base]);
  });

  it('refuses a TIME after the newest archived segment, naming it', () => {
    const c = coverageFor(run1, min(1), min(5));
    assert.equal(c.ok, false);
    assert.match(!c.ok ? c.gap : '', new RegExp(`no segment archived at or after that time: the newest, CommitLog-7-${base + 3}\\.log`));
  });

  it('refuses when a segment in between was never stored', () => {
    const c = coverageFor([run1[0]!, run1[1]!, run1[3]!], min(0) + 10_000, min(4));
    assert.equal(c.ok, false);
    assert.match(!c.ok ? c.gap : '', /1 segment\(s\) with ids .* were never stored/);
  });

  it('accepts a restart (the next run\'s first segment), refuses a run whose segments were not archived', () => {
    const restartAt = min(10);
    const run2 = [seg(restartAt + 3000, min(12), restartAt), seg(restartAt + 3001, min(13), restartAt)];
    const ok = coverageFor([...run1, ...run2], min(1), min(12) + 1000);
    assert.ok(ok.ok);
    // A run between them without archive_command: its leftover segment is archived by the next run, at its start.
    const leftover = seg(min(6) + 2000 + 5, min(20) + 1000, min(20));
    const run3 = [seg(min(20) + 3000, min(22), min(20))];
    const gap = coverageFor([...run1, leftover, ...run3], min(1), min(22) - 1000);
    assert.equal(gap.ok, false);
    assert.match(!gap.ok ? gap.gap : '', /restarted, and its commit log in between was not archived/);
  });

  it('refuses when archiving is not known to have begun before the snapshot', () => {
    // No earlier segment, and no start time of the run that archived it (archive-commitlog run by hand).
    const unknownRun = coverageFor([seg(base + 5, min(3))], min(1), min(2));
    assert.equal(unknownRun.ok, false);
    assert.match(!unknownRun.ok ? unknownRun.gap : '', /archiving is not known to cover the time from the snapshot .* no segment archived before it/);
    // The run whose first segment this is started after the snapshot: the time between is not covered.
    const lateRun = coverageFor([seg(min(2) + 2000, min(3), min(2))], min(1), min(2) + 30_000);
    assert.equal(lateRun.ok, false);
  });

  it('windows: one per continuous history', () => {
    const w = coveredWindows([...run1, seg(base + 9, min(30), min(0))]);
    assert.equal(w.length, 2);
    assert.deepEqual(w[0], { from: iso(min(0)), to: iso(min(4)), segments: 4 });
  });
});

describe('restore settings', () => {
  it('restore_point_in_time in Cassandra\'s format, GMT, microseconds when the time has a fraction', () => {
    assert.equal(cassandraRestorePoint(Date.parse('2026-12-01T14:05:09Z')), '2026:12:01 14:05:09');
    assert.equal(cassandraRestorePoint(Date.parse('2026-12-01T14:05:09.120Z')), '2026:12:01 14:05:09.120000');
    const text = propertiesText('/r/.cass-backup-run/commitlog', Date.parse('2026-12-01T14:05:09Z'));
    assert.match(text, /^restore_command=\/bin\/cp -f %from %to$/m);
    assert.match(text, /^restore_directories=\/r\/\.cass-backup-run\/commitlog$/m);
    assert.match(text, /^precision=MICROSECONDS$/m);
  });

  it('latest with a TIME: the newest snapshot that started no later', () => {
    const m = (tag: string, kind: 'snapshot' | 'incremental', at: number) => ({ tag, kind, startedAt: iso(at) }) as never;
    assert.equal(snapshotBefore([m('a', 'snapshot', min(0)), m('b', 'snapshot', min(10)), m('i', 'incremental', min(5))], min(9))?.tag, 'a');
    assert.equal(snapshotBefore([m('b', 'snapshot', min(10))], min(9)), undefined);
  });
});

describe('metrics', () => {
  it('the newest archived segment\'s time is a gauge per node', async () => {
    const { recordNewestSegment } = await import('../../src/output/prometheus.ts');
    const file = join(tempDir('prom'), 'm.prom');
    await recordNewestSegment(file, 'db1', new Date(min(5)));
    await recordNewestSegment(file, 'db1', new Date(min(4))); // never moves back
    const text = readFileSync(file, 'utf8');
    assert.match(text, new RegExp(`^cass_backup_run_commitlog_newest_archived_timestamp_seconds\\{node="db1"\\} ${min(5) / 1000}$`, 'm'));
    assert.match(text, /^# TYPE cass_backup_run_commitlog_newest_archived_timestamp_seconds gauge$/m);
    assert.ok(updateSeries);
  });
});

describe('staging and uploading (file:// destination, built CLI)', () => {
  function segmentFile(dir: string, id: number, bytes = 4096): { path: string; name: string } {
    mkdirSync(dir, { recursive: true });
    const name = `CommitLog-7-${id}.log`;
    writeFileSync(join(dir, name), randomBytes(bytes));
    return { path: join(dir, name), name };
  }

  it('stages by hard link, durably, with its facts; archiving the same segment again is a no-op', async () => {
    const commitlog = tempDir('cl');
    const staging = join(tempDir('st'), 'staging');
    const s = segmentFile(commitlog, 1796171623538);
    assert.equal((await stageSegment(s.path, s.name, staging, { archivedAt: iso(min(1)) })).how, 'linked');
    assert.equal((await stageSegment(s.path, s.name, staging, { archivedAt: iso(min(2)) })).how, 'already staged');
    const listed = await listStaged(staging);
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.archivedAt, iso(min(1)), 'the first archive time stays');
    await assert.rejects(stageSegment(s.path, 'CommitLog-7-1.log', staging, { archivedAt: iso(min(1)) }), /is not named/);
  });

  it('archive-commitlog, then commitlogs: stored create-only, confirmed, named by a manifest, unstaged', async () => {
    const commitlog = tempDir('cl');
    const staging = join(tempDir('st'), 'staging');
    const dest = tempDir('dest');
    const env = baseEnv({ CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODE_ID: 'db1', CASS_BACKUP_STATE_DIR: tempDir('state') });
    for (const id of [1796171623538, 1796171623539]) {
      const s = segmentFile(commitlog, id);
      const r = await runCli(['archive-commitlog', '--commitlog-staging', staging, s.path, s.name], env);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout + r.stderr, '', 'silent on success');
    }
    const bad = await runCli(['archive-commitlog', '--commitlog-staging', staging, join(commitlog, 'CommitLog-7-9.log'), 'CommitLog-7-9.log'], env);
    assert.notEqual(bad.exitCode, 0);
    assert.match(bad.stderr, /^cass-backup-run: error: archive-commitlog CommitLog-7-9\.log: not staged in .*ENOENT/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);

    const dry = await runCli(['--dest', `file://${dest}`, '--commitlog-staging', staging, 'commitlogs', '--dry-run'], env);
    assert.equal(dry.exitCode, 0, dry.stderr);
    assert.match(dry.stderr + dry.stdout, /dry run: would upload 2 staged segment\(s\)/);
    assert.equal(readdirSync(staging).filter((n) => n.endsWith('.log')).length, 2, 'a dry run unstages nothing');
    const up = await runCli(['--dest', `file://${dest}`, '--commitlog-staging', staging, 'commitlogs', '--json'], env);
    assert.equal(up.exitCode, 0, up.stderr);
    assertDocumentedLines(up.stdout, 'commitlogs --json');
    const summary = jsonEvents(up.stdout).find((e) => e.type === 'summary')!;
    assert.equal(summary.files, 2);
    assert.deepEqual(readdirSync(staging), []);
    const manifests = readdirSync(join(dest, 'db1', '.cass-backup-run', 'commitlog', 'manifests'));
    assert.equal(manifests.length, 1);
    const doc = JSON.parse(readFileSync(join(dest, 'db1', '.cass-backup-run', 'commitlog', 'manifests', manifests[0]!), 'utf8')) as { segments: { name: string }[] };
    assert.deepEqual(doc.segments.map((s) => s.name), ['CommitLog-7-1796171623538.log', 'CommitLog-7-1796171623539.log']);

    // The same name staged again with other bytes: the stored object is never replaced; the segment stays staged, exit 4.
    const clash = segmentFile(tempDir('cl2'), 1796171623539);
    assert.equal((await runCli(['archive-commitlog', '--commitlog-staging', staging, clash.path, clash.name], env)).exitCode, 0);
    const again = await runCli(['--dest', `file://${dest}`, '--commitlog-staging', staging, 'commitlogs'], env);
    assert.equal(again.exitCode, 4, again.stderr);
    assert.match(again.stderr, /1 of 1 staged segments were not stored/);
    assert.ok(existsSync(join(staging, clash.name)));

    const listed = await runCli(['--dest', `file://${dest}`, 'list', '--pitr'], env);
    assert.equal(listed.exitCode, 0, listed.stderr);
    assert.match(listed.stdout, /^db1: 2 segments/m);
    const listedJson = await runCli(['--dest', `file://${dest}`, 'list', '--pitr', '--json'], env);
    const [doc2] = assertDocumentedLines(listedJson.stdout, 'list --pitr --json');
    assert.equal((doc2 as { nodes: { segments: number }[] }).nodes[0]!.segments, 2);
  });
});

describe('commit-log retention', () => {
  it('expires what is older than every kept snapshot\'s window, keeping the segment just before it and manifests still needed', async () => {
    const { planCommitLogExpiry } = await import('../../src/commitlog/retention.ts');
    const base = min(0) + 2000;
    const segs = [0, 1, 2, 3, 4].map((i) => seg(base + i, min(i + 1), min(0)));
    const catalog = { segments: segs, problems: [],
      manifests: [{ key: 'm1', segments: [segs[0]!.key, segs[1]!.key] }, { key: 'm2', segments: [segs[2]!.key, segs[3]!.key] }, { key: 'm3', segments: [segs[4]!.key] }] };
    // The oldest kept snapshot started at min(3) + 30 s: segment 3 (archived min(4)) is the first it needs, 2 the proof before it.
    const e = planCommitLogExpiry(catalog, min(3) + 30_000);
    assert.deepEqual(e.segmentKeys, [segs[0]!.key, segs[1]!.key]);
    assert.deepEqual(e.manifestKeys, ['m1']);
    assert.equal(e.oldestKept, segs[2]!.name);
    // A segment named by a manifest that stays is kept (m2 holds 2 and 3).
    const e2 = planCommitLogExpiry(catalog, min(4) + 30_000);
    assert.deepEqual(e2.segmentKeys, [segs[0]!.key, segs[1]!.key]);
    assert.deepEqual(planCommitLogExpiry(catalog, undefined).segmentKeys, [], 'no kept snapshot: nothing judged unneeded');
    assert.deepEqual(planCommitLogExpiry({ ...catalog, problems: ['m9: damaged'] }, min(4)).segmentKeys, [], 'a damaged manifest: nothing');
  });
});

describe('archive-commitlog --upload-within (the synchronous mode)', () => {
  it('stages, then uploads within the bound; a failing upload leaves the segment staged and still exits 0', async () => {
    const commitlog = tempDir('cl');
    const staging = join(tempDir('st'), 'staging');
    const dest = tempDir('dest');
    const env = baseEnv({ CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODE_ID: 'db1', CASS_BACKUP_STATE_DIR: tempDir('state') });
    mkdirSync(commitlog, { recursive: true });
    const name = 'CommitLog-7-1796171623540.log';
    writeFileSync(join(commitlog, name), randomBytes(2048));
    const now = await runCli(['--dest', `file://${dest}`, 'archive-commitlog', '--commitlog-staging', staging, '--upload-within', '30s', join(commitlog, name), name], env);
    assert.equal(now.exitCode, 0, now.stderr);
    assert.deepEqual(readdirSync(staging), []);
    assert.ok(existsSync(join(dest, 'db1', '.cass-backup-run', 'commitlog', 'segments', name)));

    const other = 'CommitLog-7-1796171623541.log';
    writeFileSync(join(commitlog, other), randomBytes(2048));
    const bad = await runCli(['--dest', 'nowhere://x', 'archive-commitlog', '--commitlog-staging', staging, '--upload-within', '5s', join(commitlog, other), other], env);
    assert.equal(bad.exitCode, 0, bad.stderr);
    assert.match(bad.stderr, /^cass-backup-run: warning: archive-commitlog: staged in .*, not uploaded now \(.*\); commitlogs will upload it$/m);
    assert.ok(existsSync(join(staging, other)));
  });
});

describe('purge with archived commit logs (local destination)', () => {
  it('deletes the segments older than the kept snapshot\'s window and their manifests; coverage of the kept one stays', async () => {
    const { harness, addBackup, snapshotPath } = await import('./catalog-fixture.ts');
    const { commitLogsCommand } = await import('../../src/commands/commitlogs.ts');
    const { purgeCommand } = await import('../../src/commands/purge.ts');
    const { readCommitLogCatalog } = await import('../../src/commitlog/catalog.ts');
    const h = await harness();
    const day = (d: number, h0 = 3) => Date.parse(`2026-11-${String(d).padStart(2, '0')}T${String(h0).padStart(2, '0')}:00:00Z`);
    for (const [tag, d] of [['s20', 20], ['s25', 25]] as const) {
      await addBackup(h.backend, { nodeId: 'node-a', tag, kind: 'snapshot', startedAt: iso(day(d)),
        files: [{ path: snapshotPath('users', tag, 'nb-1-big-Data.db'), content: `data ${tag}` }] });
    }
    const started = day(19);
    const base = started + 2000;
    const commitlog = tempDir('cl');
    const staging = join(tempDir('st'), 'staging');
    // One segment archived at 04:00 on each day from the 20th to the 26th, all of one run of Cassandra.
    for (let i = 0; i < 7; i++) {
      const s = segmentFileAt(commitlog, base + i);
      await stageSegment(s.path, s.name, staging, { archivedAt: iso(day(20 + i, 4)), cassandraStartedAt: iso(started) });
      if (i === 2) await commitLogsCommand({ stagingDir: staging, maxRate: undefined }, h.ctx); // a first manifest: days 20-22
    }
    await commitLogsCommand({ stagingDir: staging, maxRate: undefined }, h.ctx);
    assert.equal((await readCommitLogCatalog(h.backend, 'node-a')).manifests.length, 2);
    await purgeCommand({ keepLast: 1, keepDays: undefined, yes: true, graceHours: 24 }, h.ctx);
    const after = await readCommitLogCatalog(h.backend, 'node-a');
    // s25 is kept: it needs the 25th's segment onwards, and the 24th's as the proof before it. The first manifest
    // (20-22) goes with its segments; the 23rd's is named by the second manifest, which stays.
    assert.deepEqual(after.manifests.length, 1);
    const stored = readdirSync(join(h.root, 'node-a', '.cass-backup-run', 'commitlog', 'segments')).sort();
    assert.deepEqual(stored, [3, 4, 5, 6].map((i) => `CommitLog-7-${base + i}.log`));
    const c = coverageFor(after.segments, day(25), day(26, 3));
    assert.ok(c.ok, !c.ok ? c.gap : '');
  });
});

function segmentFileAt(dir: string, id: number): { path: string; name: string } {
  mkdirSync(dir, { recursive: true });
  const name = `CommitLog-7-${id}.log`;
  writeFileSync(join(dir, name), randomBytes(512));
  return { path: join(dir, name), name };
}
