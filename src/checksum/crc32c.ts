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
// crc(A), crc(B) and len(B). Lets parts hashed in parallel yield the whole file's checksum.
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

function gf2MatrixSquare(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2MatrixTimes(mat, mat[n]!);
}

export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = POLY;
  let row = 1;
  for (let n = 1; n < 32; n++) {
    odd[n] = row;
    row <<= 1;
  }
  gf2MatrixSquare(even, odd);
  gf2MatrixSquare(odd, even);
  let crc1 = crcA >>> 0;
  let len = lengthB;
  do {
    gf2MatrixSquare(even, odd);
    if (len % 2) crc1 = gf2MatrixTimes(even, crc1);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2MatrixSquare(odd, even);
    if (len % 2) crc1 = gf2MatrixTimes(odd, crc1);
    len = Math.floor(len / 2);
  } while (len !== 0);
  return (crc1 ^ crcB) >>> 0;
}

/** A pass-through stream that hashes what flows through it; `crc` and `bytes` are final after 'end'. */
export class Crc32cStream extends Transform {
  crc = 0;
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.crc = crc32cUpdate(this.crc, chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}
