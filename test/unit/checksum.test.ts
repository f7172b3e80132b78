import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { text, buffer } from 'node:stream/consumers';
import { Crc32cStream, crc32cCombine, crc32cExtend, crc32cOf, crc32cOfKnown, crc32cToBase64 } from '../../src/checksum/crc32c.ts';
import { KnownCrc32c } from '../../src/storage/s3-checksum.ts';
import { hashingSource } from '../../src/upload/hashing-source.ts';
import { bytesSource } from '../../src/storage/source.ts';

describe('crc32c', () => {
  it('matches the standard check value and GCS encoding', () => {
    assert.equal(crc32cOf(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32cToBase64(0xe3069283), Buffer.from([0xe3, 0x06, 0x92, 0x83]).toString('base64'));
  });

  it('combines the CRCs of parts into the CRC of the whole', () => {
    const data = randomBytes(1_000_003);
    for (const cut of [0, 1, 4096, 500_000, 1_000_002, 1_000_003]) {
      const a = data.subarray(0, cut);
      const b = data.subarray(cut);
      assert.equal(crc32cCombine(crc32cOf(a), crc32cOf(b), b.length), crc32cOf(data), `cut at ${cut}`);
    }
  });
});

describe('crc32c of a buffer, computed once', () => {
  it('combines for any length, the cached operators included', () => {
    for (const n of [1, 2, 3, 255, 256, 65_536, 65_537, 1_048_576, 1_048_576, 3_000_001]) {
      const a = randomBytes(777);
      const b = randomBytes(n);
      assert.equal(crc32cCombine(crc32cOf(a), crc32cOf(b), n), crc32cOf(Buffer.concat([a, b])), `length ${n}`);
    }
  });

  it('a chunk the stream hashed is not hashed again: its remembered CRC32C is used (copies are hashed anew)', async () => {
    const chunks = [randomBytes(100_000), randomBytes(5), randomBytes(1_048_576)];
    const stream = new Crc32cStream();
    await buffer(Readable.from(chunks).pipe(stream));
    assert.equal(stream.crc, crc32cOf(Buffer.concat(chunks)));
    const first = chunks[0]!;
    const copy = Buffer.from(first);
    const want = crc32cOf(first);
    first[0] = (first[0] ?? 0) ^ 0xff; // against the contract, to show that the bytes are not read again
    assert.equal(crc32cOfKnown(first), want, 'remembered');
    assert.equal(crc32cOfKnown(copy), want, 'a copy, hashed');
    assert.notEqual(crc32cOfKnown(Buffer.from(first)), want, 'a copy of the changed bytes, hashed');
    assert.deepEqual(copy, Buffer.from(copy), 'the remembered value is not an enumerable property');
  });

  it('the SDK checksum (KnownCrc32c) is the big-endian CRC32C of all chunks, known or not', async () => {
    const chunks = [randomBytes(70_000), randomBytes(1), randomBytes(300_000)];
    crc32cOfKnown(chunks[2]!);
    const sdk = new KnownCrc32c();
    sdk.update(randomBytes(10));
    sdk.reset();
    for (const c of chunks) sdk.update(c);
    const digest = Buffer.from(await sdk.digest());
    assert.equal(digest.readUInt32BE(0), crc32cOf(Buffer.concat(chunks)));
    assert.equal(crc32cExtend(crc32cOf(chunks[0]!), chunks[1]!), crc32cOf(Buffer.concat(chunks.slice(0, 2))));
  });
});

describe('hashingSource', () => {
  it('yields the whole-file CRC from ranges read in any order, retried ranges included', async () => {
    const data = randomBytes(300_000);
    const src = hashingSource(bytesSource(data));
    await buffer(src.open(100_000, 200_000));
    await buffer(src.open(0, 100_000));
    const partial = src.open(200_000, 300_000);
    partial.destroy(); // a failed attempt
    assert.equal(src.result(), undefined, 'incomplete coverage gives no checksum');
    await buffer(src.open(200_000, 300_000));
    assert.equal(src.result(), crc32cOf(data));
  });

  it('hashes a whole-file read', async () => {
    const src = hashingSource({ size: 5, open: () => Readable.from([Buffer.from('hello')]) });
    assert.equal(await text(src.open()), 'hello');
    assert.equal(src.result(), crc32cOf(Buffer.from('hello')));
  });
});
