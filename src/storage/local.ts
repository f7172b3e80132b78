// The file:// destination: keys are files under a root directory, so a backup is an ordinary directory tree
// that a plain recursive copy restores. Writes are atomic (temp file, fsync, rename) so a crash never leaves
// a half-written object under its real name; a create-only write publishes with link(), which never replaces.
// Temp files left by a crash are this backend's incomplete uploads.
import { randomUUID } from 'node:crypto';
import { constants, createReadStream, createWriteStream, type Dirent } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, rename, rm, rmdir, stat as fsStat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32cExtend, crc32cToBase64, crc32cUpdate } from '../checksum/crc32c.ts';
import { SourceReadError, StorageError, UnsafePathError } from '../errors.ts';
import { alreadyExistsError } from './already-exists.ts';
import type { Backend, GetOptions, IncompleteUpload, ObjectInfo, PutOptions, PutSource, SignalOptions } from './backend.ts';
import { assertDirPrefix } from './prefix.ts';

export interface LocalBackendConfig {
  readonly root: string;
}

const READ_CHUNK = 1024 * 1024;
const MIN_READ_CHUNK = 16 * 1024;
const TEMP_MARK = '.cbr-tmp-';
const DELETE_CONCURRENCY = 32;

interface Ctx {
  readonly root: string;
  /** CRC32C per path, valid while the file's etag (mtime + size) is unchanged: saves re-reading on stat. */
  readonly crcCache: Map<string, { etag: string; crc32c: string }>;
}

export function createLocalBackend(config: LocalBackendConfig): Backend {
  const ctx: Ctx = { root: resolve(config.root), crcCache: new Map() };
  return {
    description: `file://${ctx.root}`,
    put: (key, source, options) => put(ctx, key, source, options),
    stat: (key, options) => stat(ctx, key, options),
    list: (prefix, options) => list(ctx, prefix, options),
    listDirs: (prefix, options) => listDirs(ctx, prefix, options),
    get: (key, options) => get(ctx, key, options),
    copy: (from, to, options) => copy(ctx, from, to, options),
    delete: (keys, options) => deleteKeys(ctx, keys, options),
    listIncompleteUploads: (prefix, options) => listIncompleteUploads(ctx, prefix, options),
    abortIncompleteUpload: (upload, options) => abortIncompleteUpload(ctx, upload, options),
    close: async () => ctx.crcCache.clear(),
  };
}

/** The file for a key; refuses anything that could escape the root or alias another key. */
export function keyPath(root: string, key: string): string {
  const segments = key.split('/');
  const unsafe = key === '' || key.startsWith('/') || key.includes('\0') ||
    segments.some((s) => s === '' || s === '.' || s === '..');
  if (unsafe) throw new UnsafePathError(`unsafe object key for a file destination: ${JSON.stringify(key)}`);
  return join(root, ...segments);
}

/** The directory holding the keys under prefix (which may end mid-name), and the prefix itself. */
function prefixDir(root: string, prefix: string): string {
  const dirPart = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  return dirPart === '' ? root : keyPath(root, dirPart.slice(0, -1));
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const PERMANENT_ERRNOS = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT']);

function localError(err: unknown, op: string, key: string, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  // A source file's read failure is passed on as it is: the file failed, not the destination.
  if (err instanceof StorageError || err instanceof UnsafePathError || err instanceof SourceReadError) return err;
  const code = errnoCode(err) ?? 'Unknown';
  const text = code === 'ENOENT' ? 'does not exist' : err instanceof Error ? err.message : String(err);
  return new StorageError(`local ${op} of "${key}" failed: ${text} (${code})`,
    { permanent: PERMANENT_ERRNOS.has(code), code, cause: err });
}

function etagOf(mtimeMs: number, size: number): string {
  return `${mtimeMs}-${size}`;
}

// ---------- put ----------

/** Hashes and counts the bytes on their way to disk. */
class HashingCounter extends Transform {
  crc = 0;
  bytes = 0;
  readonly onBytes: ((bytes: number) => void) | undefined;
  constructor(onBytes: ((bytes: number) => void) | undefined) {
    super();
    this.onBytes = onBytes;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.crc = crc32cExtend(this.crc, chunk); // the hashing source's chunks are not hashed a second time
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    done(null, chunk);
  }
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}${TEMP_MARK}${randomUUID()}`);
}

/** The name of the file a temp file was written for, or undefined when name is not a temp file's. */
function targetOfTemp(name: string): string | undefined {
  const mark = name.lastIndexOf(TEMP_MARK);
  return name.startsWith('.') && mark > 1 ? name.slice(1, mark) : undefined;
}

async function put(ctx: Ctx, key: string, source: PutSource, options?: PutOptions): Promise<ObjectInfo> {
  const path = keyPath(ctx.root, key);
  const tmp = tempPathFor(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    const hasher = new HashingCounter(options?.onBytes);
    // flush: fsync before close, so the rename never publishes bytes still only in the page cache.
    const out = createWriteStream(tmp, { flags: 'wx', flush: true });
    await pipeline(source.open(), hasher, out, { signal: options?.signal });
    if (hasher.bytes !== source.size) {
      throw new StorageError(`local put of "${key}": source gave ${hasher.bytes} bytes, expected ${source.size}`,
        { permanent: false, code: 'SizeMismatch' });
    }
    if (options?.createOnly === true) await publishExclusive(tmp, path, key);
    else await rename(tmp, path);
    await syncDir(dirname(path));
    return await remember(ctx, key, path, crc32cToBase64(hasher.crc));
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined); // must not replace the error that matters
    throw localError(err, 'put', key, options?.signal);
  }
}

/**
 * Gives the written temp file its real name only if that name is free: link() fails instead of replacing, where
 * rename() would replace. The temp name is then dropped; the directory sync that follows makes both durable.
 */
async function publishExclusive(tmp: string, path: string, key: string): Promise<void> {
  try {
    await link(tmp, path);
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') throw alreadyExistsError(`local object "${key}"`, 'EEXIST', err);
    throw err;
  }
  // Published: a temp name that cannot be dropped now is only a leftover for listIncompleteUploads, not a failure.
  await rm(tmp, { force: true }).catch(() => undefined);
}

// The rename itself is durable only once its directory is synced.
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function remember(ctx: Ctx, key: string, path: string, crc32c: string): Promise<ObjectInfo> {
  const st = await fsStat(path);
  const etag = etagOf(st.mtimeMs, st.size);
  ctx.crcCache.set(path, { etag, crc32c });
  return { key, size: st.size, etag, crc32c, lastModified: st.mtime };
}

// ---------- read side ----------

async function crc32cOfFile(path: string, signal?: AbortSignal): Promise<string> {
  let crc = 0;
  const stream = createReadStream(path, { highWaterMark: READ_CHUNK, signal });
  for await (const chunk of stream) crc = crc32cUpdate(crc, chunk as Buffer);
  return crc32cToBase64(crc);
}

async function stat(ctx: Ctx, key: string, options?: SignalOptions): Promise<ObjectInfo | undefined> {
  const path = keyPath(ctx.root, key);
  try {
    const st = await fsStat(path);
    if (!st.isFile()) return undefined;
    const etag = etagOf(st.mtimeMs, st.size);
    let crc32c = ctx.crcCache.get(path)?.etag === etag ? ctx.crcCache.get(path)?.crc32c : undefined;
    if (crc32c === undefined) {
      crc32c = await crc32cOfFile(path, options?.signal);
      ctx.crcCache.set(path, { etag, crc32c });
    }
    return { key, size: st.size, etag, crc32c, lastModified: st.mtime };
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw localError(err, 'stat', key, options?.signal);
  }
}

async function readDirOrEmpty(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

/** Keys (relative to root, `/`-separated) of every regular file under dir that is (temps) or is not a temp file. */
async function* walk(root: string, dir: string, temps: boolean, signal?: AbortSignal, prefix = ''): AsyncIterable<string> {
  signal?.throwIfAborted();
  for (const entry of await readDirOrEmpty(dir)) {
    const path = join(dir, entry.name);
    const key = path.slice(root.length + 1).split(sep).join('/');
    // A directory whose keys cannot start with the prefix is not descended (a listing of one key reads one directory).
    if (entry.isDirectory()) {
      if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* walk(root, path, temps, signal, prefix);
    } else if (entry.isFile() && entry.name.includes(TEMP_MARK) === temps) yield key;
  }
}

async function* list(ctx: Ctx, prefix: string, options?: SignalOptions): AsyncIterable<ObjectInfo> {
  for await (const key of walk(ctx.root, prefixDir(ctx.root, prefix), false, options?.signal, prefix)) {
    if (!key.startsWith(prefix)) continue;
    try {
      const st = await fsStat(join(ctx.root, key));
      yield { key, size: st.size, etag: etagOf(st.mtimeMs, st.size), lastModified: st.mtime };
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw localError(err, 'list', key); // deleted meanwhile: not listed
    }
  }
}

async function listDirs(ctx: Ctx, prefix: string, options?: SignalOptions): Promise<string[]> {
  assertDirPrefix(prefix);
  options?.signal?.throwIfAborted();
  const dir = prefix === '' ? ctx.root : keyPath(ctx.root, prefix.slice(0, -1));
  try {
    return (await readDirOrEmpty(dir)).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    throw localError(err, 'listDirs', prefix);
  }
}

async function get(ctx: Ctx, key: string, options?: GetOptions): Promise<Readable> {
  const path = keyPath(ctx.root, key);
  try {
    // Open now, so a missing key fails here rather than later on the stream.
    const handle = await open(path, 'r');
    const range = options?.range;
    // The stream allocates a buffer of highWaterMark per read: 1 MiB for each of 20,000 small files made the
    // garbage collector a third of a restore's CPU. A buffer of the object's size is enough.
    // Reading up to the size (objects are immutable: replaced by rename, never rewritten) also spares the read
    // that would only find the end of the file.
    const { start, end } = range ?? { start: 0, end: (await handle.stat()).size };
    if (end <= start) { // an empty object or range; `end` is inclusive, so no end would read the whole file
      await handle.close();
      return Readable.from([]);
    }
    return handle.createReadStream({
      highWaterMark: Math.max(MIN_READ_CHUNK, Math.min(READ_CHUNK, end - start)), signal: options?.signal, start, end: end - 1,
    });
  } catch (err) {
    throw localError(err, 'get', key, options?.signal);
  }
}

async function copy(ctx: Ctx, fromKey: string, toKey: string, options?: SignalOptions): Promise<ObjectInfo> {
  const from = keyPath(ctx.root, fromKey);
  const to = keyPath(ctx.root, toKey);
  const tmp = tempPathFor(to);
  try {
    options?.signal?.throwIfAborted();
    await mkdir(dirname(to), { recursive: true });
    // FICLONE: a reflink where the filesystem supports it, an ordinary copy otherwise.
    await copyFile(from, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    await rename(tmp, to);
    const info = await stat(ctx, toKey, options);
    if (info === undefined) throw new StorageError(`local copy to "${toKey}" vanished`, { permanent: false });
    return info;
  } catch (err) {
    await rm(tmp, { force: true });
    throw localError(err, 'copy', fromKey, options?.signal);
  }
}

// ---------- incomplete uploads ----------

/**
 * Temp files of puts and copies that never finished (a killed run), or are still being written: listed under the
 * key they were written for, with the temp file's name as uploadId and its mtime (last write) as initiated.
 */
async function* listIncompleteUploads(ctx: Ctx, prefix: string, options?: SignalOptions): AsyncIterable<IncompleteUpload> {
  for await (const tempKey of walk(ctx.root, prefixDir(ctx.root, prefix), true, options?.signal)) {
    const slash = tempKey.lastIndexOf('/');
    const name = tempKey.slice(slash + 1);
    const target = targetOfTemp(name);
    if (target === undefined) continue;
    const key = tempKey.slice(0, slash + 1) + target;
    if (!key.startsWith(prefix)) continue;
    try {
      const st = await fsStat(join(ctx.root, tempKey));
      yield { key, uploadId: name, initiated: st.mtime };
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw localError(err, 'list incomplete uploads', key); // else: finished meanwhile
    }
  }
}

/** Deletes a listed temp file; the uploadId must name a temp file for the key, nothing else is ever removed. */
async function abortIncompleteUpload(ctx: Ctx, upload: IncompleteUpload, options?: SignalOptions): Promise<void> {
  const path = keyPath(ctx.root, upload.key);
  const id = upload.uploadId;
  if (id.includes('/') || id.includes(sep) || targetOfTemp(id) !== basename(path)) {
    throw new UnsafePathError(`not a temp file of "${upload.key}": ${JSON.stringify(id)}`);
  }
  options?.signal?.throwIfAborted();
  const tmp = join(dirname(path), id);
  try {
    await rm(tmp, { force: true });
  } catch (err) {
    throw localError(err, 'abort of an incomplete upload', upload.key, options?.signal);
  }
  await removeEmptyParents(ctx.root, [tmp]);
}

// ---------- delete ----------

async function unlinkKey(ctx: Ctx, path: string): Promise<void> {
  await rm(path, { force: true }); // force: a missing key is not an error
  ctx.crcCache.delete(path);
}

async function deleteKeys(ctx: Ctx, keys: readonly string[], options?: SignalOptions): Promise<void> {
  const paths = keys.map((k) => keyPath(ctx.root, k)); // refuse the whole call before touching anything
  for (let i = 0; i < paths.length; i += DELETE_CONCURRENCY) {
    options?.signal?.throwIfAborted();
    const batch = paths.slice(i, i + DELETE_CONCURRENCY);
    await Promise.all(batch.map((p, j) =>
      unlinkKey(ctx, p).catch((err: unknown) => { throw localError(err, 'delete', keys[i + j] ?? p); })));
  }
  await removeEmptyParents(ctx.root, paths);
}

// Like an object store, a directory exists only while something is in it; deepest directories go first.
async function removeEmptyParents(root: string, paths: readonly string[]): Promise<void> {
  const dirs = new Set<string>();
  for (const p of paths) {
    for (let d = dirname(p); d.length > root.length && d.startsWith(root + sep); d = dirname(d)) dirs.add(d);
  }
  const deepestFirst = [...dirs].sort((a, b) => b.split(sep).length - a.split(sep).length);
  for (const d of deepestFirst) {
    await rmdir(d).catch(() => {}); // ENOTEMPTY or already gone: keep it / nothing to do
  }
}
