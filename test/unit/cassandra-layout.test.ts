import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.ts';
import {
  ancestorGlobs,
  backupsGlobs,
  generateTag,
  isValidTag,
  locateInTable,
  matchesFilters,
  parseDataPath,
  parseSSTableName,
  parseTableFilter,
  snapshotGlobs,
  validateTag,
} from '../../src/cassandra/layout.ts';
import type { DataPath, SSTableName } from '../../src/cassandra/layout.ts';

const ID = 'c2637790e99a11f1a8c74f9ac66883fd';
const T = `events-${ID}`;
const base = { keyspace: 'ks1', tableDir: T, table: 'events', tableId: ID } as const;

describe('parseDataPath', () => {
  const cases: [string, DataPath | undefined][] = [
    [`ks1/${T}/nb-1-big-Data.db`, { ...base, area: 'live', fileName: 'nb-1-big-Data.db' }],
    [`ks1/${T}/.events_kind_idx/nb-1-big-Data.db`, { ...base, area: 'live', indexDir: '.events_kind_idx', fileName: 'nb-1-big-Data.db' }],
    [`ks1/${T}/snapshots/t1/nb-1-big-Data.db`, { ...base, area: 'snapshot', tag: 't1', fileName: 'nb-1-big-Data.db' }],
    [`ks1/${T}/snapshots/t1/manifest.json`, { ...base, area: 'snapshot', tag: 't1', fileName: 'manifest.json' }],
    [
      `ks1/${T}/snapshots/cbr-20261126T130400Z-ab12/.events_kind_idx/nb-1-big-TOC.txt`,
      { ...base, area: 'snapshot', tag: 'cbr-20261126T130400Z-ab12', indexDir: '.events_kind_idx', fileName: 'nb-1-big-TOC.txt' },
    ],
    [`ks1/${T}/backups/nb-2-big-Index.db`, { ...base, area: 'backup', fileName: 'nb-2-big-Index.db' }],
    [`ks1/${T}/backups/.events_kind_idx/nb-2-big-Index.db`, { ...base, area: 'backup', indexDir: '.events_kind_idx', fileName: 'nb-2-big-Index.db' }],
    // Very old versions had table directories without the id.
    ['ks1/events/nb-1-big-Data.db', { keyspace: 'ks1', tableDir: 'events', table: 'events', tableId: undefined, area: 'live', fileName: 'nb-1-big-Data.db' }],
    ['ks1/nb-1-big-Data.db', undefined],
    [`ks1/${T}`, undefined],
    [`ks1/${T}/snapshots/t1`, undefined],
    [`ks1/${T}/snapshots/../x/y`, undefined],
    [`ks1/${T}/snapshots/.hidden/y`, undefined],
    [`ks1/${T}/backups`, undefined],
    [`ks1/${T}/snapshots/t1/.idx/deeper/file`, undefined],
    [`ks1/${T}/snapshots/t1/notanindex/file`, undefined],
    [`/ks1/${T}/nb-1-big-Data.db`, undefined],
    [`ks1//${T}/nb-1-big-Data.db`, undefined],
    [`ks-1/${T}/nb-1-big-Data.db`, undefined],
    [`ks1/events-XYZ/nb-1-big-Data.db`, undefined],
  ];
  for (const [input, expected] of cases) {
    it(input, () => assert.deepEqual(parseDataPath(input), expected));
  }
});

describe('locateInTable', () => {
  it('accepts any depth below the area root', () => {
    const loc = locateInTable(`ks1/${T}/snapshots/t1/.idx/deeper/file`);
    assert.equal(loc?.area, 'snapshot');
    assert.equal(loc?.tag, 't1');
    assert.deepEqual(loc?.inner, ['.idx', 'deeper', 'file']);
  });
});

describe('tags', () => {
  const valid = ['t1', 'cbr-20261126T130400Z-ab12', '2026-11-26T13:04:00Z', 'pre_upgrade.v5', '_x', 'a+b=c@d'];
  const invalid = ['', '.', '..', '.hidden', '-t', 'a/b', 'a\\b', 'a b', 'tag*', 'x'.repeat(201), 'é'];
  for (const tag of valid) it(`accepts ${tag}`, () => assert.equal(validateTag(tag), tag));
  for (const tag of invalid) {
    it(`refuses ${JSON.stringify(tag)}`, () => {
      assert.equal(isValidTag(tag), false);
      assert.throws(() => validateTag(tag), UsageError);
    });
  }

  it('generateTag is UTC, fixed width and uses the injected randomness', () => {
    const digits = [10, 35, 0, 9];
    let i = 0;
    const tag = generateTag(new Date('2026-11-26T13:04:05.678Z'), () => digits[i++] ?? 0);
    assert.equal(tag, 'cbr-20261126T130405Z-az09');
    assert.ok(isValidTag(tag));
  });

  it('generated tags sort by time as text', () => {
    const a = generateTag(new Date('2026-01-02T03:04:05Z'), () => 35);
    const b = generateTag(new Date('2026-01-02T03:04:06Z'), () => 0);
    const c = generateTag(new Date('2026-10-01T00:00:00Z'), () => 0);
    assert.deepEqual([c, b, a].sort(), [a, b, c]);
  });

  it('generateTag differs between calls by default', () => {
    const now = new Date();
    const tags = new Set(Array.from({ length: 20 }, () => generateTag(now)));
    assert.ok(tags.size > 1);
  });
});

describe('parseSSTableName', () => {
  const cases: [string, SSTableName | undefined][] = [
    ['nb-1-big-Data.db', { version: 'nb', generation: '1', format: 'big', component: 'Data.db' }],
    ['nb-12345-big-TOC.txt', { version: 'nb', generation: '12345', format: 'big', component: 'TOC.txt' }],
    ['oa-7-big-Digest.crc32', { version: 'oa', generation: '7', format: 'big', component: 'Digest.crc32' }],
    ['da-2-bti-Partitions.db', { version: 'da', generation: '2', format: 'bti', component: 'Partitions.db' }],
    [
      'nb-3fw2_0tj4_46w3k2cpidnirvjy7k-big-Data.db',
      { version: 'nb', generation: '3fw2_0tj4_46w3k2cpidnirvjy7k', format: 'big', component: 'Data.db' },
    ],
    [
      'da-3gz2_0q3z_1xtbl2ltbqnnbf4ytg-bti-Rows.db',
      { version: 'da', generation: '3gz2_0q3z_1xtbl2ltbqnnbf4ytg', format: 'bti', component: 'Rows.db' },
    ],
    ['nc-1-big-SAI+aa+tbl_val_idx+Meta.db', { version: 'nc', generation: '1', format: 'big', component: 'SAI+aa+tbl_val_idx+Meta.db' }],
    ['manifest.json', undefined],
    ['schema.cql', undefined],
    ['nb-x-big-Data.db', undefined],
    ['nb-1-big', undefined],
    ['ks-tbl-ka-1-Data.db', undefined],
  ];
  for (const [input, expected] of cases) {
    it(input, () => assert.deepEqual(parseSSTableName(input), expected));
  }
});

describe('filters and globs', () => {
  it('parses ks and ks.table, refuses anything else', () => {
    assert.deepEqual(parseTableFilter('ks1'), { keyspace: 'ks1' });
    assert.deepEqual(parseTableFilter('ks1.t1'), { keyspace: 'ks1', table: 't1' });
    for (const bad of ['', 'a.b.c', 'ks-1', 'ks1.', '.t1', '*']) assert.throws(() => parseTableFilter(bad), UsageError, bad);
  });

  it('matches keyspace and table filters', () => {
    const filters = [parseTableFilter('ks1'), parseTableFilter('ks2.t1')];
    assert.equal(matchesFilters({ keyspace: 'ks1', table: 'x' }, filters), true);
    assert.equal(matchesFilters({ keyspace: 'ks2', table: 't1' }, filters), true);
    assert.equal(matchesFilters({ keyspace: 'ks2', table: 't2' }, filters), false);
    assert.equal(matchesFilters({ keyspace: 'ks3', table: 't1' }, []), true);
  });

  it('builds globs per filter', () => {
    assert.deepEqual(snapshotGlobs('t1'), ['*/*/snapshots/t1/**']);
    assert.deepEqual(snapshotGlobs('a+b', [parseTableFilter('ks1'), parseTableFilter('ks2.t1')]), [
      'ks1/*/snapshots/a\\+b/**',
      'ks2/{t1,t1-*}/snapshots/a\\+b/**',
    ]);
    assert.deepEqual(backupsGlobs(), ['*/*/backups/**']);
    assert.deepEqual(ancestorGlobs('backup'), ['*', '*/*', '*/*/backups']);
    assert.deepEqual(ancestorGlobs('snapshot', [parseTableFilter('ks1')], 't1'), [
      'ks1',
      'ks1/*',
      'ks1/*/snapshots',
      'ks1/*/snapshots/t1',
    ]);
    assert.throws(() => snapshotGlobs('../x'), UsageError);
  });
});
