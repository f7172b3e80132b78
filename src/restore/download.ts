// One restored file: streamed from the store into a temp file beside its target while its CRC32C is computed,
// fsync'd, then renamed into place only when length and checksum match the manifest. Memory per file is one
// stream's buffers, whatever the file size; a small file is gathered, checked, then written with one write
// (small-file.ts). The renames are made durable by syncing the directories once at the end of a restore (durable.ts).
import { randomUUID } from 'node:crypto';
import { createReadStream, renameSync } from 'node:fs';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { basename, dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Backend, ByteRange } from '../storage/backend.ts';
import { isRetryable } from '../storage/failure-kind.ts';
import { crc32cCombine, crc32cToBase64, crc32cUpdate } from '../checksum/crc32c.ts';
import type { ManifestFile } from '../catalog/manifest.ts';
import { assertReplaceable, insideRoot, type TargetTree } from './target-dir.ts';
import { writeDurably } from './small-file.ts';
import { createRangeWriter, TargetWriteError } from './range-writer.ts';

const TEMP_MARK = '.cbr-restore-';
// Up to this size a file is gathered in memory and written with one write(2) (as uploads read small files with
// one read): a stream per small file costs more in bookkeeping than in bytes.
const SMALL_FILE = 1024 * 1024;
// Above this size a file comes as ranged GETs in parallel, as the upload sent it as parallel parts: one stream
// of a multi-GiB file is one connection's speed. Each range is written at its offset and checksummed as it
// arrives; the ranges' CRC32Cs are combined in order into the file's, compared with the manifest's.
const RANGED_FILE = 64 * 1024 * 1024;
const RANGE_SIZE = 64 * 1024 * 1024;
const RANGES_IN_FLIGHT = 4;
// A range whose body breaks off is fetched again (the backend's retries cover only the request, not the body).
const RANGE_ATTEMPTS = 4;

export type Written = 'written' | 'present';

export class ChecksumMismatchError extends Error {
  override readonly name = 'ChecksumMismatchError';
}

export interface DownloadTarget {
  /** The restore directory, shared by every file of the restore (its directories are checked once). */
  readonly tree: TargetTree;
  /** Relative to the tree's root, POSIX. */
  readonly target: string;
  readonly file: ManifestFile;
}

/**
 * Writes one file; with `reuse`, a file already there with the recorded size and CRC32C is kept as it is.
 * `onBytes` is told of the downloaded bytes as they arrive (live progress).
 */
export async function restoreFile(
  backend: Backend, t: DownloadTarget, reuse: boolean, signal?: AbortSignal, onBytes?: (bytes: number) => void, decrypt?: DecryptStage,
): Promise<Written> {
  const root = t.tree.root;
  const path = insideRoot(root, t.target);
  // In a directory this restore created nothing else can be under the target's name: no earlier file to reuse,
  // no symlink to refuse. Elsewhere the target is checked before the download and again just before the rename.
  const fresh = await t.tree.parentsOf(t.target);
  if (!fresh) {
    await assertReplaceable(root, path);
    if (reuse && (await alreadyThere(path, t.file, signal))) return 'present';
  }
  const tmp = join(dirname(path), `.${basename(path)}${TEMP_MARK}${randomUUID()}`);
  try {
    await download(backend, t.file, tmp, signal, onBytes, decrypt);
    if (!fresh) await assertReplaceable(root, path);
    // A metadata operation whatever the size: synchronous, as small-file.ts says why.
    renameSync(tmp, path);
    return 'written';
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** A fresh decrypting stream per object (client-side encryption), from the identities the operator gave. */
export type DecryptStage = () => Duplex;

async function download(
  backend: Backend, file: ManifestFile, tmp: string, signal?: AbortSignal, onBytes?: (bytes: number) => void, decrypt?: DecryptStage,
): Promise<void> {
  // An encrypted object is decrypted (each chunk authenticated) before its plaintext is hashed and written; it is
  // read as one stream (its ranges are ciphertext), the plaintext checked against the recorded size and CRC32C.
  const encrypted = file.stored !== undefined;
  if (encrypted && decrypt === undefined) throw new Error(`internal: ${file.key} is encrypted and no identity was given`);
  // Between a stream's creation and its reader nothing may await, or an early error of the body or of the
  // decrypting stage (a bad tag at once) would find no listener and end the process.
  if (file.size <= SMALL_FILE) {
    // Gathered and checked before its temp file is created: a failed download leaves nothing to remove.
    const body = await backend.get(file.key, { signal });
    const source = encrypted && decrypt !== undefined ? through(body, decrypt()) : body;
    let data: Buffer;
    try {
      data = await gatherChecked(source, file, signal, onBytes);
    } finally {
      source.destroy();
      body.destroy();
    }
    await writeDurably(tmp, data, new Date(file.mtimeMs));
    return;
  }
  // `wx`: the temp name is fresh; never write through something that appeared under it. Opened before the body
  // is asked for, for the reason above.
  const handle = await open(tmp, 'wx');
  let body: Readable | undefined;
  let source: Readable | undefined;
  try {
    body = !encrypted && file.size > RANGED_FILE ? undefined : await backend.get(file.key, { signal });
    source = body !== undefined && encrypted && decrypt !== undefined ? through(body, decrypt()) : body;
    if (source === undefined) await writeRanged(backend, file, handle, signal, onBytes);
    else await writeStreamed(source, file, handle, signal, onBytes);
    // Cassandra does not need it, but the original mtime keeps `ls -lt` and later comparisons meaningful.
    const mtime = new Date(file.mtimeMs);
    await handle.utimes(mtime, mtime);
    // On disk before the rename publishes it: a crash never leaves a restored name with bytes still in memory.
    await handle.sync();
  } finally {
    source?.destroy();
    body?.destroy();
    await handle.close();
  }
}

/** `src` piped into `stage`, an error of either ending the stage's readable side (what the writers read). */
function through(src: Readable, stage: Duplex): Readable {
  src.on('error', (err) => stage.destroy(err));
  return src.pipe(stage);
}

/** Writes the body in order as it arrives, CRC32C computed on the way; more bytes than recorded fail at once. */
async function writeStreamed(
  body: Readable, file: ManifestFile, handle: FileHandle, signal?: AbortSignal, onBytes?: (bytes: number) => void,
): Promise<void> {
  let crc = 0;
  let pos = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      if (pos + chunk.length > file.size) throw new ChecksumMismatchError(`${file.key}: recorded ${file.size} bytes, downloaded more`);
      await writeAt(handle, chunk, pos);
      crc = crc32cUpdate(crc, chunk);
      pos += chunk.length;
      onBytes?.(chunk.length);
    }
  } catch (err) {
    throw err instanceof TargetWriteError ? err.cause : err;
  }
  signal?.throwIfAborted();
  checkContent(file, pos, crc);
}

/** The whole (small) body, checked against the manifest's size and CRC32C. More bytes than recorded fail early. */
async function gatherChecked(
  body: Readable, file: ManifestFile, signal?: AbortSignal, onBytes?: (bytes: number) => void,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let crc = 0;
  for await (const chunk of body.iterator({ destroyOnReturn: true }) as AsyncIterable<Buffer>) {
    signal?.throwIfAborted();
    bytes += chunk.length;
    if (bytes > file.size) throw new ChecksumMismatchError(`${file.key}: recorded ${file.size} bytes, downloaded more`);
    crc = crc32cUpdate(crc, chunk);
    chunks.push(chunk);
    onBytes?.(chunk.length);
  }
  signal?.throwIfAborted();
  checkContent(file, bytes, crc);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
}

/** Ranges of RANGE_SIZE, RANGES_IN_FLIGHT at a time; the first failure stops the others before the file is closed. */
async function writeRanged(
  backend: Backend, file: ManifestFile, handle: FileHandle, signal?: AbortSignal, onBytes?: (bytes: number) => void,
): Promise<void> {
  const ranges = splitRanges(file.size, RANGE_SIZE);
  const crcs: number[] = [];
  const stop = new AbortController();
  const inner = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
  let failure: { err: unknown } | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ranges.length && !inner.aborted) {
      const i = next++;
      try {
        crcs[i] = await fetchRange(backend, file, handle, ranges[i]!, inner, onBytes);
      } catch (err) {
        failure ??= { err };
        stop.abort(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(RANGES_IN_FLIGHT, ranges.length) }, worker));
  signal?.throwIfAborted();
  if (failure !== undefined) throw failure.err;
  let crc = crcs[0]!;
  for (let i = 1; i < ranges.length; i++) crc = crc32cCombine(crc, crcs[i]!, ranges[i]!.end - ranges[i]!.start);
  checkContent(file, file.size, crc);
}

export function splitRanges(size: number, rangeSize: number): ByteRange[] {
  const ranges: ByteRange[] = [];
  for (let start = 0; start < size; start += rangeSize) ranges.push({ start, end: Math.min(size, start + rangeSize) });
  return ranges;
}

/** One range into its place in the file; its CRC32C. Progress counts each byte once, also across attempts. */
async function fetchRange(
  backend: Backend, file: ManifestFile, handle: FileHandle, range: ByteRange, signal: AbortSignal, onBytes?: (bytes: number) => void,
): Promise<number> {
  let reported = range.start;
  const progress = (pos: number): void => {
    if (pos > reported) {
      onBytes?.(pos - reported);
      reported = pos;
    }
  };
  let sinkUsable = backend.getRangeInto !== undefined;
  for (let attempt = 1; ; attempt++) {
    let crc = 0;
    let pos = range.start;
    try {
      if (sinkUsable) {
        // Either way the next attempt of this range takes the ordinary GET: after a refusal, because the store's
        // answer needs it; after a failure, because that path's retries wait out a server that is restarting.
        sinkUsable = false;
        const got = await intoSink(backend, file.key, handle, range, signal, progress);
        if (got !== undefined) return got;
      }
      const body = await backend.get(file.key, { signal, range });
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          if (pos + chunk.length > range.end) {
            throw new ChecksumMismatchError(`${file.key}: more bytes than the range ${range.start}-${range.end - 1}`);
          }
          await writeAt(handle, chunk, pos);
          crc = crc32cUpdate(crc, chunk);
          pos += chunk.length;
          progress(pos);
        }
      } finally {
        body.destroy();
      }
      if (pos !== range.end) throw new Error(`${file.key}: range ${range.start}-${range.end - 1} ended after ${pos - range.start} bytes`);
      return crc;
    } catch (err) {
      if (err instanceof TargetWriteError) throw err.cause;
      if (err instanceof ChecksumMismatchError || signal.aborted || attempt >= RANGE_ATTEMPTS || !isRetryable(err)) throw err;
    }
  }
}

/**
 * One range through Backend.getRangeInto (no stream, no buffer per network read: range-writer.ts); its CRC32C, or
 * undefined when the store needs the ordinary GET. Every write has ended before this returns or throws.
 */
async function intoSink(
  backend: Backend, key: string, handle: FileHandle, range: ByteRange, signal: AbortSignal, progress: (pos: number) => void,
): Promise<number | undefined> {
  const writer = createRangeWriter(handle.fd, range.start, progress);
  let delivered: boolean;
  try {
    delivered = await backend.getRangeInto!(key, range, writer, { signal });
  } finally {
    await writer.settled();
  }
  if (!delivered) return undefined;
  const { bytes, crc } = await writer.finish();
  // The client ends a range at its Content-Length, which it checked against the range: a mismatch is ours.
  if (bytes !== range.end - range.start) throw new Error(`internal: ${key}: ${bytes} bytes for the range ${range.start}-${range.end - 1}`);
  return crc;
}

// One write per network chunk (16–64 KiB), awaited before the next is read. Gathering chunks into 1 MiB writes
// (writev, or one copied buffer) tripled the system CPU of a 2.2 GB ranged restore (4 s → 14 s) and doubled its
// time; keeping a write in flight while reading on was no faster (bench/README.md, Restore).
async function writeAt(handle: FileHandle, chunk: Buffer, position: number): Promise<void> {
  try {
    for (let done = 0; done < chunk.length;) {
      const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position + done);
      done += bytesWritten;
    }
  } catch (err) {
    throw new TargetWriteError('write failed', { cause: err });
  }
}

function checkContent(file: ManifestFile, bytes: number, crc: number): void {
  if (bytes !== file.size) {
    throw new ChecksumMismatchError(`${file.key}: recorded ${file.size} bytes, downloaded ${bytes}`);
  }
  const got = crc32cToBase64(crc);
  if (got !== file.crc32c) throw new ChecksumMismatchError(`${file.key}: recorded crc32c ${file.crc32c}, downloaded ${got}`);
}

async function alreadyThere(path: string, file: ManifestFile, signal?: AbortSignal): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  if (st === undefined || !st.isFile() || st.size !== file.size) return false;
  let crc = 0;
  for await (const chunk of createReadStream(path, { signal })) crc = crc32cUpdate(crc, chunk as Buffer);
  return crc32cToBase64(crc) === file.crc32c;
}
