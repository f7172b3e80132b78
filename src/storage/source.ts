// Re-openable byte sources for Backend.put: a retry (of a whole object or of one part) opens the range again
// instead of buffering it, so memory stays bounded whatever the file size.
// A local file's read failures are SourceReadErrors, whichever adapter reads it: the file, not the store, failed.
import { close, createReadStream, open, read } from 'node:fs';
import { Readable } from 'node:stream';
import { SourceReadError } from '../errors.ts';
import type { PutSource } from './backend.ts';

// 1 MiB reads: few syscalls and few stream callbacks per part, still small next to a part in flight.
const READ_CHUNK = 1024 * 1024;

function checkRange(size: number, start: number, end: number): void {
  if (!(start >= 0 && start <= end && end <= size)) {
    throw new RangeError(`range [${start}, ${end}) is outside a source of ${size} bytes`);
  }
}

/** A file of known size; the size is the caller's (stat'ed) one, so a file that grows is read only that far. */
export function fileSource(path: string, size: number): PutSource {
  return {
    size,
    open(start = 0, end = size): Readable {
      checkRange(size, start, end);
      // createReadStream's `end` is inclusive; an empty range must not read byte `start`.
      if (end === start) return Readable.from([], { objectMode: false });
      return createReadStream(path, { start, end: end - 1, highWaterMark: READ_CHUNK, fs: sourceFs(path) });
    },
    readAll: (signal) => readFileExactly(path, size, signal).catch((err: unknown) => {
      // Only the file system's own failures (an abort's reason is passed on as it is).
      throw typeof (err as { syscall?: unknown } | null)?.syscall === 'string' ? new SourceReadError(path, err) : err;
    }),
  };
}

type Callback = (err: NodeJS.ErrnoException | null, ...rest: unknown[]) => void;

/** The stream's file operations (the documented `fs` option), their errors made SourceReadErrors. */
function sourceFs(path: string): { open: typeof open; read: typeof read; close: typeof close } {
  const tagged = (cb: Callback): Callback => (err, ...rest) => cb(err === null ? null : new SourceReadError(path, err), ...rest);
  return {
    open: ((p: string, flags: string, mode: number, cb: Callback) => open(p, flags, mode, tagged(cb))) as typeof open,
    read: ((fd: number, buf: Buffer, offset: number, length: number, position: number, cb: Callback) =>
      read(fd, buf, offset, length, position, tagged(cb))) as typeof read,
    close,
  };
}

/**
 * Exactly `size` bytes of the file in one buffer; a file that shrank reads short (the caller checks the length).
 * Plain callback fs calls, not a FileHandle: for thousands of small files the promise API's handle objects and
 * their close bookkeeping were a measurable part of the CPU per file (bench/README.md, Profile, round 2).
 */
function readFileExactly(path: string, size: number, signal: AbortSignal | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    open(path, 'r', (openErr, fd) => {
      if (openErr !== null) return reject(openErr);
      const buf = Buffer.allocUnsafe(size);
      const finish = (err: NodeJS.ErrnoException | null, filled: number): void =>
        close(fd, (closeErr) => {
          const failure = err ?? closeErr;
          if (failure !== null) reject(failure);
          else resolve(filled === size ? buf : buf.subarray(0, filled));
        });
      const readFrom = (filled: number): void => {
        if (filled >= size) return finish(null, filled);
        read(fd, buf, filled, size - filled, filled, (readErr, bytesRead) => {
          if (readErr !== null) finish(readErr, filled);
          else if (bytesRead === 0) finish(null, filled);
          else readFrom(filled + bytesRead);
        });
      };
      readFrom(0);
    });
  });
}

export function bytesSource(buf: Buffer): PutSource {
  return chunksSource([buf]);
}

/** Bytes held as several buffers (e.g. a large manifest built in slices): sent without joining them first. */
export function chunksSource(chunks: readonly Buffer[]): PutSource {
  const size = chunks.reduce((n, c) => n + c.length, 0);
  return {
    size,
    open(start = 0, end = size): Readable {
      checkRange(size, start, end);
      return Readable.from(sliceChunks(chunks, start, end), { objectMode: false });
    },
    readAll: () => Promise.resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)),
  };
}

/** The parts of chunks that fall in [start, end), as views (no copies). */
function sliceChunks(chunks: readonly Buffer[], start: number, end: number): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  for (const chunk of chunks) {
    const from = Math.max(start, offset);
    const to = Math.min(end, offset + chunk.length);
    if (from < to) out.push(chunk.subarray(from - offset, to - offset));
    offset += chunk.length;
  }
  return out;
}

/**
 * A small source in one buffer, for adapters that send a body at once: the source's own readAll when it has one,
 * else gathered from open(). A read failure thus happens before any request is made.
 */
export async function readWholeSource(source: PutSource, signal?: AbortSignal): Promise<Buffer> {
  if (source.readAll !== undefined) return source.readAll(signal);
  const chunks: Buffer[] = [];
  for await (const chunk of source.open()) {
    signal?.throwIfAborted();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
