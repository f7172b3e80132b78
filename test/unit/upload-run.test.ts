// The upload engine over the local backend, with real files: what is sent, reused, copied or disambiguated.
import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, rmSync, linkSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { uploadFiles, type UploadInput } from '../../src/upload/run.ts';
import { openJournal } from '../../src/upload/journal.ts';
import { createLocalBackend } from '../../src/storage/local.ts';
import { createLocalFiles } from '../../src/local-files.ts';
import { silentReporter, type Reporter } from '../../src/report.ts';
import { createJsonReporter } from '../../src/output/json.ts';
import type { LocalFile } from '../../src/domain.ts';
import type { StoredRecord } from '../../src/upload/plan.ts';
import type { Backend } from '../../src/storage/backend.ts';
import { crc32cOf, crc32cToBase64 } from '../../src/checksum/crc32c.ts';
import { StorageError } from '../../src/errors.ts';
import { withRetries } from '../../src/storage/retry.ts';
import { freshUploadDirs, localFileIn } from './upload-fixture.ts';

let dataDir: string;
let destDir: string;
let stateDir: string;

beforeEach(() => {
  ({ dataDir, destDir, stateDir } = freshUploadDirs('cbr-upload-'));
});

function localFile(relPath: string, content?: string | Buffer): LocalFile {
  return localFileIn(dataDir, relPath, content);
}

async function run(files: LocalFile[], over: Partial<UploadInput> = {}, backend: Backend = createLocalBackend({ root: destDir }),
  reporter: Reporter = silentReporter) {
  const files_ = createLocalFiles();
  const input: UploadInput = {
    files, nodeId: 'n1', layout: 'seed', dataDirs: [dataDir], referenced: new Map(),
    journal: await openJournal(join(stateDir, 'j.jsonl')), concurrency: 4, signal: new AbortController().signal,
    vanishedIsFailure: true, ...over,
  };
  return uploadFiles(input, {
    backend, reporter, openSource: (f) => files_.openSource(f), hashFile: (f) => files_.hashFile(f),
    exists: async (p) => existsSync(p),
  });
}

/** An object already in the destination, as an earlier backup left it. */
function storeObject(key: string, content: string): void {
  mkdirSync(dirname(join(destDir, key)), { recursive: true });
  writeFileSync(join(destDir, key), content);
}

function recordOf(f: LocalFile, key: string, bytes: Buffer): StoredRecord {
  return { key, path: f.relPath, size: f.size, mtimeMs: f.mtimeMs, ino: f.ino, crc32c: crc32cToBase64(crc32cOf(bytes)) };
}

const T = 'ks/t-0123456789abcdef0123456789abcdef';

describe('uploadFiles', () => {
  it('sends new files under <node>/<relPath> with the CRC32C of their bytes', async () => {
    const f = localFile(`${T}/backups/nb-1-big-Data.db`, 'hello sstable');
    const r = await run([f]);
    assert.deepEqual(r.failures, []);
    assert.equal(r.uploadedFiles, 1);
    const e = r.entries[0]!;
    assert.equal(e.key, `n1/${f.relPath}`);
    assert.equal(e.crc32c, crc32cToBase64(crc32cOf(Buffer.from('hello sstable'))));
    assert.equal(readFileSync(join(destDir, e.key), 'utf8'), 'hello sstable');
  });

  it('reuses, without reading, a file a manifest already references with the same size, mtime and inode', async () => {
    const f = localFile(`${T}/backups/nb-1-big-Data.db`, 'abc');
    const key = `n1/${f.relPath}`;
    rmSync(f.absPath); // not readable any more: a read would fail the run
    writeFileSync(f.absPath, 'abc');
    const same = localFile(f.relPath);
    storeObject(key, 'abc');
    const r = await run([same], { referenced: new Map([[key, recordOf(same, key, Buffer.from('abc'))]]) }, failingPutBackend());
    assert.deepEqual(r.failures, []);
    assert.equal(r.entries[0]?.reused, true);
  });

  it('a referenced object that is gone from the store (purged elsewhere) is sent again, not trusted', async () => {
    const f = localFile(`${T}/backups/nb-1-big-Data.db`, 'abc');
    const key = `n1/${f.relPath}`;
    const r = await run([f], { referenced: new Map([[key, recordOf(f, key, Buffer.from('abc'))]]) });
    assert.deepEqual(r.failures, []);
    assert.equal(r.entries[0]?.reused, undefined, 'not counted as reused');
    assert.equal(r.resentFiles, 1);
    assert.equal(readFileSync(join(destDir, key), 'utf8'), 'abc');
  });

  it('reports the bytes it sends as they go, and a reused file sent again once (its file event says resent)', async () => {
    const gone = localFile(`${T}/backups/nb-1-big-Data.db`, 'abc');
    const fresh = localFile(`${T}/backups/nb-2-big-Data.db`, 'defgh');
    const key = `n1/${gone.relPath}`;
    const lines: Record<string, unknown>[] = [];
    let t = 0;
    const reporter = createJsonReporter({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>), now: () => new Date(t),
      clock: () => (t += 10), every: () => () => {} });
    reporter.emit({ type: 'start', command: 'incremental', tag: 'i1', destination: 'file:///d', files: 2, bytes: 8 });
    const r = await run([gone, fresh], { referenced: new Map([[key, recordOf(gone, key, Buffer.from('abc'))]]) }, undefined, reporter);
    assert.deepEqual(r.failures, []);
    const files = lines.filter((l) => l.type === 'file').map((l) => [l.path, l.action, l.bytes, l.size, l.resent]);
    assert.deepEqual(files.sort(), [[gone.relPath, 'reused', 0, 3, undefined], [gone.relPath, 'uploaded', 3, 3, true],
      [fresh.relPath, 'uploaded', 5, 5, undefined]].sort());
    const final = lines.at(-1);
    assert.deepEqual([final?.type, final?.final, final?.doneFiles, final?.reusedFiles, final?.doneBytes, final?.transferredBytes, final?.inFlightFiles],
      ['progress', true, 2, 0, 8, 8, 0], 'counted once, its bytes moved through onBytes, and the transfer ended by uploadFiles');
  });

  it('a referenced object replaced by other bytes is not reused: this file goes under a disambiguated key', async () => {
    const f = localFile(`${T}/backups/nb-1-big-Data.db`, 'abc');
    const key = `n1/${f.relPath}`;
    storeObject(key, 'xyz!');
    const r = await run([f], { referenced: new Map([[key, recordOf(f, key, Buffer.from('abc'))]]) });
    assert.deepEqual(r.failures, []);
    assert.match(r.entries[0]?.key ?? '', new RegExp(`^${key}@[0-9a-f]{8}$`));
    assert.equal(readFileSync(join(destDir, r.entries[0]?.key ?? ''), 'utf8'), 'abc');
    assert.equal(readFileSync(join(destDir, key), 'utf8'), 'xyz!', 'the other object is left alone');
  });

  it('never overwrites a referenced object with different bytes: the new bytes get a disambiguated key', async () => {
    const f = localFile(`${T}/backups/nb-1-big-Statistics.db`, 'version two');
    const key = `n1/${f.relPath}`;
    const old = { ...recordOf(f, key, Buffer.from('version one')), ino: f.ino + 1, size: 11 };
    mkdirSync(dirname(join(destDir, key)), { recursive: true });
    writeFileSync(join(destDir, key), 'version one');
    const r = await run([f], { referenced: new Map([[key, old]]) });
    assert.deepEqual(r.failures, []);
    const e = r.entries[0]!;
    assert.notEqual(e.key, key);
    assert.match(e.key, new RegExp(`^${key}@[0-9a-f]{8}$`));
    assert.equal(readFileSync(join(destDir, key), 'utf8'), 'version one', 'the referenced object is untouched');
    assert.equal(readFileSync(join(destDir, e.key), 'utf8'), 'version two');
  });

  it('reuses a referenced object when only the metadata differs but the bytes are the same', async () => {
    const f = localFile(`${T}/backups/nb-1-big-Data.db`, 'same bytes');
    const key = `n1/${f.relPath}`;
    const old = { ...recordOf(f, key, Buffer.from('same bytes')), ino: f.ino + 7, mtimeMs: 1 };
    storeObject(key, 'same bytes');
    const r = await run([f], { referenced: new Map([[key, old]]) }, failingPutBackend());
    assert.deepEqual(r.failures, []);
    assert.equal(r.entries[0]?.reused, true);
    assert.equal(r.entries[0]?.key, key);
  });

  it('copies server-side a hard link of a file an earlier snapshot stored (seed layout)', async () => {
    const first = localFile(`${T}/snapshots/tag1/nb-1-big-Data.db`, 'immutable sstable');
    mkdirSync(join(dataDir, T, 'snapshots', 'tag2'), { recursive: true });
    linkSync(first.absPath, join(dataDir, T, 'snapshots', 'tag2', 'nb-1-big-Data.db'));
    const second = localFile(`${T}/snapshots/tag2/nb-1-big-Data.db`);
    const r1 = await run([first]);
    const stored = r1.entries[0]!;
    const referenced = new Map([[stored.key, { ...recordOf(first, stored.key, Buffer.from('immutable sstable')) }]]);
    const r2 = await run([second], { referenced });
    assert.deepEqual(r2.failures, []);
    assert.equal(r2.copiedFiles, 1);
    assert.equal(r2.uploadedFiles, 0);
    assert.equal(r2.entries[0]?.key, `n1/${second.relPath}`);
    assert.equal(readFileSync(join(destDir, `n1/${second.relPath}`), 'utf8'), 'immutable sstable');
  });

  it('dedup layout: hard links in a later snapshot and in backups/ share one object', async () => {
    const snap = localFile(`${T}/snapshots/tag1/nb-1-big-Data.db`, 'one copy');
    mkdirSync(join(dataDir, T, 'backups'), { recursive: true });
    linkSync(snap.absPath, join(dataDir, T, 'backups', 'nb-1-big-Data.db'));
    const backup = localFile(`${T}/backups/nb-1-big-Data.db`);
    const r1 = await run([snap], { layout: 'dedup' });
    const e1 = r1.entries[0]!;
    assert.equal(e1.key, `n1/.sstables/${T}/nb-1-big-Data.db`);
    const r2 = await run([backup], { layout: 'dedup', referenced: new Map([[e1.key, recordOf(snap, e1.key, Buffer.from('one copy'))]]) }, failingPutBackend());
    assert.deepEqual(r2.failures, []);
    assert.equal(r2.entries[0]?.key, e1.key);
    assert.equal(r2.entries[0]?.reused, true);
  });

  it('a rerun skips what the journal says this backup already stored', async () => {
    const a = localFile(`${T}/snapshots/t/nb-1-big-Data.db`, 'a');
    const b = localFile(`${T}/snapshots/t/nb-2-big-Data.db`, 'b');
    await run([a]);
    const r = await run([a, b]);
    assert.equal(r.uploadedFiles, 1);
    assert.equal(r.entries.find((e) => e.path === a.relPath)?.reused, true);
  });

  it('a journaled object that is gone from the store (purged meanwhile) is sent again', async () => {
    const a = localFile(`${T}/snapshots/t/nb-1-big-Data.db`, 'aaa');
    const r1 = await run([a]);
    rmSync(join(destDir, r1.entries[0]!.key));
    const r2 = await run([a]);
    assert.equal(r2.uploadedFiles, 1);
    assert.equal(readFileSync(join(destDir, r1.entries[0]!.key), 'utf8'), 'aaa');
  });

  it('a file that vanished is skipped for incremental runs and a failure for snapshots', async () => {
    const f = localFile(`${T}/backups/nb-1-big-Data.db`, 'x');
    rmSync(f.absPath);
    const incr = await run([f], { vanishedIsFailure: false });
    assert.deepEqual(incr.vanished, [f.relPath]);
    assert.deepEqual(incr.failures, []);
    const snap = await run([f], { vanishedIsFailure: true });
    assert.equal(snap.failures.length, 1);
    assert.match(snap.failures[0]!, /disappeared/);
  });

  it('a permanent store error stops the run instead of failing every file the same way', async () => {
    const files = Array.from({ length: 20 }, (_, i) => localFile(`${T}/backups/nb-${i}-big-Data.db`, `f${i}`));
    let puts = 0;
    const backend: Backend = { ...createLocalBackend({ root: destDir }), put: async () => {
      puts++;
      throw new StorageError('bucket does not exist', { permanent: true, code: 'NoSuchBucket' });
    } };
    const r = await run(files, { concurrency: 2 }, backend);
    assert.ok(puts <= 3, `stopped early (${puts} puts)`);
    assert.equal(r.entries.length, 0);
    assert.ok(r.failures.length >= 1 && r.failures.length <= 3);
  });
});

describe('uploadFiles when the local side fails', () => {
  it('a journal that cannot be written: every file is stored and counted, and one warning says so', async () => {
    const files = Array.from({ length: 10 }, (_, i) => localFile(`${T}/backups/nb-${i}-big-Data.db`, `f${i}`));
    const warnings: string[] = [];
    // A state directory whose journal directory is a file: neither the directory nor the journal can be made.
    writeFileSync(join(dirname(stateDir), 'state-is-a-file'), '');
    const journal = await openJournal(join(dirname(stateDir), 'state-is-a-file', 'j.jsonl'), { warn: (m) => warnings.push(m) });
    const r = await run(files, { journal });
    assert.deepEqual(r.failures, []);
    assert.equal(r.uploadedFiles, 10);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /cannot use the journal .*ENOTDIR.*going on without it/);
  });

  it('a file that vanishes is not sent again and again, and does not stop the others (file://)', async () => {
    const files = Array.from({ length: 6 }, (_, i) => localFile(`${T}/backups/nb-${i}-big-Data.db`, `f${i}`));
    rmSync(files[2]!.absPath);
    let puts = 0;
    const local = createLocalBackend({ root: destDir });
    const counting: Backend = { ...local, put: (key, source, options) => { puts++; return local.put(key, source, options); } };
    const r = await run(files, { vanishedIsFailure: false, concurrency: 1 }, withRetries(counting, { attempts: 10, baseDelayMs: 1, maxDelayMs: 1 }));
    assert.deepEqual(r.vanished, [files[2]!.relPath]);
    assert.equal(r.uploadedFiles, 5);
    assert.equal(puts, 6, 'one put per file: the vanished one was not retried');
  });
});

function failingPutBackend(): Backend {
  return { ...createLocalBackend({ root: destDir }), put: async () => { throw new Error('must not send'); } };
}
