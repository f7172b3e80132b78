// The S3 adapter. Large files go up as our own multipart upload of ranged file streams: measured ~5x faster
// than @aws-sdk/lib-storage's Upload, which buffers and SHA-256-hashes every part (DESIGN section 7). Small
// files go as one direct signed PUT (s3-direct-put.ts), with the SDK as fallback. This module and that one are
// the only users of the AWS SDK.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable, Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { StorageError } from '../errors.ts';
import { crc32cOf, crc32cToBase64 } from '../checksum/crc32c.ts';
import { createDirectPut, type DirectPut } from './s3-direct-put.ts';
import { readWholeSource } from './source.ts';
import { encodeKeyPath } from './sigv4.ts';
import type { Backend, CopyOptions, GetOptions, ObjectInfo, PutOptions, PutSource, SignalOptions } from './backend.ts';

export type S3ChecksumMode = 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';

export interface S3BackendConfig {
  readonly bucket: string;
  /** Key prefix inside the bucket, with or without a trailing slash; '' for the bucket root. */
  readonly prefix: string;
  readonly region: string;
  readonly endpoint?: string;
  readonly forcePathStyle?: boolean;
  /** Files larger than this go up as a multipart upload. Default 64 MiB. */
  readonly multipartThreshold?: number;
  /** Wanted part size; grown so that no upload exceeds 10,000 parts; at least 8 MiB. Default 64 MiB. */
  readonly partSize?: number;
  /** Parts of one file in flight at once. Default 4. */
  readonly partConcurrency?: number;
  /** Attempts per part (each reopens its byte range). Default 3. */
  readonly partAttempts?: number;
  /** SDK-level attempts for non-streaming requests; kept small because the engine owns retries. Default 3. */
  readonly maxAttempts?: number;
  /** SDK requestChecksumCalculation / responseChecksumValidation. Default WHEN_SUPPORTED. */
  readonly checksumMode?: S3ChecksumMode;
  /** Sockets in the one keep-alive pool; size it to the caller's total concurrency. Default 64. */
  readonly maxSockets?: number;
  /** Objects larger than this are copied part by part (UploadPartCopy). Default 5 GiB, CopyObject's limit. */
  readonly multipartCopyThreshold?: number;
  /** A socket with no traffic for this long fails its request (a stalled connection must not hang a run). */
  readonly idleTimeoutMs?: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const MAX_PARTS = 10_000;
const MIN_PART_SIZE = 8 * MiB;
const MAX_PART_SIZE = 5 * GiB;
const DELETE_BATCH = 1000;

interface Settings {
  readonly bucket: string;
  /** '' or ends with '/'. */
  readonly prefix: string;
  readonly multipartThreshold: number;
  readonly partSize: number | undefined;
  readonly partConcurrency: number;
  readonly partAttempts: number;
  readonly copyThreshold: number;
  readonly checksums: boolean;
}

interface Ctx {
  readonly client: S3Client;
  /** Small puts without the SDK's middleware; undefined answers fall back to the client. */
  readonly direct: DirectPut;
  readonly s: Settings;
  /** Multipart uploads whose abort failed (e.g. the store was unreachable): retried later, and on close. */
  readonly pendingAborts: Map<string, Multipart>;
}

/** The part size for an object: the wanted size, grown (in whole MiB) until the object fits in 10,000 parts. */
export function choosePartSize(size: number, wanted = 64 * MiB): number {
  const needed = Math.ceil(size / MAX_PARTS);
  const chosen = Math.ceil(Math.max(wanted, needed, MIN_PART_SIZE) / MiB) * MiB;
  if (chosen > MAX_PART_SIZE) throw new RangeError(`object of ${size} bytes exceeds the S3 multipart limit`);
  return chosen;
}

export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

function resolveSettings(config: S3BackendConfig): Settings {
  return {
    bucket: config.bucket,
    prefix: normalizePrefix(config.prefix),
    multipartThreshold: config.multipartThreshold ?? 64 * MiB,
    partSize: config.partSize,
    partConcurrency: Math.max(1, config.partConcurrency ?? 4),
    partAttempts: Math.max(1, config.partAttempts ?? 3),
    copyThreshold: Math.min(config.multipartCopyThreshold ?? 5 * GiB, 5 * GiB),
    checksums: (config.checksumMode ?? 'WHEN_SUPPORTED') === 'WHEN_SUPPORTED',
  };
}

// The SDK console.warns on every failed streaming request; failures surface as thrown errors instead.
const QUIET_LOGGER = { debug(): void {}, info(): void {}, warn(): void {}, error(): void {} };

interface Agents {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
}

function createAgents(config: S3BackendConfig): Agents {
  const agentOptions = { keepAlive: true, maxSockets: config.maxSockets ?? 64 };
  return { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };
}

function createClient(config: S3BackendConfig, agents: Agents): S3Client {
  const mode = config.checksumMode ?? 'WHEN_SUPPORTED';
  return new S3Client({
    region: config.region,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    forcePathStyle: config.forcePathStyle ?? false,
    followRegionRedirects: true,
    maxAttempts: config.maxAttempts ?? 3,
    requestChecksumCalculation: mode,
    responseChecksumValidation: mode,
    // Expect: 100-continue costs a round trip per part and saves nothing when requests are rarely rejected.
    expectContinueHeader: false,
    logger: QUIET_LOGGER,
    requestHandler: {
      httpAgent: agents.http,
      httpsAgent: agents.https,
      connectionTimeout: 10_000,
      socketTimeout: config.idleTimeoutMs ?? 120_000,
    },
  });
}

export function createS3Backend(config: S3BackendConfig): Backend {
  const agents = createAgents(config);
  const client = createClient(config, agents);
  const direct = createDirectPut({
    client, bucket: config.bucket, endpoint: config.endpoint, forcePathStyle: config.forcePathStyle ?? false,
    httpAgent: agents.http, httpsAgent: agents.https, idleTimeoutMs: config.idleTimeoutMs ?? 120_000,
  });
  const ctx: Ctx = { client, direct, s: resolveSettings(config), pendingAborts: new Map() };
  return {
    description: `s3://${config.bucket}/${ctx.s.prefix}`,
    put: (key, source, options) => put(ctx, key, source, options),
    stat: (key, options) => stat(ctx, key, options),
    list: (prefix, options) => list(ctx, prefix, options),
    listDirs: (prefix, options) => listDirs(ctx, prefix, options),
    get: (key, options) => get(ctx, key, options),
    copy: (from, to, options) => copy(ctx, from, to, options),
    delete: (keys, options) => deleteKeys(ctx, keys, options),
    close: async () => {
      await retryPendingAborts(ctx, 5);
      ctx.client.destroy();
    },
  };
}

// ---------- errors ----------

const PERMANENT_CODES = new Set([
  'NoSuchBucket', 'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken',
  'InvalidBucketName', 'PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException',
  'NoSuchKey', 'NotFound', 'Forbidden', 'AllAccessDisabled', 'AccountProblem', 'NoSuchUpload',
]);

function errorCode(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    if (err.name !== 'Error' && err.name !== '') return err.name;
  }
  return 'Unknown';
}

function httpStatus(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata;
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

function where(bucket: string, key: string | undefined): string {
  return key === undefined ? `bucket "${bucket}"` : `s3://${bucket}/${key}`;
}

// One line per cause, naming the bucket or key; auth failures deliberately omit the server's text.
function describe(code: string, op: string, bucket: string, key: string | undefined, err: unknown): string {
  const at = where(bucket, key);
  const status = httpStatus(err);
  // A HEAD error has no body, so the SDK knows only the status.
  if ((code === 'Unknown' || code === 'UnknownError') && status !== undefined) {
    if (status === 403) return `S3 denied ${op} on ${at} (HTTP 403: wrong credentials or no permission)`;
    if (status === 404) return `S3 object ${at} does not exist (HTTP 404)`;
    return `S3 ${op} on ${at} failed with HTTP ${status}`;
  }
  switch (code) {
    case 'NoSuchBucket': return `S3 bucket "${bucket}" does not exist (NoSuchBucket)`;
    case 'NoSuchKey': case 'NotFound': return `S3 object ${at} does not exist (${code})`;
    case 'InvalidBucketName': return `S3 bucket name "${bucket}" is invalid (InvalidBucketName)`;
    case 'AccessDenied': case 'Forbidden': return `S3 denied ${op} on ${at} (${code})`;
    case 'InvalidAccessKeyId': return `S3 does not know the access key used for ${at} (InvalidAccessKeyId)`;
    case 'SignatureDoesNotMatch': return `S3 rejected the request signature for ${at}: wrong secret key? (SignatureDoesNotMatch)`;
    case 'ExpiredToken': case 'InvalidToken': return `S3 credentials used for ${at} are expired or invalid (${code})`;
    case 'PermanentRedirect': case 'AuthorizationHeaderMalformed': case 'IllegalLocationConstraintException':
      return `S3 bucket "${bucket}" is not in the configured region (${code})`;
    default: {
      const text = err instanceof Error ? err.message.split('\n')[0] : String(err);
      return `S3 ${op} on ${at} failed: ${text} (${code})`;
    }
  }
}

/** The StorageError for an SDK failure, or the abort reason when the caller aborted. */
function s3Error(err: unknown, op: string, s: Settings, key?: string, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  if (err instanceof StorageError) return err;
  const code = errorCode(err);
  const status = httpStatus(err);
  const permanent = PERMANENT_CODES.has(code) || status === 301 || status === 401 || status === 403 || status === 404;
  return new StorageError(describe(code, op, s.bucket, key, err), { permanent, code, cause: err });
}

function isNotFound(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'NotFound' || code === 'NoSuchKey' || httpStatus(err) === 404;
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}

// ---------- put ----------

const MIN_BODY_CHUNK = 64 * 1024;

/**
 * The stream the SDK reads: source bytes, counted. A source failure aborts the request (via onFailure) and
 * then ends this stream without an error: the SDK neither notices a failed body by itself (the request would
 * wait for the missing bytes until the server times out) nor listens for errors on its aws-chunked wrapper.
 * Small chunks are gathered: the SDK's aws-chunked encoder refuses any chunk but the last below 8 KiB.
 */
function guardedBody(source: Readable, onBytes: ((bytes: number) => void) | undefined,
  onFailure: (err: unknown) => void): Readable {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const body = new Transform({
    transform(chunk: Buffer, _enc, done): void {
      onBytes?.(chunk.length);
      if (pendingBytes === 0 && chunk.length >= MIN_BODY_CHUNK) return done(null, chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < MIN_BODY_CHUNK) return done();
      const gathered = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      done(null, gathered);
    },
    flush(done): void {
      done(null, pendingBytes === 0 ? undefined : Buffer.concat(pending, pendingBytes));
    },
  });
  source.on('error', (err) => {
    onFailure(err);
    body.destroy();
  });
  body.on('error', () => {}); // only the SDK destroys it with an error, and the SDK reports that error itself
  body.on('close', () => source.destroy()); // request over, however it ended: release the file
  source.pipe(body);
  return body;
}

/** Sends a request whose body is read from source; a read failure rejects with that failure. */
async function sendWithBody<T>(source: Readable, onBytes: ((bytes: number) => void) | undefined,
  signal: AbortSignal | undefined, send: (body: Readable, signal: AbortSignal) => Promise<T>): Promise<T> {
  const failed = new AbortController();
  let readError: unknown;
  const body = guardedBody(source, onBytes, (err) => {
    readError = err;
    failed.abort(err);
  });
  try {
    return await send(body, signal === undefined ? failed.signal : AbortSignal.any([signal, failed.signal]));
  } catch (err) {
    throw readError ?? err;
  } finally {
    body.destroy();
  }
}

/** Small files go as one in-memory body: cheaper per request than a stream with a trailing checksum. */
const SMALL_PUT = 1024 * 1024;

async function put(ctx: Ctx, key: string, source: PutSource, options?: PutOptions): Promise<ObjectInfo> {
  if (source.size > ctx.s.multipartThreshold) return putMultipart(ctx, key, source, options);
  if (source.size <= SMALL_PUT) return putSmall(ctx, key, source, options);
  try {
    const out = await sendWithBody(source.open(), options?.onBytes, options?.signal, (body, abortSignal) =>
      ctx.client.send(new PutObjectCommand({
        Bucket: ctx.s.bucket, Key: ctx.s.prefix + key, Body: body, ContentLength: source.size,
      }), { abortSignal }));
    return { key, size: source.size, etag: unquote(out.ETag) };
  } catch (err) {
    throw s3Error(err, 'PutObject', ctx.s, ctx.s.prefix + key, options?.signal);
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
    const crc32c = ctx.s.checksums ? crc32cToBase64(crc32cOf(body)) : undefined;
    const fast = await ctx.direct.put(full, body, crc32c, options?.signal);
    let etag: string | undefined;
    if (fast !== undefined && 'etag' in fast) etag = fast.etag;
    else {
      const out = await ctx.client.send(new PutObjectCommand({
        Bucket: ctx.s.bucket, Key: full, Body: body, ...(crc32c === undefined ? {} : { ChecksumCRC32C: crc32c }),
      }), { abortSignal: options?.signal });
      etag = unquote(out.ETag);
      // The SDK succeeded where the direct request was refused (a region redirect, a store's quirk): every
      // further small file goes through the SDK rather than costing two requests.
      if (fast !== undefined) ctx.direct.disable();
    }
    options?.onBytes?.(body.length);
    return { key, size: source.size, etag };
  } catch (err) {
    throw s3Error(err, 'PutObject', ctx.s, full, options?.signal);
  }
}

interface Multipart {
  readonly key: string; // full key
  readonly uploadId: string;
  readonly partSize: number;
  readonly size: number;
  readonly signal: AbortSignal;
}

async function createUpload(ctx: Ctx, key: string, signal?: AbortSignal, checksums = ctx.s.checksums): Promise<string> {
  try {
    const out = await ctx.client.send(
      new CreateMultipartUploadCommand({ Bucket: ctx.s.bucket, Key: key, ...(checksums ? { ChecksumAlgorithm: 'CRC32' } : {}) }),
      { abortSignal: signal },
    );
    if (out.UploadId === undefined) throw new Error('CreateMultipartUpload returned no UploadId');
    return out.UploadId;
  } catch (err) {
    throw s3Error(err, 'CreateMultipartUpload', ctx.s, key, signal);
  }
}

/** Runs a multipart upload's parts, then completes it; any failure or abort aborts the upload on the server. */
async function runMultipart(
  ctx: Ctx, key: string, size: number, partSize: number, signal: AbortSignal | undefined,
  createId: () => Promise<string>, sendPart: (mp: Multipart, index: number) => Promise<CompletedPart>,
): Promise<string | undefined> {
  const uploadId = await createId();
  const inner = new AbortController();
  const onAbort = (): void => inner.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const mp: Multipart = { key, uploadId, partSize, size, signal: inner.signal };
  try {
    const parts = await runParts(ctx, mp, inner, sendPart);
    const etag = await complete(ctx, mp, parts);
    if (ctx.pendingAborts.size > 0) await retryPendingAborts(ctx, 1); // the store answers again: clean up now
    return etag;
  } catch (err) {
    await abortUpload(ctx, mp);
    throw s3Error(err, 'multipart upload', ctx.s, key, signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function putMultipart(ctx: Ctx, key: string, source: PutSource, options?: PutOptions): Promise<ObjectInfo> {
  const full = ctx.s.prefix + key;
  const partSize = choosePartSize(source.size, ctx.s.partSize);
  const etag = await runMultipart(ctx, full, source.size, partSize, options?.signal,
    () => createUpload(ctx, full, options?.signal),
    (mp, index) => uploadPart(ctx, mp, source, index, options?.onBytes));
  return { key, size: source.size, etag };
}

/** Up to partConcurrency parts in flight; the first failure stops the rest, and all settle before returning. */
async function runParts(
  ctx: Ctx, mp: Multipart, inner: AbortController, sendPart: (mp: Multipart, index: number) => Promise<CompletedPart>,
): Promise<CompletedPart[]> {
  const count = Math.max(1, Math.ceil(mp.size / mp.partSize));
  const parts = new Array<CompletedPart>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && !mp.signal.aborted) {
      const index = next++;
      parts[index] = await withRetry(ctx.s.partAttempts, mp.signal, () => sendPart(mp, index));
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

async function withRetry<T>(attempts: number, signal: AbortSignal, run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      const permanent = err instanceof StorageError && err.permanent;
      if (signal.aborted || permanent || attempt >= attempts) throw err;
      // Exponential backoff with full jitter: parts failing together do not retry together.
      await sleep(Math.random() * 250 * 2 ** attempt, undefined, { signal });
    }
  }
}

async function uploadPart(
  ctx: Ctx, mp: Multipart, source: PutSource, index: number, onBytes?: (bytes: number) => void,
): Promise<CompletedPart> {
  const start = index * mp.partSize;
  const end = Math.min(mp.size, start + mp.partSize);
  const PartNumber = index + 1;
  try {
    const out = await sendWithBody(source.open(start, end), onBytes, mp.signal, (body, abortSignal) =>
      ctx.client.send(new UploadPartCommand({
        Bucket: ctx.s.bucket, Key: mp.key, UploadId: mp.uploadId, PartNumber, Body: body, ContentLength: end - start,
        ...(ctx.s.checksums ? { ChecksumAlgorithm: 'CRC32' } : {}),
      }), { abortSignal }));
    if (out.ETag === undefined) throw new Error(`UploadPart ${PartNumber} returned no ETag`);
    return { PartNumber, ETag: out.ETag, ...(out.ChecksumCRC32 === undefined ? {} : { ChecksumCRC32: out.ChecksumCRC32 }) };
  } catch (err) {
    throw s3Error(err, `UploadPart ${PartNumber}`, ctx.s, mp.key, mp.signal);
  }
}

async function complete(ctx: Ctx, mp: Multipart, parts: CompletedPart[]): Promise<string | undefined> {
  const out = await ctx.client.send(new CompleteMultipartUploadCommand({
    Bucket: ctx.s.bucket, Key: mp.key, UploadId: mp.uploadId, MultipartUpload: { Parts: parts },
  }), { abortSignal: mp.signal });
  return unquote(out.ETag);
}

// Never under the caller's (possibly aborted) signal: an incomplete upload costs storage until deleted.
// A part request that was cut off may still be stored after the abort (S3 documents this; versitygw does it
// within milliseconds), bringing the upload back: so wait, check, and abort again until it stays gone. An abort
// that cannot be sent leaves the upload in pendingAborts for a later retry.
async function abortUpload(ctx: Ctx, mp: Multipart): Promise<void> {
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
async function retryPendingAborts(ctx: Ctx, rounds: number): Promise<void> {
  for (let round = 0; round < rounds && ctx.pendingAborts.size > 0; round++) {
    if (round > 0) await sleep(1000 * 2 ** round);
    for (const mp of [...ctx.pendingAborts.values()]) await abortUpload(ctx, mp);
  }
}

/** Whether the upload still has state on the server; false when that cannot be checked (e.g. no permission). */
async function uploadExists(ctx: Ctx, mp: Multipart): Promise<boolean> {
  try {
    await ctx.client.send(new ListPartsCommand({ Bucket: ctx.s.bucket, Key: mp.key, UploadId: mp.uploadId, MaxParts: 1 }));
    return true;
  } catch {
    return false;
  }
}

// ---------- read side ----------

async function stat(ctx: Ctx, key: string, options?: SignalOptions): Promise<ObjectInfo | undefined> {
  const full = ctx.s.prefix + key;
  try {
    const out = await ctx.client.send(new HeadObjectCommand({ Bucket: ctx.s.bucket, Key: full }),
      { abortSignal: options?.signal });
    return { key, size: out.ContentLength ?? 0, etag: unquote(out.ETag), lastModified: out.LastModified };
  } catch (err) {
    if (!options?.signal?.aborted && isNotFound(err)) return undefined;
    throw s3Error(err, 'HeadObject', ctx.s, full, options?.signal);
  }
}

async function listPage(
  ctx: Ctx, prefix: string, token: string | undefined, delimiter: string | undefined, signal?: AbortSignal,
): Promise<ListObjectsV2CommandOutput> {
  try {
    return await ctx.client.send(new ListObjectsV2Command({
      Bucket: ctx.s.bucket, Prefix: prefix, ContinuationToken: token, Delimiter: delimiter,
    }), { abortSignal: signal });
  } catch (err) {
    throw s3Error(err, 'ListObjectsV2', ctx.s, prefix, signal);
  }
}

async function* list(ctx: Ctx, prefix: string, options?: SignalOptions): AsyncIterable<ObjectInfo> {
  let token: string | undefined;
  do {
    const page = await listPage(ctx, ctx.s.prefix + prefix, token, undefined, options?.signal);
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined) continue;
      yield { key: o.Key.slice(ctx.s.prefix.length), size: o.Size ?? 0, etag: unquote(o.ETag), lastModified: o.LastModified };
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

export function assertDirPrefix(prefix: string): void {
  if (prefix !== '' && !prefix.endsWith('/')) throw new RangeError(`listDirs prefix must end with "/": ${prefix}`);
}

async function listDirs(ctx: Ctx, prefix: string, options?: SignalOptions): Promise<string[]> {
  assertDirPrefix(prefix);
  const full = ctx.s.prefix + prefix;
  const dirs: string[] = [];
  let token: string | undefined;
  do {
    const page = await listPage(ctx, full, token, '/', options?.signal);
    for (const p of page.CommonPrefixes ?? []) {
      if (p.Prefix !== undefined) dirs.push(p.Prefix.slice(full.length, -1));
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return dirs;
}

async function get(ctx: Ctx, key: string, options?: GetOptions): Promise<Readable> {
  const full = ctx.s.prefix + key;
  try {
    const out = await ctx.client.send(new GetObjectCommand({ Bucket: ctx.s.bucket, Key: full }),
      { abortSignal: options?.signal });
    if (!(out.Body instanceof Readable)) throw new Error('GetObject returned no stream body');
    return out.Body;
  } catch (err) {
    throw s3Error(err, 'GetObject', ctx.s, full, options?.signal);
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
  if (from.size > ctx.s.copyThreshold) return copyMultipart(ctx, fromKey, toKey, from.size, options);
  const full = ctx.s.prefix + toKey;
  try {
    const out = await ctx.client.send(new CopyObjectCommand({
      Bucket: ctx.s.bucket, Key: full, CopySource: copySource(ctx.s.bucket, ctx.s.prefix + fromKey),
    }), { abortSignal: options?.signal });
    const r = out.CopyObjectResult;
    return { key: toKey, size: from.size, etag: unquote(r?.ETag), lastModified: r?.LastModified };
  } catch (err) {
    throw s3Error(err, 'CopyObject', ctx.s, full, options?.signal);
  }
}

async function copyMultipart(
  ctx: Ctx, fromKey: string, toKey: string, size: number, options?: SignalOptions,
): Promise<ObjectInfo> {
  const full = ctx.s.prefix + toKey;
  const source = copySource(ctx.s.bucket, ctx.s.prefix + fromKey);
  // Part-level checksums of a server-side copy would only be the server checking itself.
  const etag = await runMultipart(ctx, full, size, choosePartSize(size, ctx.s.partSize), options?.signal,
    () => createUpload(ctx, full, options?.signal, false),
    (mp, index) => copyPart(ctx, mp, source, index));
  return { key: toKey, size, etag };
}

async function copyPart(ctx: Ctx, mp: Multipart, source: string, index: number): Promise<CompletedPart> {
  const start = index * mp.partSize;
  const end = Math.min(mp.size, start + mp.partSize);
  const PartNumber = index + 1;
  try {
    const out = await ctx.client.send(new UploadPartCopyCommand({
      Bucket: ctx.s.bucket, Key: mp.key, UploadId: mp.uploadId, PartNumber, CopySource: source,
      CopySourceRange: `bytes=${start}-${end - 1}`,
    }), { abortSignal: mp.signal });
    const etag = out.CopyPartResult?.ETag;
    if (etag === undefined) throw new Error(`UploadPartCopy ${PartNumber} returned no ETag`);
    return { PartNumber, ETag: etag };
  } catch (err) {
    throw s3Error(err, `UploadPartCopy ${PartNumber}`, ctx.s, mp.key, mp.signal);
  }
}

// ---------- delete ----------

async function deleteKeys(ctx: Ctx, keys: readonly string[], options?: SignalOptions): Promise<void> {
  for (let i = 0; i < keys.length; i += DELETE_BATCH) {
    await deleteBatch(ctx, keys.slice(i, i + DELETE_BATCH), options?.signal);
  }
}

async function deleteBatch(ctx: Ctx, keys: readonly string[], signal?: AbortSignal): Promise<void> {
  let errors;
  try {
    const out = await ctx.client.send(new DeleteObjectsCommand({
      Bucket: ctx.s.bucket, Delete: { Objects: keys.map((k) => ({ Key: ctx.s.prefix + k })), Quiet: true },
    }), { abortSignal: signal });
    errors = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
  } catch (err) {
    throw s3Error(err, 'DeleteObjects', ctx.s, undefined, signal);
  }
  // DeleteObjects answers 200 even when some keys failed; each failure is reported in the body.
  const first = errors[0];
  if (first === undefined) return;
  const code = first.Code ?? 'Unknown';
  throw new StorageError(
    `S3 could not delete ${errors.length} of ${keys.length} objects in bucket "${ctx.s.bucket}", ` +
      `first s3://${ctx.s.bucket}/${first.Key ?? '?'}: ${first.Message ?? ''} (${code})`,
    { permanent: errors.every((e) => PERMANENT_CODES.has(e.Code ?? '')), code },
  );
}
