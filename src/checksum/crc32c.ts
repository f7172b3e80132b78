// CRC32C (Castagnoli): the checksum GCS keeps on every object and S3 supports natively.
// The native implementation hashes at GB/s, so hashing is never the bottleneck.
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { Transform, type TransformCallback } from 'node:stream';

export function crc32cUpdate(crc: number, chunk: Uint8Array): number {
  return nativeCrc32c(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), crc) >>> 0;
}

/** base64 of the big-endian 32-bit value, as GCS reports `crc32c`. */
export function crc32cToBase64(crc: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc >>> 0);
  return b.toString('base64');
}

export function crc32cOf(data: Uint8Array): number {
  return crc32cUpdate(0, data);
}

// CRC combination (zlib's crc32_combine, for the reflected Castagnoli polynomial): the CRC of A||B from
// crc(A), crc(B) and len(B). Lets parts hashed in parallel yield the whole file's checksum, and lets a buffer's
// own CRC32C (crc32cOfKnown) extend a running one without hashing its bytes again.
const POLY = 0x82f63b78;

function gf2MatrixTimes(mat: Uint32Array, vec: number): number {
  let sum = 0;
  let i = 0;
  while (vec !== 0) {
    if (vec & 1) sum ^= mat[i]!;
    vec >>>= 1;
    i++;
  }
  return sum >>> 0;
}

/** out = a·b (as operators on a CRC: apply b, then a). */
function gf2MatrixMultiply(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(32);
  for (let n = 0; n < 32; n++) out[n] = gf2MatrixTimes(a, b[n]!);
  return out;
}

/** The operator appending 2^k zero bytes, k = 0…: built once, by squaring. */
const zeroBytePowers: Uint32Array[] = [];
function zerosOperator(k: number): Uint32Array {
  while (zeroBytePowers.length <= k) {
    const last = zeroBytePowers[zeroBytePowers.length - 1];
    if (last === undefined) {
      // One zero bit, then squared three times: one zero byte.
      let op: Uint32Array = new Uint32Array(32);
      op[0] = POLY;
      for (let n = 1; n < 32; n++) op[n] = 1 << (n - 1);
      for (let i = 0; i < 3; i++) op = gf2MatrixMultiply(op, op);
      zeroBytePowers.push(op);
    } else {
      zeroBytePowers.push(gf2MatrixMultiply(last, last));
    }
  }
  return zeroBytePowers[k]!;
}

// Operators for the lengths seen (mostly the 1 MiB read size and the parts' sizes), so that extending a CRC by a
// buffer is one 32-step product. Bounded: a stream of odd lengths cannot grow it without limit.
const shiftCache = new Map<number, Uint32Array>();
const SHIFT_CACHE_LIMIT = 256;

function shiftOperator(length: number): Uint32Array {
  let op = shiftCache.get(length);
  if (op !== undefined) return op;
  let len = length;
  for (let k = 0; len > 0; k++, len = Math.floor(len / 2)) {
    if (len % 2) op = op === undefined ? zerosOperator(k) : gf2MatrixMultiply(zerosOperator(k), op);
  }
  if (shiftCache.size >= SHIFT_CACHE_LIMIT) shiftCache.clear();
  shiftCache.set(length, op!);
  return op!;
}

export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  return (gf2MatrixTimes(shiftOperator(lengthB), crcA >>> 0) ^ crcB) >>> 0;
}

// A buffer's CRC32C, computed once per process: the hashing source remembers the CRC32C of every chunk it hashes
// on its way out, and whoever must checksum the same chunk again (the S3 SDK's request checksum, GCS's upload
// validation, the direct PUT's header, file://'s write check) takes it from here instead of reading the bytes
// again. Kept on the Buffer object itself, under a private symbol (a WeakMap kept 1 MiB chunks alive until a full
// collection: +70 MiB RSS on W1). Sound because nothing writes a buffer after it is hashed (a source's chunks are
// fresh reads, a body is built before it is sent); a chunk that was copied, sliced or gathered is another object,
// and is hashed anew. (Were one written anyway, S3 and GCS would refuse the stale checksum; file:// would not.)
const CRC32C = Symbol('crc32c');
type Tagged = Uint8Array & { [CRC32C]?: number };

/** The CRC32C of bytes: remembered if this very buffer was hashed before, else computed (and remembered). */
export function crc32cOfKnown(bytes: Uint8Array): number {
  let crc = (bytes as Tagged)[CRC32C];
  if (crc === undefined) {
    crc = crc32cOf(bytes);
    // Not enumerable: the buffer may be a caller's, compared or inspected elsewhere.
    Object.defineProperty(bytes, CRC32C, { value: crc, enumerable: false });
  }
  return crc;
}

/** A running CRC32C extended by one chunk, each chunk hashed at most once per process. */
export function crc32cExtend(crc: number, chunk: Uint8Array): number {
  return crc32cCombine(crc, crc32cOfKnown(chunk), chunk.length);
}

/**
 * A pass-through stream that hashes what flows through it; `crc` and `bytes` are final after 'end'. Each chunk's
 * own CRC32C is remembered (crc32cOfKnown), so that a later checksum of the same chunk costs no second pass.
 */
export class Crc32cStream extends Transform {
  crc = 0;
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.crc = crc32cExtend(this.crc, chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}
