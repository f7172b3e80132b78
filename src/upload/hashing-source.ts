// Wraps a PutSource so that the bytes the store actually received are hashed on their way out, even when an
// adapter reads the file as parallel ranges and retries some of them: each range's CRC32C is kept (the last
// complete read wins) and the whole file's checksum is combined from them afterwards.
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import { Crc32cStream, crc32cCombine, crc32cOfKnown } from '../checksum/crc32c.ts';
import type { PutSource } from '../storage/backend.ts';

interface RangeHash {
  readonly end: number;
  readonly crc: number;
}

export interface HashingSource extends PutSource {
  /** The CRC32C of the whole source, or undefined if the ranges read do not cover it exactly. */
  result(): number | undefined;
}

export function hashingSource(inner: PutSource, onBytes?: (n: number) => void): HashingSource {
  const ranges = new Map<number, RangeHash>();
  const readInner = inner.readAll?.bind(inner);
  return {
    size: inner.size,
    open(start = 0, end = inner.size): Readable {
      const hasher = new Crc32cStream();
      if (onBytes) hasher.on('data', (chunk: Buffer) => onBytes(chunk.length));
      hasher.on('end', () => {
        if (hasher.bytes === end - start) ranges.set(start, { end, crc: hasher.crc });
      });
      return pipeline(inner.open(start, end), hasher, () => {});
    },
    ...(readInner === undefined ? {} : {
      async readAll(signal?: AbortSignal): Promise<Buffer> {
        const bytes = await readInner(signal);
        onBytes?.(bytes.length);
        if (bytes.length === inner.size) ranges.set(0, { end: inner.size, crc: crc32cOfKnown(bytes) }); // remembered: the adapter's checksum is free
        return bytes;
      },
    }),
    result: () => combineRanges(ranges, inner.size),
  };
}

function combineRanges(ranges: Map<number, RangeHash>, size: number): number | undefined {
  let crc = 0;
  let offset = 0;
  while (offset < size) {
    const range = ranges.get(offset);
    if (!range) return undefined;
    crc = offset === 0 ? range.crc : crc32cCombine(crc, range.crc, range.end - offset); // nothing to combine with at 0
    offset = range.end;
  }
  return offset === size ? crc : undefined;
}
