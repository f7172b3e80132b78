// S3 multipart uploads and multipart copies: parts in parallel, each retried from its own byte range, and an
// upload that fails (or whose create-only completion is refused) aborted on the server, never left behind.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { PutOptions, PutSource } from './backend.ts';
import { sendWithBody } from './s3-body.ts';
import { s3StorageClass } from './s3-encryption.ts';
import type { Settings } from './s3-config.ts';
import { errorCode, s3Error, unquote } from './s3-errors.ts';
import { isRetryable } from './failure-kind.ts';

const MiB = 1024 * 1024;
const MAX_PARTS = 10_000;
const MIN_PART_SIZE = 8 * MiB;
const MAX_PART_SIZE = 5 * 1024 * MiB;

export interface MultipartCtx {
  readonly client: S3Client;
  readonly s: Settings;
  /** Multipart uploads whose abort failed (e.g. the store was unreachable): retried later, and on close. */
  readonly pendingAborts: Map<string, Multipart>;
}

export interface Multipart {
  readonly key: string; // full key
  readonly uploadId: string;
  readonly partSize: number;
  readonly size: number;
  readonly signal: AbortSignal;
  /** Complete with If-None-Match: *, so that the object is stored only if the key is free. */
  readonly createOnly: boolean;
}

/** The part size for an object: the wanted size, grown (in whole MiB) until the object fits in 10,000 parts. */
export function choosePartSize(size: number, wanted = 64 * MiB): number {
  const needed = Math.ceil(size / MAX_PARTS);
  const chosen = Math.ceil(Math.max(wanted, needed, MIN_PART_SIZE) / MiB) * MiB;
  if (chosen > MAX_PART_SIZE) throw new RangeError(`object of ${size} bytes exceeds the S3 multipart limit`);
  return chosen;
}

/** Uploads source under the full key as a multipart upload of ranged reads; resolves to the object's ETag. */
export function multipartPut(
  ctx: MultipartCtx, fullKey: string, source: PutSource, options?: PutOptions,
): Promise<string | undefined> {
  const partSize = choosePartSize(source.size, ctx.s.partSize);
  return runMultipart(ctx, fullKey, source.size, partSize, options?.createOnly === true, options?.signal,
    () => createUpload(ctx, fullKey, options?.signal, ctx.s.checksums, options?.storageClass),
    (mp, index) => uploadPart(ctx, mp, source, index, options?.onBytes));
}

/** Copies an object of `size` bytes between full keys part by part (UploadPartCopy); resolves to the ETag. */
export function multipartCopy(
  ctx: MultipartCtx, copySource: string, toFullKey: string, size: number, signal?: AbortSignal, storageClass?: string,
): Promise<string | undefined> {
  // Part-level checksums of a server-side copy would only be the server checking itself.
  return runMultipart(ctx, toFullKey, size, choosePartSize(size, ctx.s.partSize), false, signal,
    () => createUpload(ctx, toFullKey, signal, false, storageClass),
    (mp, index) => copyPart(ctx, mp, copySource, index));
}

async function createUpload(ctx: MultipartCtx, key: string, signal: AbortSignal | undefined, checksums: boolean,
  storageClass: string | undefined): Promise<string> {
  try {
    const out = await ctx.client.send(
      new CreateMultipartUploadCommand({
        Bucket: ctx.s.bucket, Key: key, ...(checksums ? { ChecksumAlgorithm: 'CRC32C' } : {}), ...ctx.s.sse.write,
        ...s3StorageClass(storageClass).param,
      }),
      { abortSignal: signal },
    );
    if (out.UploadId === undefined) throw new Error('CreateMultipartUpload returned no UploadId');
    return out.UploadId;
  } catch (err) {
    throw s3Error(err, 'CreateMultipartUpload', ctx.s.bucket, key, signal);
  }
}

/** Runs a multipart upload's parts, then completes it; any failure or abort aborts the upload on the server. */
async function runMultipart(
  ctx: MultipartCtx, key: string, size: number, partSize: number, createOnly: boolean, signal: AbortSignal | undefined,
  createId: () => Promise<string>, sendPart: (mp: Multipart, index: number) => Promise<CompletedPart>,
): Promise<string | undefined> {
  const uploadId = await createId();
  const inner = new AbortController();
  const onAbort = (): void => inner.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const mp: Multipart = { key, uploadId, partSize, size, signal: inner.signal, createOnly };
  try {
    const parts = await runParts(ctx, mp, inner, sendPart);
    const etag = await complete(ctx, mp, parts);
    if (ctx.pendingAborts.size > 0) await retryPendingAborts(ctx, 1); // the store answers again: clean up now
    return etag;
  } catch (err) {
    // Also after a refused create-only completion: S3 keeps the upload (and bills its parts) until aborted.
    await abortUpload(ctx, mp);
    throw s3Error(err, 'multipart upload', ctx.s.bucket, key, signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Up to partConcurrency parts in flight; the first failure stops the rest, and all settle before returning. */
async function runParts(
  ctx: MultipartCtx, mp: Multipart, inner: AbortController, sendPart: (mp: Multipart, index: number) => Promise<CompletedPart>,
): Promise<CompletedPart[]> {
  const count = Math.max(1, Math.ceil(mp.size / mp.partSize));
  const parts = new Array<CompletedPart>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && !mp.signal.aborted) {
      const index = next++;
      parts[index] = await withPartRetry(ctx.s.partAttempts, mp.signal, () => sendPart(mp, index));
    }
  };
  const workers = Array.from({ length: Math.min(ctx.s.partConcurrency, count) }, () =>
    worker().catch((err: unknown) => {
      inner.abort(err);
      throw err;
    }));
  const settled = await Promise.allSettled(workers);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  if (mp.signal.aborted) throw mp.signal.reason;
  return parts;
}

async function withPartRetry<T>(attempts: number, signal: AbortSignal, run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (signal.aborted || !isRetryable(err) || attempt >= attempts) throw err;
      // Exponential backoff with full jitter: parts failing together do not retry together.
      await sleep(Math.random() * 250 * 2 ** attempt, undefined, { signal });
    }
  }
}

async function uploadPart(
  ctx: MultipartCtx, mp: Multipart, source: PutSource, index: number, onBytes?: (bytes: number) => void,
): Promise<CompletedPart> {
  const start = index * mp.partSize;
  const end = Math.min(mp.size, start + mp.partSize);
  const PartNumber = index + 1;
  try {
    const out = await sendWithBody(source.open(start, end), onBytes, mp.signal, (body, abortSignal) =>
      ctx.client.send(new UploadPartCommand({
        Bucket: ctx.s.bucket, Key: mp.key, UploadId: mp.uploadId, PartNumber, Body: body, ContentLength: end - start,
        ...(ctx.s.checksums ? { ChecksumAlgorithm: 'CRC32C' } : {}), ...ctx.s.sse.read,
      }), { abortSignal }));
    if (out.ETag === undefined) throw new Error(`UploadPart ${PartNumber} returned no ETag`);
    return { PartNumber, ETag: out.ETag, ...(out.ChecksumCRC32C === undefined ? {} : { ChecksumCRC32C: out.ChecksumCRC32C }) };
  } catch (err) {
    throw s3Error(err, `UploadPart ${PartNumber}`, ctx.s.bucket, mp.key, mp.signal);
  }
}

async function copyPart(ctx: MultipartCtx, mp: Multipart, source: string, index: number): Promise<CompletedPart> {
  const start = index * mp.partSize;
  const end = Math.min(mp.size, start + mp.partSize);
  const PartNumber = index + 1;
  try {
    const out = await ctx.client.send(new UploadPartCopyCommand({
      Bucket: ctx.s.bucket, Key: mp.key, UploadId: mp.uploadId, PartNumber, CopySource: source,
      CopySourceRange: `bytes=${start}-${end - 1}`, ...ctx.s.sse.read, ...ctx.s.sse.copySource,
    }), { abortSignal: mp.signal });
    const etag = out.CopyPartResult?.ETag;
    if (etag === undefined) throw new Error(`UploadPartCopy ${PartNumber} returned no ETag`);
    return { PartNumber, ETag: etag };
  } catch (err) {
    throw s3Error(err, `UploadPartCopy ${PartNumber}`, ctx.s.bucket, mp.key, mp.signal);
  }
}

async function complete(ctx: MultipartCtx, mp: Multipart, parts: CompletedPart[]): Promise<string | undefined> {
  const out = await ctx.client.send(new CompleteMultipartUploadCommand({
    Bucket: ctx.s.bucket, Key: mp.key, UploadId: mp.uploadId, MultipartUpload: { Parts: parts },
    ...(mp.createOnly ? { IfNoneMatch: '*' } : {}),
  }), { abortSignal: mp.signal });
  return unquote(out.ETag);
}

// Never under the caller's (possibly aborted) signal: an incomplete upload costs storage until deleted.
// A part request that was cut off may still be stored after the abort (S3 documents this; versitygw does it
// within milliseconds), bringing the upload back: so wait, check, and abort again until it stays gone. An abort
// that cannot be sent leaves the upload in pendingAborts for a later retry.
async function abortUpload(ctx: MultipartCtx, mp: Multipart): Promise<void> {
  for (let round = 1; round <= 4; round++) {
    try {
      await ctx.client.send(new AbortMultipartUploadCommand({ Bucket: ctx.s.bucket, Key: mp.key, UploadId: mp.uploadId }));
    } catch (err) {
      if (errorCode(err) !== 'NoSuchUpload') {
        // The store is unreachable or refusing: never leave the upload behind, try again later.
        ctx.pendingAborts.set(mp.uploadId, mp);
        return;
      }
    }
    await sleep(200 * round);
    if (!(await uploadExists(ctx, mp))) {
      ctx.pendingAborts.delete(mp.uploadId);
      return;
    }
  }
}

/** Retries aborts that failed earlier; called after each completed upload and, with patience, on close. */
export async function retryPendingAborts(ctx: MultipartCtx, rounds: number): Promise<void> {
  for (let round = 0; round < rounds && ctx.pendingAborts.size > 0; round++) {
    if (round > 0) await sleep(1000 * 2 ** round);
    for (const mp of [...ctx.pendingAborts.values()]) await abortUpload(ctx, mp);
  }
}

/** Whether the upload still has state on the server; false when that cannot be checked (e.g. no permission). */
async function uploadExists(ctx: MultipartCtx, mp: Multipart): Promise<boolean> {
  try {
    await ctx.client.send(new ListPartsCommand({ Bucket: ctx.s.bucket, Key: mp.key, UploadId: mp.uploadId, MaxParts: 1 }));
    return true;
  } catch {
    return false;
  }
}
