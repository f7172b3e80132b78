import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { crc32cOf, crc32cToBase64 } from '../../src/checksum/crc32c.ts';
import { UnsafePathError } from '../../src/errors.ts';
import { isAlreadyExists } from '../../src/storage/backend.ts';
import { createLocalBackend } from '../../src/storage/local.ts';
import { bytesSource, fileSource, readWholeSource } from '../../src/storage/source.ts';
import { collect, failingSource, readAll, runBackendContract } from '../support/backend-contract.ts';
import { repoRoot } from '../support/run-cli.ts';

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'cbr-local-'));
}

/** Runs a test in a fresh directory, removed afterwards whatever happens. */
async function withTempRoot(test: (root: string) => Promise<void>): Promise<void> {
  const root = await tempRoot();
  try {
    await test(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * Kills (SIGKILL) a process in the middle of a put of `key` with the built local backend, as cron's timeout or
 * the OOM killer would: the put's temp file is left behind exactly as a real run leaves it.
 */
async function killMidPut(root: string, key: string): Promise<void> {
  const local = pathToFileURL(join(repoRoot, 'dist/storage/local.js')).href;
  const script = `
    import { Readable } from 'node:stream';
    import { createLocalBackend } from ${JSON.stringify(local)};
    let sent = false;
    const stalled = { size: 1000, open: () => new Readable({ read() { if (!sent) { sent = true; this.push(Buffer.alloc(100, 1)); } } }) };
    createLocalBackend({ root: ${JSON.stringify(root)} }).put(${JSON.stringify(key)}, stalled);
    setInterval(() => {}, 60_000); // a stalled put alone would not keep the process alive
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  const parts = key.split('/');
  const dir = join(root, ...parts.slice(0, -1));
  // Kill only once the put's hidden temp file has its first bytes, so that it is a half-written upload.
  for (;;) {
    const temps = (await readdir(dir).catch(() => [])).filter((n) => n.startsWith(`.${parts.at(-1)}`));
    const written = await Promise.all(temps.map(async (n) => (await stat(join(dir, n)).catch(() => undefined))?.size ?? 0));
    if (written.some((n) => n > 0)) break;
    assert.equal(child.exitCode, null, 'the put is still running');
    await sleep(20);
  }
  child.kill('SIGKILL');
  await exited;
}

runBackendContract('local', async () => {
  const root = await tempRoot();
  return { backend: createLocalBackend({ root }), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('local backend specifics', () => {
  const unsafe = ['', '/etc/passwd', '../escape', 'a/../../escape', 'a/..', 'a//b', './a', 'a/./b', 'nul\0byte', 'a/'];

  it('refuses unsafe keys in every operation', async () => {
    await withTempRoot(async (root) => {
      const backend = createLocalBackend({ root });
      for (const key of unsafe) {
        await assert.rejects(backend.put(key, bytesSource(Buffer.from('x'))), UnsafePathError, `put ${JSON.stringify(key)}`);
        await assert.rejects(backend.stat(key), UnsafePathError);
        await assert.rejects(backend.get(key), UnsafePathError);
        await assert.rejects(backend.copy('ok', key), UnsafePathError);
        await assert.rejects(backend.delete(['ok', key]), UnsafePathError);
      }
      await assert.rejects(backend.listDirs('../'), UnsafePathError);
      assert.deepEqual(await readdir(root), [], 'nothing was written');
    });
  });

  it('writes files at the key path, with crc32c and an mtime-size etag', async () => {
    await withTempRoot(async (root) => {
      const backend = createLocalBackend({ root });
      const data = Buffer.from('hello cassandra');
      const info = await backend.put('node/ks/t-1/snapshots/tag/nb-1-big-Data.db', bytesSource(data));
      const path = join(root, 'node/ks/t-1/snapshots/tag/nb-1-big-Data.db');
      const st = await stat(path);
      assert.equal(info.crc32c, crc32cToBase64(crc32cOf(data)));
      assert.equal(info.etag, `${st.mtimeMs}-${st.size}`);
      // A file changed behind the backend's back gets a fresh checksum, not the cached one.
      await writeFile(path, 'other bytes!');
      const again = await backend.stat('node/ks/t-1/snapshots/tag/nb-1-big-Data.db');
      assert.equal(again?.crc32c, crc32cToBase64(crc32cOf(Buffer.from('other bytes!'))));
    });
  });

  it('leaves no temp file after a failed put and keeps the previous version', async () => {
    await withTempRoot(async (root) => {
      const backend = createLocalBackend({ root });
      await backend.put('d/f', bytesSource(Buffer.from('old')));
      await assert.rejects(backend.put('d/f', failingSource(100_000)));
      assert.deepEqual(await readdir(join(root, 'd')), ['f']);
      assert.equal((await readAll(await backend.get('d/f'))).toString(), 'old');
    });
  });

  it('a refused create-only put leaves no temp file beside the existing object', async () => {
    await withTempRoot(async (root) => {
      const backend = createLocalBackend({ root });
      await backend.put('d/f', bytesSource(Buffer.from('first')), { createOnly: true });
      await assert.rejects(backend.put('d/f', bytesSource(Buffer.from('second')), { createOnly: true }), isAlreadyExists);
      assert.deepEqual(await readdir(join(root, 'd')), ['f']);
      assert.equal((await readAll(await backend.get('d/f'))).toString(), 'first');
    });
  });

  it('the temp file of a killed put is an incomplete upload, listed under its key and aborted by deleting it', async () => {
    await withTempRoot(async (root) => {
      const backend = createLocalBackend({ root });
      await backend.put('n/ks/done.db', bytesSource(Buffer.from('an object')));
      await killMidPut(root, 'n/ks/f.db');
      const listed = await collect(backend.listIncompleteUploads!('n/'));
      assert.equal(listed.length, 1, 'the object is not listed, the leftover is');
      const [upload] = listed;
      assert.equal(upload?.key, 'n/ks/f.db');
      const tempPath = join(root, 'n/ks', upload!.uploadId);
      assert.equal(upload?.initiated?.getTime(), (await stat(tempPath)).mtime.getTime(), 'initiated is the last write');
      assert.deepEqual((await collect(backend.listIncompleteUploads!('n/ks/f'))).map((u) => u.key), ['n/ks/f.db'], 'a prefix ending mid-name');
      assert.deepEqual(await collect(backend.listIncompleteUploads!('n/ks/done')), []);
      assert.deepEqual(await collect(backend.listIncompleteUploads!('other/')), []);
      assert.deepEqual((await collect(backend.list('n/'))).map((o) => o.key), ['n/ks/done.db'], 'list still skips it');

      await backend.abortIncompleteUpload!(upload!);
      assert.deepEqual(await readdir(join(root, 'n/ks')), ['done.db']);
      assert.deepEqual(await collect(backend.listIncompleteUploads!('')), []);
      await backend.abortIncompleteUpload!(upload!); // already gone: not an error
    });
  });

  it('abort removes the directory a leftover was alone in, and nothing but a temp file of the key', async () => {
    await withTempRoot(async (root) => {
      const backend = createLocalBackend({ root });
      await killMidPut(root, 'only/leftover.db');
      const [upload] = await collect(backend.listIncompleteUploads!(''));
      assert.ok(upload !== undefined);
      await backend.put('only/leftover.db', bytesSource(Buffer.from('the object')));
      for (const uploadId of ['leftover.db', '../only/leftover.db', 'x.cbr-tmp-1', `.other.db${upload.uploadId.slice('.leftover.db'.length)}`]) {
        await assert.rejects(backend.abortIncompleteUpload!({ key: upload.key, uploadId }), UnsafePathError, uploadId);
      }
      await backend.delete(['only/leftover.db']);
      await backend.abortIncompleteUpload!(upload);
      assert.deepEqual(await readdir(root), []);
    });
  });

  it('removes directories emptied by delete', async () => {
    await withTempRoot(async (root) => {
      const backend = createLocalBackend({ root });
      await backend.put('a/b/c/1', bytesSource(Buffer.from('1')));
      await backend.put('a/keep', bytesSource(Buffer.from('2')));
      await backend.delete(['a/b/c/1']);
      assert.deepEqual(await readdir(root), ['a']);
      assert.deepEqual(await readdir(join(root, 'a')), ['keep']);
    });
  });
});

describe('sources', () => {
  it('fileSource reads exact ranges, including empty ones', async () => {
    await withTempRoot(async (root) => {
      const path = join(root, 'f');
      const data = Buffer.from('0123456789');
      await writeFile(path, data);
      const src = fileSource(path, data.length);
      assert.equal((await readAll(src.open())).toString(), '0123456789');
      assert.equal((await readAll(src.open(2, 5))).toString(), '234');
      assert.equal((await readAll(src.open(4, 4))).length, 0);
      assert.throws(() => src.open(5, 11), RangeError);
    });
  });

  it('bytesSource reads exact ranges', async () => {
    const src = bytesSource(Buffer.from('abcdef'));
    assert.equal((await readAll(src.open(1, 3))).toString(), 'bc');
    assert.equal((await readAll(src.open())).toString(), 'abcdef');
    assert.equal((await readAll(bytesSource(Buffer.alloc(0)).open())).length, 0);
  });

  it('readWholeSource: the source\'s own readAll (a shrunk file reads short), else its stream', async () => {
    await withTempRoot(async (root) => {
      const path = join(root, 'f');
      await writeFile(path, '0123456789');
      const src = fileSource(path, 10);
      assert.equal((await readWholeSource(src)).toString(), '0123456789');
      await truncate(path, 4);
      assert.equal((await readWholeSource(src)).toString(), '0123', 'the caller sees the short length');
      const streamOnly = { size: 6, open: () => bytesSource(Buffer.from('abcdef')).open() };
      assert.equal((await readWholeSource(streamOnly)).toString(), 'abcdef');
      const aborted = AbortSignal.abort(new Error('stop'));
      await assert.rejects(readWholeSource(src, aborted), /stop/);
    });
  });
});
