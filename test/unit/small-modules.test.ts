import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openJournal } from '../../src/upload/journal.ts';
import { resumeCommand } from '../../src/config/resume-command.ts';
import { connectionFromArgs } from '../../src/cassandra/connection-args.ts';
import { tagFromSnapshotArgs } from '../../src/commands/snapshot-args.ts';
import { incrementalTag } from '../../src/commands/incremental.ts';
import { redact } from '../../src/redact.ts';
import { batchedWriter } from '../../src/output/batched-writer.ts';
import { chunksSource } from '../../src/storage/source.ts';
import { objectKeyFor } from '../../src/catalog/layouts.ts';
import { assertSafeRelativePath, tagOfManifestKey, manifestKey } from '../../src/catalog/keys.ts';
import { finishManifest, parseManifest, serializeManifest, type ManifestFile } from '../../src/catalog/manifest.ts';
import { parseCommandLine } from '../../src/cli.ts';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'cbr-unit-'));

describe('journal', () => {
  it('keeps confirmed records across reopen and ignores a torn last line', async () => {
    const path = join(tmp(), 'j', 'a.jsonl');
    const j = await openJournal(path);
    await j.append({ key: 'k1', size: 1, mtimeMs: 2, ino: 3, crc32c: 'AAAAAA==' });
    appendFileSync(path, '{"key":"k2","si');
    const again = await openJournal(path);
    assert.deepEqual([...again.records().keys()], ['k1']);
    await again.remove();
    assert.ok(!existsSync(path));
  });

  it('writes many concurrent appends as whole lines, each resolved once its line is on disk', async () => {
    const path = join(tmp(), 'j', 'b.jsonl');
    const j = await openJournal(path);
    const keys = Array.from({ length: 500 }, (_, i) => `key-${i}-${'x'.repeat(i % 50)}`);
    await Promise.all(keys.map(async (key, i) => {
      await j.append({ key, size: i, mtimeMs: i, ino: i, crc32c: 'AAAAAA==' });
      assert.ok(readFileSync(path, 'utf8').includes(`"key":"${key}"`), `${key} confirmed before it was written`);
    }));
    assert.deepEqual([...j.records().keys()], [], 'this run\'s records are not kept in memory');
    const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { key: string }).key).sort(), [...keys].sort());
    assert.deepEqual([...(await openJournal(path)).records().keys()].sort(), [...keys].sort());
  });

  it('a write that fails is warned about once, and the run goes on without the journal (it is only a cache)', async () => {
    const path = join(tmp(), 'j', 'c.jsonl');
    const warnings: string[] = [];
    const j = await openJournal(path, { warn: (m) => warnings.push(m) });
    mkdirSync(path); // a directory where the file should be: opening it for appending fails
    await Promise.all(['k1', 'k2'].map((key) => j.append({ key, size: 1, mtimeMs: 1, ino: 1, crc32c: 'AAAAAA==' })));
    await j.append({ key: 'k3', size: 1, mtimeMs: 1, ino: 1, crc32c: 'AAAAAA==' });
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /cannot write the journal .*c\.jsonl \(EISDIR: .*\); going on without it/);
  });
});

describe('chunksSource', () => {
  it('reads any range across chunk boundaries, and the whole', async () => {
    const chunks = [Buffer.from('abc'), Buffer.alloc(0), Buffer.from('defg'), Buffer.from('h')];
    const source = chunksSource(chunks);
    assert.equal(source.size, 8);
    const read = async (start?: number, end?: number): Promise<string> => {
      const parts: Buffer[] = [];
      for await (const c of source.open(start, end)) parts.push(c as Buffer);
      return Buffer.concat(parts).toString();
    };
    assert.equal(await read(), 'abcdefgh');
    assert.equal(await read(2, 7), 'cdefg');
    assert.equal(await read(3, 3), '');
    assert.equal(await read(7, 8), 'h');
    assert.equal((await source.readAll!()).toString(), 'abcdefgh');
    assert.throws(() => source.open(0, 9), RangeError);
  });
});

describe('batchedWriter', () => {
  it('sends what is written in one turn as one write, in order, and flushes on demand or when large', () => {
    const sent: string[] = [];
    const scheduled: Array<() => void> = [];
    const w = batchedWriter((t) => sent.push(t), (run) => scheduled.push(run));
    w.write('a\n');
    w.write('b\n');
    assert.deepEqual(sent, []);
    assert.equal(scheduled.length, 1, 'one flush scheduled per turn');
    scheduled.shift()!();
    assert.deepEqual(sent, ['a\nb\n']);
    w.write('c\n');
    w.flush();
    assert.deepEqual(sent, ['a\nb\n', 'c\n']);
    scheduled.shift()!(); // the scheduled flush finds nothing left
    assert.equal(sent.length, 2);
    w.write('x'.repeat(70_000));
    assert.equal(sent.length, 3, 'a large batch goes at once');
  });
});

describe('command-line helpers', () => {
  it('resumeCommand keeps the global flags (every value, quoted) and --keep-snapshot, and drops nodetool arguments', async () => {
    const parsed = async (args: string[]) => {
      const outcome = await parseCommandLine(args, '0');
      assert.equal(outcome.kind, 'run');
      return outcome.kind === 'run' ? outcome.parsed.raw : {};
    };
    const cmd = resumeCommand(await parsed(['snapshot', '-t', 'x', '-kt', 'ks.t', '--dest', 's3://b/p', '--data-dir', '/d 1',
      '--data-dir=/d2', '--keep-snapshot', '--json', '--no-s3-path-style', '--config', '/etc/c.yaml', '--concurrency', '3']), 'x');
    assert.equal(cmd, 'cass-backup-run snapshot --resume x --config /etc/c.yaml --dest s3://b/p --no-s3-path-style ' +
      "--data-dir '/d 1' --data-dir /d2 --concurrency 3 --json --keep-snapshot");
    // One value per flag, before the command too, and a value with a quote in it.
    assert.equal(resumeCommand(await parsed(['--data-dir', '/a', '--data-dir', "/b'c", '--json', 'snapshot']), 't'),
      "cass-backup-run snapshot --resume t --data-dir /a --data-dir '/b'\\''c' --json");
  });

  it('connectionFromArgs moves nodetool connection options out and refuses a plain password', () => {
    assert.deepEqual(connectionFromArgs(['-h', 'h1', '-p', '7199', '-u', 'me', '-pwf', '/f', '-t', 'x', 'ks']), {
      args: ['-t', 'x', 'ks'], connection: { host: 'h1', port: 7199, username: 'me', passwordFile: '/f' },
    });
    assert.throws(() => connectionFromArgs(['-pw', 'secret']), /never put on a command line/);
    assert.throws(() => connectionFromArgs(['-p', 'abc']), /port number/);
  });

  it('tagFromSnapshotArgs reads every form of -t', () => {
    assert.equal(tagFromSnapshotArgs(['-t', 'a']), 'a');
    assert.equal(tagFromSnapshotArgs(['--tag=b', 'ks']), 'b');
    assert.equal(tagFromSnapshotArgs(['ks']), undefined);
  });

  it('incremental tags sort by time', () => {
    const a = incrementalTag('incremental', new Date('2026-01-01T00:00:00Z'), 'ffff');
    const b = incrementalTag('incremental', new Date('2026-01-01T00:00:01Z'), '0000');
    assert.equal(a, 'incr-20260101T000000Z-ffff');
    assert.ok(a < b);
  });

  it('redacts secrets and URL credentials', () => {
    assert.equal(redact('http://u:pw@h/x and s3cr3tvalue', { AWS_SECRET_ACCESS_KEY: 's3cr3tvalue' }), 'http://u:***@h/x and ***');
  });

  it('parses snapshot arguments for nodetool without taking them as options', async () => {
    const r = await parseCommandLine(['snapshot', '-t', 'mytag', '-kt', 'ks1.t1', '--dest', 'file:///x'], '1');
    assert.equal(r.kind, 'run');
    if (r.kind === 'run' && r.parsed.command === 'snapshot') assert.deepEqual(r.parsed.nodetoolArgs, ['-t', 'mytag', '-kt', 'ks1.t1']);
    await assert.rejects(parseCommandLine(['incremental', 'extra'], '1'), /takes no arguments/);
  });
});

describe('catalog keys and manifests', () => {
  it('seed and dedup object keys', () => {
    const rel = 'ks/t-0123456789abcdef0123456789abcdef/snapshots/tag/.idx/nb-1-big-Data.db';
    assert.equal(objectKeyFor('seed', 'n', rel), `n/${rel}`);
    assert.equal(objectKeyFor('dedup', 'n', rel), 'n/.sstables/ks/t-0123456789abcdef0123456789abcdef/.idx/nb-1-big-Data.db');
  });

  it('manifest keys round-trip to tags', () => {
    assert.equal(tagOfManifestKey('n', manifestKey('n', 'tag-1')), 'tag-1');
    assert.equal(tagOfManifestKey('n', 'n/ks/x.json'), undefined);
  });

  it('rejects unsafe paths, in keys and in manifests', () => {
    for (const bad of ['../x', '/abs', 'a/../b', 'a//b', '', 'a/./b', 'a/b\nc', 'a\u0001b', 'a/\ufffd.db']) {
      assert.throws(() => assertSafeRelativePath(bad), /unsafe path/, JSON.stringify(bad));
    }
    // One rule for writer and readers on Linux: a backslash is an ordinary file-name character, not a separator.
    for (const good of ['ks/t-1/backups/odd\\name', 'ks/t-1/snapshots/x/nb-1-big-Data.db', 'ks/t-1/backups/@x y']) {
      assert.doesNotThrow(() => assertSafeRelativePath(good), good);
    }
    const manifest = { format: 1, nodeId: 'n', tag: 't', dataDirs: ['/d'], files: [{ path: '../../etc/passwd', dataDir: 0, size: 1, key: 'n/x' }] };
    assert.throws(() => parseManifest(JSON.stringify(manifest), 'm'), /unsafe path/);
    assert.throws(() => parseManifest('{', 'm'), /not valid JSON/);
  });

  it('serialises a manifest with one line per file, sorted by key in code-unit order, and reads it back unchanged', () => {
    const file = (key: string, extra: object = {}): ManifestFile =>
      ({ path: `ks/t-1/snapshots/x/${key}`, dataDir: 0, size: 3, mtimeMs: 1.5, ino: 2 ** 40, key: `n/${key}`, crc32c: 'AAAAAA==', ...extra });
    const manifest = finishManifest({
      tool: { name: 'cass-backup-run', version: '0' }, nodeId: 'n', kind: 'snapshot', tag: 'odd "files": [] tag', layout: 'seed',
      startedAt: 'a', finishedAt: 'b', cloud: { cloud: 'none' }, hostname: 'h', cassandra: { tokens: ['1', '2'] }, dataDirs: ['/d'],
      files: [file('b'), file('B', { reused: true }), file('a', { etag: 'e', copied: true }), file('ä')],
    });
    assert.deepEqual(manifest.files.map((f) => f.key), ['n/B', 'n/a', 'n/b', 'n/ä']);
    const text = serializeManifest(manifest).toString('utf8');
    assert.deepEqual(parseManifest(text, 'm'), manifest);
    assert.equal(text.split('\n').filter((l) => l.startsWith('  {"path"')).length, 4);
    const many = finishManifest({ ...manifest, files: Array.from({ length: 2500 }, (_, i) => file(`f${i}`)) });
    assert.deepEqual(parseManifest(serializeManifest(many).toString(), 'm'), many, 'across serialisation slices');
    const empty = finishManifest({ ...manifest, files: [] });
    assert.deepEqual(parseManifest(serializeManifest(empty).toString(), 'm'), empty);
  });
});
