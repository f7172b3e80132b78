// The sink of a ranged download (src/restore/range-writer.ts) on real files: bytes land at their offsets with the
// CRC32C of what arrived, the socket is paused while every slab waits for the disk, and a failed write is reported
// as the disk's, not the network's.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { crc32cOf } from '../../src/checksum/crc32c.ts';
import { createRangeWriter, TargetWriteError } from '../../src/restore/range-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'cbr-range-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Feeds `data` in chunks as a socket would, honouring pauses; the number of pauses. */
async function feed(writer: ReturnType<typeof createRangeWriter>, data: Buffer, chunk: number): Promise<number> {
  let pauses = 0;
  for (let off = 0; off < data.length; off += chunk) {
    const lent = Buffer.from(data.subarray(off, off + chunk));
    const more = writer.write(lent, () => resumed?.());
    lent.fill(0); // lent only for the call: the writer must have copied it
    if (!more) {
      pauses++;
      await new Promise<void>((resolve) => { resumed = resolve; });
      resumed = undefined;
    }
  }
  return pauses;
}
let resumed: (() => void) | undefined;

describe('range writer', () => {
  it('writes every chunk at its offset, copies what it was lent, and reports the CRC32C and progress', async () => {
    const path = join(dir, 'file');
    writeFileSync(path, Buffer.alloc(100));
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const fd = openSync(path, 'r+');
    try {
      let progress = 0;
      const writer = createRangeWriter(fd, 100, (position) => { progress = position; });
      const pauses = await feed(writer, data, 65536 - 7);
      const { bytes, crc } = await writer.finish();
      assert.equal(bytes, data.length);
      assert.equal(crc, crc32cOf(data));
      assert.equal(progress, 100 + data.length, 'the position reached, from the range\'s start');
      assert.ok(pauses > 0, 'with 3 MiB and eight 64 KiB slabs, the feed had to wait for the disk');
    } finally {
      closeSync(fd);
    }
    const back = readFileSync(path);
    assert.ok(back.subarray(0, 100).equals(Buffer.alloc(100)), 'nothing before the range');
    assert.ok(back.subarray(100).equals(data));
  });

  it('a chunk larger than a slab is still taken whole', async () => {
    const path = join(dir, 'big-chunk');
    const data = randomBytes(300_000);
    const fd = openSync(path, 'w');
    try {
      const writer = createRangeWriter(fd, 0);
      await feed(writer, data, data.length);
      assert.equal((await writer.finish()).crc, crc32cOf(data));
    } finally {
      closeSync(fd);
    }
    assert.ok(readFileSync(path).equals(data));
  });

  it('a failed write is a TargetWriteError, from the next chunk or from finish', async () => {
    const path = join(dir, 'read-only');
    writeFileSync(path, '');
    const fd = openSync(path, 'r'); // writes fail with EBADF
    try {
      const writer = createRangeWriter(fd, 0);
      const data = randomBytes(2 * 65536);
      await assert.rejects(async () => {
        await feed(writer, data, 65536);
        await writer.settled();
        writer.write(Buffer.alloc(10), () => {});
      }, (err: unknown) => err instanceof TargetWriteError && (err.cause as NodeJS.ErrnoException).code === 'EBADF');
      await assert.rejects(writer.finish(), TargetWriteError);
    } finally {
      closeSync(fd);
    }
  });
});
