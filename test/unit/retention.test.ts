// Retention rules of `purge`, table-driven over fake manifests and a fixed clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors.ts';
import {
  assertDeletable, assertManifestsDeletable, planGarbage, selectRetention,
  type BackupEntry, type KeepReason, type RetentionPolicy,
} from '../../src/catalog/retention.ts';
import type { ObjectInfo } from '../../src/storage/backend.ts';

const NOW = new Date('2025-06-30T12:00:00Z');
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const ago = (ms: number): string => new Date(NOW.getTime() - ms).toISOString();

/** A backup that started `days` ago and ran for `hours`. */
function backup(tag: string, kind: string, days: number, hours = 1, keys: string[] = []): BackupEntry {
  return {
    key: `n1/.cass-backup-run/manifests/${tag}.json`, tag, kind,
    startedAt: ago(days * DAY), finishedAt: ago(days * DAY - hours * HOUR), files: keys.map((key) => ({ key })),
  };
}
const snap = (tag: string, days: number, hours?: number) => backup(tag, 'snapshot', days, hours);
const incr = (tag: string, days: number, hours?: number) => backup(tag, 'incremental', days, hours);

interface Case {
  readonly name: string;
  readonly policy: RetentionPolicy;
  readonly backups: BackupEntry[];
  /** Kept tags with their reasons; everything else must expire. */
  readonly kept: Record<string, KeepReason[]>;
}

const cases: Case[] = [
  {
    name: '--keep-last alone keeps the N newest snapshots',
    policy: { keepLast: 2, keepDays: undefined },
    backups: [snap('s1', 40), snap('s2', 30), snap('s3', 20), snap('s4', 10)],
    kept: { s4: ['newest-snapshot', 'keep-last'], s3: ['keep-last'] },
  },
  {
    name: '--keep-days alone keeps snapshots younger than D days',
    policy: { keepLast: undefined, keepDays: 7 },
    backups: [snap('s1', 20), snap('s2', 10), snap('s3', 5), snap('s4', 1)],
    kept: { s4: ['newest-snapshot', 'keep-days'], s3: ['keep-days'] },
  },
  {
    name: 'age counts from the end of the run',
    policy: { keepLast: undefined, keepDays: 7 },
    backups: [snap('long', 7, 2), snap('short', 7.5, 1), snap('new', 1)],
    kept: { new: ['newest-snapshot', 'keep-days'], long: ['keep-days'] },
  },
  {
    name: 'either rule keeps a snapshot (count rule larger)',
    policy: { keepLast: 3, keepDays: 2 },
    backups: [snap('s1', 20), snap('s2', 10), snap('s3', 5), snap('s4', 1)],
    kept: { s4: ['newest-snapshot', 'keep-last', 'keep-days'], s3: ['keep-last'], s2: ['keep-last'] },
  },
  {
    name: 'either rule keeps a snapshot (age rule larger)',
    policy: { keepLast: 1, keepDays: 7 },
    backups: [snap('s1', 20), snap('s2', 10), snap('s3', 5), snap('s4', 1)],
    kept: { s4: ['newest-snapshot', 'keep-last', 'keep-days'], s3: ['keep-days'] },
  },
  {
    name: 'the newest snapshot is never expired, even when every rule would',
    policy: { keepLast: undefined, keepDays: 7 },
    backups: [snap('old', 60), snap('newest', 30)],
    kept: { newest: ['newest-snapshot'] },
  },
  {
    name: '--keep-last 0 still keeps the newest snapshot',
    policy: { keepLast: 0, keepDays: undefined },
    backups: [snap('old', 2), snap('newest', 1)],
    kept: { newest: ['newest-snapshot'] },
  },
  {
    name: 'newest is by start time, not by tag order',
    policy: { keepLast: 1, keepDays: undefined },
    backups: [snap('zzz-old', 5), snap('aaa-new', 1)],
    kept: { 'aaa-new': ['newest-snapshot', 'keep-last'] },
  },
  {
    name: 'incrementals after the oldest kept snapshot are kept, earlier ones expire',
    policy: { keepLast: 2, keepDays: undefined },
    backups: [snap('s1', 30), incr('i1', 25), snap('s2', 20), incr('i2', 15), snap('s3', 10), incr('i3', 5)],
    kept: { s3: ['newest-snapshot', 'keep-last'], s2: ['keep-last'], i2: ['after-kept-snapshot'], i3: ['after-kept-snapshot'] },
  },
  {
    name: 'an incremental that finished after the oldest kept snapshot started is kept',
    policy: { keepLast: 1, keepDays: undefined },
    backups: [snap('s1', 20), incr('overlap', 10.1, 4), incr('before', 10.5, 1), snap('s2', 10)],
    kept: { s2: ['newest-snapshot', 'keep-last'], overlap: ['after-kept-snapshot'] },
  },
  {
    name: 'incrementals younger than D days are kept even before the oldest kept snapshot',
    policy: { keepLast: 1, keepDays: 7 },
    backups: [snap('s1', 30), incr('i1', 20), incr('i2', 6), snap('s2', 3), incr('i3', 1)],
    kept: { s2: ['newest-snapshot', 'keep-last', 'keep-days'], i2: ['keep-days'], i3: ['keep-days', 'after-kept-snapshot'] },
  },
  {
    name: 'without any snapshot, incrementals are kept',
    policy: { keepLast: 1, keepDays: undefined },
    backups: [incr('i1', 30), incr('i2', 1)],
    kept: { i1: ['no-snapshot'], i2: ['no-snapshot'] },
  },
  {
    name: 'a manifest of unknown kind or with unreadable times is kept',
    policy: { keepLast: 1, keepDays: undefined },
    backups: [snap('s1', 1), backup('future', 'differential', 90), { ...snap('bad', 90), startedAt: 'yesterday' }],
    kept: { s1: ['newest-snapshot', 'keep-last'], future: ['unknown-kind'], bad: ['unreadable-time'] },
  },
  {
    name: 'nothing to purge when every backup is recent',
    policy: { keepLast: 1, keepDays: 30 },
    backups: [snap('s1', 3), incr('i1', 2), snap('s2', 1)],
    kept: { s2: ['newest-snapshot', 'keep-last', 'keep-days'], s1: ['keep-days'], i1: ['keep-days', 'after-kept-snapshot'] },
  },
];

describe('selectRetention', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = selectRetention(c.backups, c.policy, NOW);
      const kept = Object.fromEntries(r.kept.map((k) => [k.entry.tag, [...k.reasons]]));
      assert.deepEqual(kept, c.kept);
      const expected = c.backups.map((b) => b.tag).filter((t) => !(t in c.kept));
      assert.deepEqual(r.expired.map((b) => b.tag), expected);
    });
  }

  it('refuses a purge without any rule, and negative or fractional counts (usage errors)', () => {
    const backups = [snap('s1', 1)];
    assert.throws(() => selectRetention(backups, { keepLast: undefined, keepDays: undefined }, NOW), UsageError);
    assert.throws(() => selectRetention(backups, { keepLast: -1, keepDays: undefined }, NOW), UsageError);
    assert.throws(() => selectRetention(backups, { keepLast: undefined, keepDays: 1.5 }, NOW), UsageError);
  });
});

describe('planGarbage', () => {
  const obj = (key: string, ageHours: number | undefined, size = 10): ObjectInfo =>
    ({ key, size, ...(ageHours === undefined ? {} : { lastModified: new Date(NOW.getTime() - ageHours * HOUR) }) });
  const expired = [backup('old', 'snapshot', 10, 1, ['n1/ks/t/a', 'n1/ks/t/shared', 'n1/ks/t/gone'])];
  const kept = [backup('new', 'snapshot', 1, 1, ['n1/ks/t/shared', 'n1/ks/t/b'])];
  const objects = [
    obj('n1/ks/t/a', 240, 100), obj('n1/ks/t/shared', 240), obj('n1/ks/t/b', 24),
    obj('n1/ks/t/orphan-old', 48, 7), obj('n1/ks/t/orphan-new', 2), obj('n1/ks/t/orphan-undated', undefined),
    obj('n1/ks/t/held', 100), obj('n1/.cass-backup-run/manifests/old.json', 240),
    obj('n1/.cass-backup-run/markers/x', 240), obj('n10/ks/t/other-node', 240),
  ];
  const plan = planGarbage({ nodeId: 'n1', kept, expired, objects, heldKeys: new Set(['n1/ks/t/held']), graceMs: 24 * HOUR, now: NOW });
  const keys = (os: readonly ObjectInfo[]) => os.map((o) => o.key);

  it('deletes what only expired backups reference; shared objects stay', () => {
    assert.deepEqual(keys(plan.expiredObjects), ['n1/ks/t/a']);
    assert.equal(plan.absentKeys, 1, 'n1/ks/t/gone is referenced but already absent');
  });

  it('deletes unreferenced objects only past the grace period, and never of unknown age', () => {
    assert.deepEqual(keys(plan.orphans), ['n1/ks/t/orphan-old']);
    assert.deepEqual(keys(plan.recentOrphans), ['n1/ks/t/orphan-new', 'n1/ks/t/orphan-undated']);
  });

  it("keeps unreferenced objects an unfinished run's journal holds", () => {
    assert.deepEqual(keys(plan.heldOrphans), ['n1/ks/t/held']);
  });

  it('never plans catalog objects or objects of another node', () => {
    const all = [...plan.expiredObjects, ...plan.orphans, ...plan.recentOrphans, ...plan.heldOrphans].map((o) => o.key);
    assert.ok(all.every((k) => k.startsWith('n1/') && !k.startsWith('n1/.cass-backup-run/')), all.join(', '));
  });

  it('grace 0 makes every dated unreferenced object an orphan', () => {
    const p = planGarbage({ nodeId: 'n1', kept, expired, objects, heldKeys: new Set(), graceMs: 0, now: NOW });
    assert.deepEqual(keys(p.orphans), ['n1/ks/t/orphan-old', 'n1/ks/t/orphan-new', 'n1/ks/t/held']);
    assert.deepEqual(keys(p.recentOrphans), ['n1/ks/t/orphan-undated']);
  });
});

describe('deletion guards', () => {
  it('assertDeletable refuses kept, catalog and foreign keys', () => {
    const kept = new Set(['n1/ks/t/kept']);
    assert.doesNotThrow(() => assertDeletable('n1', ['n1/ks/t/x', 'n1/.sstables/ks/t/y'], kept));
    assert.throws(() => assertDeletable('n1', ['n1/ks/t/x', 'n1/ks/t/kept'], kept), /kept backup references/);
    assert.throws(() => assertDeletable('n1', ['n1/.cass-backup-run/manifests/a.json'], kept), /not a data object/);
    assert.throws(() => assertDeletable('n1', ['n10/ks/t/x'], kept), /not a data object/);
  });

  it('assertManifestsDeletable refuses the manifest of a kept backup', () => {
    const kept = [snap('new', 1)];
    assert.doesNotThrow(() => assertManifestsDeletable([snap('old', 9).key], kept));
    assert.throws(() => assertManifestsDeletable([snap('new', 1).key], kept), /is kept/);
  });
});
