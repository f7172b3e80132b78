// A large blob as staged blocks sent in parallel, then one Put Block List: each block's MD5 is checked by the
// service as it arrives, and the blob exists only once the list is committed (a failed upload leaves only
// uncommitted blocks, which Azure discards by itself after 7 days and no listing or read ever shows).
import { createHash, randomUUID } from 'node:crypto';
import type { BlockBlobClient, BlockBlobCommitBlockListOptions } from '@azure/storage-blob';
import type { PutSource } from './backend.ts';

const MiB = 1024 * 1024;
/** Azure's limit of blocks per blob. */
const MAX_BLOCKS = 50_000;

/** At least `minimum`, and large enough that the file fits in Azure's 50,000 blocks (whole MiB). */
export function blockSizeFor(size: number, minimum: number): number {
  const needed = Math.ceil(size / MAX_BLOCKS / MiB) * MiB;
  return Math.max(minimum, needed);
}

/** Equal-length ids (Azure requires it within a blob), unique per upload so that concurrent uploads never mix. */
export function blockIds(count: number): string[] {
  const upload = randomUUID().replaceAll('-', '');
  return Array.from({ length: count }, (_, i) => Buffer.from(`${upload}-${String(i).padStart(6, '0')}`).toString('base64'));
}

async function readRange(source: PutSource, start: number, end: number, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of source.open(start, end)) {
    signal.throwIfAborted();
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
  }
  if (length !== end - start) throw new Error(`the source ended after ${start + length} of ${source.size} bytes`);
  return Buffer.concat(chunks, length);
}

export interface StagedUpload {
  readonly blockSize: number;
  readonly concurrency: number;
  readonly signal?: AbortSignal | undefined;
  readonly onBytes?: ((bytes: number) => void) | undefined;
  readonly commit: BlockBlobCommitBlockListOptions;
}

/** Stages every block (at most `concurrency` at once; the first failure stops the rest) and commits the list. */
export async function uploadInBlocks(client: BlockBlobClient, source: PutSource, o: StagedUpload): Promise<{ etag?: string | undefined }> {
  const count = Math.max(1, Math.ceil(source.size / o.blockSize));
  const ids = blockIds(count);
  const stop = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const start = index * o.blockSize;
      const end = Math.min(source.size, start + o.blockSize);
      const body = await readRange(source, start, end, signal);
      await client.stageBlock(ids[index]!, body, body.length, {
        abortSignal: signal, transactionalContentMD5: createHash('md5').update(body).digest(),
      });
      o.onBytes?.(body.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(o.concurrency, count) }, worker));
  } catch (err) {
    stop.abort(); // the other blocks in flight stop with the first failure
    throw err;
  }
  const committed = await client.commitBlockList(ids, { ...o.commit, abortSignal: o.signal });
  return { etag: committed.etag };
}
