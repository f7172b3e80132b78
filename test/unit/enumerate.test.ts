// The enumerator over temporary trees shaped like Cassandra's (two data directories, as with JBOD).
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UsageError } from '../../src/errors.ts';
import { enumerateBackups, enumerateSnapshot, snapshotExists, statFiles } from '../../src/cassandra/enumerate.ts';

const ID1 = '11111111111111111111111111111111';
const ID2 = '22222222222222222222222222222222';
const T1 = `ks1/t1-${ID1}`;
const T2 = `ks2/t2-${ID2}`;

let root = '';
let d1 = '';
let d2 = '';

async function put(dataDir: string, relPath: string, content = relPath): Promise<void> {
  const file = path.join(dataDir, relPath);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}

// What `nodetool snapshot -t tagA` plus some earlier activity leaves behind.
async function buildTree(): Promise<void> {
  await put(d1, `${T1}/nb-1-big-Data.db`); // live data: never enumerated
  await put(d1, `${T1}/snapshots/tagA/nb-1-big-Data.db`);
  await put(d1, `${T1}/snapshots/tagA/manifest.json`);
  await put(d1, `${T1}/snapshots/tagA/schema.cql`);
  await put(d1, `${T1}/snapshots/tagA/.t1_idx/nb-1-big-Data.db`);
  await put(d1, `${T1}/snapshots/tagA/.t1_idx/.hidden`, ''); // dotfile, zero bytes
  await put(d1, `${T1}/snapshots/other/nb-1-big-Data.db`); // another snapshot (e.g. repair's ephemeral one)
  await put(d1, `${T1}/snapshots/tagAB/nb-1-big-Data.db`); // a tag with tagA as prefix
  await put(d1, `${T1}/backups/nb-1-big-Data.db`);
  await put(d1, `${T1}/backups/.t1_idx/nb-1-big-Data.db`);
  await put(d2, `${T1}/snapshots/tagA/nb-2-big-Data.db`);
  await put(d2, `${T2}/snapshots/tagA/nb-1-big-Data.db`);
  await put(d2, `${T2}/backups/nb-3-big-Data.db`);
  await mkdir(path.join(d2, `${T2}/snapshots/tagA/.empty_idx`), { recursive: true }); // directories are skipped
}

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cbr-enumerate-'));
  d1 = path.join(root, 'data1');
  d2 = path.join(root, 'data2');
  await buildTree();
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const rels = (files: readonly { dataDir: string; relPath: string }[]): string[] =>
  files.map((f) => `${path.basename(f.dataDir)}:${f.relPath}`);

async function rejectsNaming(promise: Promise<unknown>, ...needles: string[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof UsageError, String(error));
    for (const needle of needles) assert.ok(error.message.includes(needle), `${error.message} should name ${needle}`);
    return true;
  });
}

describe('enumerateSnapshot', () => {
  it('lists every file of the tag in both data directories, index dirs and dotfiles included', async () => {
    const { files, vanished } = await enumerateSnapshot([d1, d2], 'tagA');
    assert.deepEqual(vanished, []);
    assert.deepEqual(rels(files), [
      `data1:${T1}/snapshots/tagA/.t1_idx/.hidden`,
      `data1:${T1}/snapshots/tagA/.t1_idx/nb-1-big-Data.db`,
      `data1:${T1}/snapshots/tagA/manifest.json`,
      `data1:${T1}/snapshots/tagA/nb-1-big-Data.db`,
      `data2:${T1}/snapshots/tagA/nb-2-big-Data.db`,
      `data1:${T1}/snapshots/tagA/schema.cql`,
      `data2:${T2}/snapshots/tagA/nb-1-big-Data.db`,
    ]);
  });

  it('stats each file', async () => {
    const { files } = await enumerateSnapshot([d1, d2], 'tagA');
    const file = files.find((f) => f.relPath === `${T1}/snapshots/tagA/manifest.json`);
    assert.ok(file);
    const st = await stat(path.join(d1, file.relPath));
    const { dataDir, relPath, absPath, size, mtimeMs, ino } = file;
    assert.deepEqual({ dataDir, relPath, absPath, size, mtimeMs, ino }, {
      dataDir: d1,
      relPath: `${T1}/snapshots/tagA/manifest.json`,
      absPath: path.join(d1, file.relPath),
      size: Buffer.byteLength(file.relPath),
      mtimeMs: st.mtimeMs,
      ino: st.ino,
    });
  });

  it('restricts to keyspaces and keyspace.table', async () => {
    assert.deepEqual(rels((await enumerateSnapshot([d1, d2], 'tagA', ['ks2'])).files), [`data2:${T2}/snapshots/tagA/nb-1-big-Data.db`]);
    const t1 = await enumerateSnapshot([d1, d2], 'tagA', ['ks1.t1']);
    assert.equal(t1.files.length, 6);
    assert.deepEqual(rels((await enumerateSnapshot([d1, d2], 'tagA', ['ks1.t2'])).files), []);
    await assert.rejects(enumerateSnapshot([d1], 'tagA', ['ks1.t1.x']), UsageError);
  });

  it('finds nothing for an unknown tag and refuses an unsafe one', async () => {
    assert.deepEqual(await enumerateSnapshot([d1, d2], 'nope'), { files: [], vanished: [] });
    await assert.rejects(enumerateSnapshot([d1], '../tagA'), UsageError);
  });

  it('refuses a symlink inside the snapshot, naming it, and does not follow it', async () => {
    const link = path.join(d1, `${T1}/snapshots/tagA/nb-9-big-Data.db`);
    await symlink('/etc/passwd', link);
    await rejectsNaming(enumerateSnapshot([d1, d2], 'tagA'), link);
  });

  it('refuses a symlinked directory inside the snapshot', async () => {
    const link = path.join(d1, `${T1}/snapshots/tagA/.linked_idx`);
    await symlink(path.join(d1, `${T1}/snapshots/other`), link);
    await rejectsNaming(enumerateSnapshot([d1, d2], 'tagA'), link);
  });

  it('refuses a symlinked keyspace or tag directory instead of silently skipping it', async () => {
    const ks = path.join(d1, 'ks3');
    await symlink(path.join(d2, 'ks2'), ks);
    await rejectsNaming(enumerateSnapshot([d1, d2], 'tagA'), ks);
    await rm(ks);
    const tagDir = path.join(d2, `${T2}/snapshots/tagB`);
    await symlink(path.join(d2, `${T2}/snapshots/tagA`), tagDir);
    await rejectsNaming(enumerateSnapshot([d1, d2], 'tagB'), tagDir);
  });

  it('refuses special files such as a FIFO (reading one would block)', async () => {
    const fifo = path.join(d1, `${T1}/snapshots/tagA/fifo`);
    execFileSync('mkfifo', [fifo]);
    await rejectsNaming(enumerateSnapshot([d1, d2], 'tagA'), fifo);
  });

  it('refuses the same relative path in two data directories', async () => {
    await put(d2, `${T1}/snapshots/tagA/nb-1-big-Data.db`);
    await rejectsNaming(enumerateSnapshot([d1, d2], 'tagA'), `${T1}/snapshots/tagA/nb-1-big-Data.db`, d1, d2);
  });

  it('snapshotExists', async () => {
    assert.equal(await snapshotExists([d1, d2], 'tagA'), true);
    assert.equal(await snapshotExists([d1], 'other'), true);
    assert.equal(await snapshotExists([d1, d2], 'tag'), false);
    assert.equal(await snapshotExists([path.join(root, 'missing')], 'tagA'), false);
  });
});

describe('enumerateBackups', () => {
  it('lists backups/** of every table, index dirs included, and nothing else', async () => {
    const { files } = await enumerateBackups([d1, d2]);
    assert.deepEqual(rels(files), [
      `data1:${T1}/backups/.t1_idx/nb-1-big-Data.db`,
      `data1:${T1}/backups/nb-1-big-Data.db`,
      `data2:${T2}/backups/nb-3-big-Data.db`,
    ]);
    assert.deepEqual(rels((await enumerateBackups([d1, d2], ['ks2.t2'])).files), [`data2:${T2}/backups/nb-3-big-Data.db`]);
  });

  it('backs up a name with a backslash, and refuses one a catalog cannot hold (control character, not UTF-8) before any upload', async () => {
    await put(d1, `${T1}/backups/odd\\name`);
    const files = (await enumerateBackups([d1, d2])).files.map((f) => f.relPath);
    assert.ok(files.includes(`${T1}/backups/odd\\name`));
    await put(d1, `${T1}/backups/line\nbreak`);
    await assert.rejects(enumerateBackups([d1, d2]), (err: unknown) =>
      err instanceof UsageError && /line\\nbreak/.test(err.message) && /control character/.test(err.message) && /nothing was uploaded or deleted/.test(err.message));
    await rm(path.join(d1, `${T1}/backups/line\nbreak`));
    // A name that is not UTF-8 (Latin-1 é): readdir can only give it back as U+FFFD.
    execFileSync('sh', ['-c', `touch "$(printf '%s/caf\\351.db' "$1")"`, 'sh', path.join(d1, `${T1}/backups`)]);
    await assert.rejects(enumerateBackups([d1, d2]), /not valid UTF-8/);
  });

  it('refuses a symlinked backups directory', async () => {
    await rm(path.join(d2, `${T2}/backups`), { recursive: true });
    const link = path.join(d2, `${T2}/backups`);
    await symlink(path.join(d1, `${T1}/backups`), link);
    await rejectsNaming(enumerateBackups([d1, d2]), link);
  });
});

describe('statFiles', () => {
  it('reports a file that vanished between listing and stat', async () => {
    const relPath = `${T2}/backups/nb-3-big-Data.db`;
    await rm(path.join(d2, relPath));
    const result = await statFiles([{ dataDir: d2, relPath }, { dataDir: d1, relPath: `${T1}/backups/nb-1-big-Data.db` }]);
    assert.deepEqual(result.vanished, [path.join(d2, relPath)]);
    assert.equal(result.files.length, 1);
    assert.deepEqual(result.refused, []);
  });
});
