// The sink of one ranged download (Backend.getRangeInto): each network chunk is hashed (CRC32C) and copied into one
// of a few slabs reused for the whole range, and a full slab is written at its offset while the next fills. The
// socket is paused while every slab waits for the disk, so memory stays at SLABS × SLAB_SIZE per range.
import { write } from 'node:fs';
import { crc32cUpdate } from '../checksum/crc32c.ts';
import type { RangeSink } from '../storage/raw-http-range.ts';

// 64 KiB writes, as the streamed path makes (one per network chunk): 1 MiB positional writes from four ranges at
// once cost several times the system CPU here (bench/README.md, Restore).
const SLAB_SIZE = 64 * 1024;
const SLABS = 8;

/** A local write failed: the disk's problem, never worth fetching the range again. */
export class TargetWriteError extends Error {}

export interface RangeWriter extends RangeSink {
  /** Resolves once no write is in flight (never rejects): before the file is closed or the range fetched again. */
  settled(): Promise<void>;
  /** After the last chunk: the bytes written and their CRC32C, once in the file (page cache); a failed write throws. */
  finish(): Promise<{ readonly bytes: number; readonly crc: number }>;
}

/** `onProgress` is told the file position reached by the bytes taken so far (live progress). */
export function createRangeWriter(fd: number, start: number, onProgress?: (position: number) => void): RangeWriter {
  const free: Buffer[] = Array.from({ length: SLABS }, () => Buffer.allocUnsafeSlow(SLAB_SIZE));
  let slab: Buffer | undefined;
  let filled = 0;
  let position = start; // of the slab being filled
  let crc = 0;
  let bytes = 0;
  let inFlight = 0;
  let failure: { err: unknown } | undefined;
  let waiting: (() => void) | undefined; // the socket's resume, while paused for a free slab
  let idle: (() => void) | undefined;

  const flush = (): void => {
    if (slab === undefined || filled === 0) return;
    const buf = slab;
    const length = filled;
    const at = position;
    slab = undefined;
    filled = 0;
    position += length;
    inFlight++;
    writeFully(fd, buf, length, at, (err) => {
      inFlight--;
      if (err !== null) failure ??= { err };
      free.push(buf);
      const resume = waiting;
      waiting = undefined;
      resume?.();
      if (inFlight === 0) idle?.();
    });
  };

  function settled(): Promise<void> {
    return inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => { idle = resolve; });
  }

  return {
    write(chunk, resume) {
      if (failure !== undefined) throw new TargetWriteError('write failed', { cause: failure.err });
      crc = crc32cUpdate(crc, chunk);
      bytes += chunk.length;
      for (let off = 0; off < chunk.length;) {
        // None free only for a chunk larger than a slab (the socket pauses before): the pool grows by one.
        slab ??= free.pop() ?? Buffer.allocUnsafeSlow(SLAB_SIZE);
        const n = chunk.copy(slab, filled, off);
        filled += n;
        off += n;
        if (filled === SLAB_SIZE) flush();
      }
      onProgress?.(start + bytes);
      // A chunk is at most the read buffer's 64 KiB: one free slab, with what is left of a part-filled one,
      // holds the next.
      if (free.length > 0) return true;
      waiting = resume;
      return false;
    },
    settled,
    async finish() {
      flush();
      await settled();
      if (failure !== undefined) throw new TargetWriteError('write failed', { cause: failure.err });
      return { bytes, crc };
    },
  };
}

function writeFully(fd: number, buf: Buffer, length: number, position: number, done: (err: Error | null) => void, offset = 0): void {
  write(fd, buf, offset, length - offset, position + offset, (err, n) => {
    if (err !== null) done(err);
    else if (offset + n < length) writeFully(fd, buf, length, position, done, offset + n);
    else done(null);
  });
}
