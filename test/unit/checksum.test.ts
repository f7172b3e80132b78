import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { text, buffer } from 'node:stream/consumers';
import { crc32cOf, crc32cCombine, crc32cToBase64 } from '../../src/checksum/crc32c.ts';
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
