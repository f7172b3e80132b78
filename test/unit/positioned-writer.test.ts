// The batched positioned writer under restore's downloads: bytes land at their offsets whatever the chunking, and
// a failed write surfaces as TargetWriteError (the disk's fault, never a reason to fetch again).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PositionedWriter, TargetWriteError } from '../../src/restore/positioned-writer.ts';

async function writeInChunks(path: string, data: Buffer, start: number, chunkSizes: () => number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const writer = new PositionedWriter(handle, start);
    for (let at = 0; at < data.length;) {
      const n = Math.min(chunkSizes(), data.length - at);
      await writer.add(data.subarray(at, at + n));
      at += n;
    }
    await writer.finish();
  } finally {
    await handle.close();
  }
}

describe('PositionedWriter', () => {
  it('writes every chunk at its offset, in batches of large and of tiny chunks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbr-pw-'));
    for (const [name, sizes] of [['large', () => 64 * 1024 + 17], ['tiny', () => 1 + Math.floor(Math.random() * 9)], ['mixed', () => (Math.random() < 0.5 ? 3 : 300_000)]] as const) {
      const path = join(dir, name);
      const head = Buffer.from('untouched head: ');
      const data = randomBytes(name === 'tiny' ? 40_000 : 5 * 1024 * 1024 + 3);
      await writeFile(path, head);
      await writeInChunks(path, data, head.length, sizes);
      const back = await readFile(path);
      assert.ok(back.subarray(0, head.length).equals(head), `${name}: the bytes before start are left alone`);
      assert.ok(back.subarray(head.length).equals(data), `${name}: the bytes after start are the data`);
    }
  });

  it('a write that fails rejects with TargetWriteError carrying the cause', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbr-pw-'));
    const path = join(dir, 'ro');
    await writeFile(path, '');
    const handle = await open(path, 'r'); // writes fail with EBADF
    try {
      const writer = new PositionedWriter(handle, 0);
      const attempt = async (): Promise<void> => {
        for (let i = 0; i < 4; i++) await writer.add(randomBytes(512 * 1024));
        await writer.finish();
      };
      await assert.rejects(attempt(), (err: unknown) => err instanceof TargetWriteError && (err.cause as { code?: string }).code === 'EBADF');
      await writer.abandon(); // settles quietly after a failure
    } finally {
      await handle.close();
    }
  });
});
