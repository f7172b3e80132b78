// The S3 adapter. Large files go up as our own multipart upload of ranged file streams (s3-multipart.ts):
// measured ~5x faster than @aws-sdk/lib-storage's Upload, which buffers and SHA-256-hashes every part (DESIGN
// section 7). Small files go as one direct signed PUT (s3-direct-put.ts), and objects come back through one direct signed
// GET (s3-get.ts), each with the SDK as fallback. The s3-*
// modules are the only users of the AWS SDK.
import { CopyObjectCommand, HeadObjectCommand, PutObjectCommand, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { StorageError } from '../errors.ts';
import { crc32cOfKnown, crc32cToBase64 } from '../checksum/crc32c.ts';
import { alreadyExistsError } from './already-exists.ts';
import type { Backend, CopyOptions, ObjectInfo, PutOptions, PutSource, SignalOptions } from './backend.ts';
import { sendWithBody } from './s3-body.ts';
import { createAgents, createClient } from './s3-client.ts';
import { resolveSettings, type S3BackendConfig } from './s3-config.ts';
import { createDirectGet, type DirectGet } from './s3-direct-get.ts';
import { createDirectPut, type DirectPut } from './s3-direct-put.ts';
import { getObject, getRangeInto } from './s3-get.ts';
import { list, listDirs } from './s3-list.ts';
import { httpStatus, isNotFound, s3Error, unquote } from './s3-errors.ts';
import { abortIncompleteUpload, listIncompleteUploads } from './s3-incomplete.ts';
import { deleteKeys } from './s3-delete.ts';
import { multipartCopy, multipartPut, retryPendingAborts, type MultipartCtx } from './s3-multipart.ts';
import { encodeKeyPath } from './sigv4.ts';
import { readWholeSource } from './source.ts';
import { s3StorageClass } from './s3-encryption.ts';

export type { S3BackendConfig, S3ChecksumMode } from './s3-config.ts';
export { choosePartSize } from './s3-multipart.ts';

interface Ctx extends MultipartCtx {
  /** Small puts without the SDK's middleware; undefined answers fall back to the client. */
  readonly direct: DirectPut;
  /** Gets without the SDK's middleware (s3-get.ts). */
  readonly directGet: DirectGet;
  /** Whether HeadObject may ask for the stored checksum (set false once a store refuses it, see stat). */
  checksumMode: boolean;
}

export function createS3Backend(config: S3BackendConfig): Backend {
  const agents = createAgents(config);
  const client = createClient(config, agents);
  const directConfig = {
    client, bucket: config.bucket, endpoint: config.endpoint, forcePathStyle: config.forcePathStyle ?? false,
    httpAgent: agents.http, httpsAgent: agents.https, idleTimeoutMs: config.idleTimeoutMs ?? 120_000,
  };
  const direct = createDirectPut(directConfig);
  const ctx: Ctx = { client, direct, directGet: createDirectGet(directConfig), s: resolveSettings(config), pendingAborts: new Map(), checksumMode: true };
  return {
    description: `s3://${config.bucket}/${ctx.s.prefix}`,
    put: (key, source, options) => put(ctx, key, source, options),
    stat: (key, options) => stat(ctx, key, options),
    list: (prefix, options) => list(ctx, prefix, options),
    listDirs: (prefix, options) => listDirs(ctx, prefix, options),
    get: (key, options) => getObject(ctx, key, options),
    getRangeInto: (key, range, sink, options) => getRangeInto(ctx, key, range, sink, options),
    copy: (from, to, options) => copy(ctx, from, to, options),
    delete: (keys, options) => deleteKeys(ctx, keys, options),
    listIncompleteUploads: (prefix, options) => listIncompleteUploads(ctx, prefix, options),
    abortIncompleteUpload: (upload, options) => abortIncompleteUpload(ctx, upload, options),
    close: async () => {
      await retryPendingAborts(ctx, 5);
      ctx.directGet.close();
      ctx.client.destroy();
    },
  };
}

// ---------- put ----------

/** Small files go as one in-memory body: cheaper per request than a stream with a trailing checksum. */
const SMALL_PUT = 1024 * 1024;

/** The SDK's spelling of a create-only put (S3 conditional writes). */
function ifAbsent(options: PutOptions | undefined): { IfNoneMatch?: string } {
  return options?.createOnly === true ? { IfNoneMatch: '*' } : {};
}

async function put(ctx: Ctx, key: string, source: PutSource, options?: PutOptions): Promise<ObjectInfo> {
  try {
    return await putBySize(ctx, key, source, options);
  } catch (err) {
    if (options?.createOnly === true && await takenAfterFailure(ctx, key, err, options.signal)) {
      throw alreadyExistsError(`S3 object s3://${ctx.s.bucket}/${ctx.s.prefix + key}`, `found after ${(err as StorageError).code ?? 'a failed request'}`, err);
    }
    throw err;
  }
}

/**
 * Whether a create-only put that failed in transit found its key taken. A store may check the condition before
 * reading the body, answer 412 and close the connection while the body is still being sent (versitygw does), so
 * the client sees only a reset; every retry would end the same way. An object under the key then settles it (it
 * may also be this put's own, stored before its answer was lost: the caller compares content when it matters).
 */
async function takenAfterFailure(ctx: Ctx, key: string, err: unknown, signal: AbortSignal | undefined): Promise<boolean> {
  if (!(err instanceof StorageError) || err.permanent || signal?.aborted) return false;
  try {
    return (await stat(ctx, key, { signal })) !== undefined;
  } catch {
    return false; // the store cannot be asked either: the transport error stands, for the engine to retry
  }
}

async function putBySize(ctx: Ctx, key: string, source: PutSource, options?: PutOptions): Promise<ObjectInfo> {
  if (source.size > ctx.s.multipartThreshold) {
    return { key, size: source.size, etag: await multipartPut(ctx, ctx.s.prefix + key, source, options) };
  }
  if (source.size <= SMALL_PUT) return putSmall(ctx, key, source, options);
  try {
    const out = await sendWithBody(source.open(), options?.onBytes, options?.signal, (body, abortSignal) =>
      ctx.client.send(new PutObjectCommand({
        Bucket: ctx.s.bucket, Key: ctx.s.prefix + key, Body: body, ContentLength: source.size, ...ifAbsent(options),
        ...(ctx.s.checksums ? { ChecksumAlgorithm: 'CRC32C' } : {}), ...ctx.s.sse.write, ...s3StorageClass(options?.storageClass).param,
      }), { abortSignal }));
    return { key, size: source.size, etag: unquote(out.ETag) };
  } catch (err) {
    throw s3Error(err, 'PutObject', ctx.s.bucket, ctx.s.prefix + key, options?.signal);
  }
}

async function putSmall(ctx: Ctx, key: string, source: PutSource, options?: PutOptions): Promise<ObjectInfo> {
  const full = ctx.s.prefix + key;
  try {
    const body = await readWholeSource(source, options?.signal);
    if (body.length !== source.size) {
      throw new StorageError(`read ${body.length} bytes of ${full}, expected ${source.size}`, { permanent: false, code: 'SizeMismatch' });
    }
    // With checksums on, the store verifies the CRC32C the manifest records (instead of the SDK's default CRC32).
    const crc32c = ctx.s.checksums ? crc32cToBase64(crc32cOfKnown(body)) : undefined; // hashed once, by the source
    // A refused condition (412) throws here: the SDK is never asked to repeat a create-only put.
    const fast = await ctx.direct.put(full, body, crc32c, options?.signal, options?.createOnly === true,
      { ...ctx.s.sse.headers, ...s3StorageClass(options?.storageClass).header });
    let etag: string | undefined;
    if (fast !== undefined && 'etag' in fast) etag = fast.etag;
    else {
      const out = await ctx.client.send(new PutObjectCommand({
        Bucket: ctx.s.bucket, Key: full, Body: body, ...(crc32c === undefined ? {} : { ChecksumCRC32C: crc32c }), ...ifAbsent(options),
        ...ctx.s.sse.write, ...s3StorageClass(options?.storageClass).param,
      }), { abortSignal: options?.signal });
      etag = unquote(out.ETag);
      // The SDK succeeded where the direct request was refused (a region redirect, a store's quirk): every
      // further small file goes through the SDK rather than costing two requests.
      if (fast !== undefined) ctx.direct.disable();
    }
    options?.onBytes?.(body.length);
    return { key, size: source.size, etag };
  } catch (err) {
    throw s3Error(err, 'PutObject', ctx.s.bucket, full, options?.signal);
  }
}

// ---------- read side ----------

/**
 * The object's CRC32C when the store holds one for the whole object. A multipart object's composite checksum
 * ("…-N", a checksum of part checksums) and a CRC32 say nothing about the CRC32C of the bytes.
 */
function fullObjectCrc32c(out: HeadObjectCommandOutput): string | undefined {
  const crc = out.ChecksumCRC32C;
  if (crc === undefined || crc.includes('-') || out.ChecksumType === 'COMPOSITE') return undefined;
  return crc;
}

async function head(ctx: Ctx, full: string, signal: AbortSignal | undefined): Promise<HeadObjectCommandOutput> {
  const send = (checksums: boolean): Promise<HeadObjectCommandOutput> => ctx.client.send(new HeadObjectCommand({
    Bucket: ctx.s.bucket, Key: full, ...(checksums ? { ChecksumMode: 'ENABLED' } : {}), ...ctx.s.sse.read,
  }), { abortSignal: signal });
  if (!ctx.checksumMode) return send(false);
  try {
    return await send(true);
  } catch (err) {
    // Reading the checksum of an SSE-KMS object needs kms:Decrypt, which a write-only backup role may lack: a
    // 403 is asked again without it, and if that succeeds, stat does without checksums from then on.
    if (httpStatus(err) !== 403 || signal?.aborted) throw err;
    const out = await send(false);
    ctx.checksumMode = false;
    return out;
  }
}

async function stat(ctx: Ctx, key: string, options?: SignalOptions): Promise<ObjectInfo | undefined> {
  const full = ctx.s.prefix + key;
  try {
    const out = await head(ctx, full, options?.signal);
    const crc32c = fullObjectCrc32c(out);
    return {
      key, size: out.ContentLength ?? 0, etag: unquote(out.ETag), lastModified: out.LastModified, ...(crc32c === undefined ? {} : { crc32c }),
    };
  } catch (err) {
    if (!options?.signal?.aborted && isNotFound(err)) return undefined;
    throw s3Error(err, 'HeadObject', ctx.s.bucket, full, options?.signal);
  }
}

// ---------- copy ----------

function copySource(bucket: string, key: string): string {
  return `${bucket}/${encodeKeyPath(key)}`;
}

async function copy(ctx: Ctx, fromKey: string, toKey: string, options?: CopyOptions): Promise<ObjectInfo> {
  // The size decides between CopyObject and a multipart copy; ask the store only when the caller does not know it.
  const from = options?.size !== undefined ? { size: options.size } : await stat(ctx, fromKey, options);
  if (from === undefined) {
    throw new StorageError(`S3 object s3://${ctx.s.bucket}/${ctx.s.prefix + fromKey} does not exist (NoSuchKey)`,
      { permanent: true, code: 'NoSuchKey' });
  }
  const full = ctx.s.prefix + toKey;
  const source = copySource(ctx.s.bucket, ctx.s.prefix + fromKey);
  if (from.size > ctx.s.copyThreshold) {
    return { key: toKey, size: from.size, etag: await multipartCopy(ctx, source, full, from.size, options?.signal, options?.storageClass) };
  }
  try {
    // The copy is encrypted like an upload; with SSE-C the source's key is needed to read it as well.
    const out = await ctx.client.send(new CopyObjectCommand({
      Bucket: ctx.s.bucket, Key: full, CopySource: source, ...ctx.s.sse.write, ...ctx.s.sse.copySource,
      ...s3StorageClass(options?.storageClass).param,
    }), { abortSignal: options?.signal });
    const r = out.CopyObjectResult;
    return { key: toKey, size: from.size, etag: unquote(r?.ETag), lastModified: r?.LastModified };
  } catch (err) {
    throw s3Error(err, 'CopyObject', ctx.s.bucket, full, options?.signal);
  }
}
