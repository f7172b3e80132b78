// The Google Cloud Storage adapter. Every upload is checked end to end: the library hashes the bytes as they
// stream (with our native CRC32C, so hashing is never the bottleneck), compares the object's crc32c that GCS
// reports, and deletes the object on a mismatch. This is the only module that imports the GCS SDK.
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Storage, type Bucket, type File, type FileMetadata } from '@google-cloud/storage';
import { crc32cExtend, crc32cToBase64 } from '../checksum/crc32c.ts';
import { StorageError } from '../errors.ts';
import { missingGoogleCredentialsMessage } from './credential-sources.ts';
import { gcsError, statusOf } from './gcs-errors.ts';
import type { Backend, CopyOptions, GetOptions, ObjectInfo, PutOptions, PutSource, SignalOptions } from './backend.ts';
import { assertDirPrefix, normalizePrefix } from './prefix.ts';
import { readWholeSource } from './source.ts';
import { detachedGcsRead } from './gcs-read-stream.ts';
import type { ServerSideEncryption } from './server-side.ts';

export interface GcsBackendConfig {
  readonly bucket: string;
  /** Object name prefix, with or without a trailing slash; '' for the bucket root. */
  readonly prefix: string;
  /** A custom endpoint (an emulator); the library then skips authentication by itself. */
  readonly apiEndpoint?: string;
  readonly projectId?: string;
  /**
   * Files larger than this use a resumable upload (one streamed request); smaller ones one multipart request, whose
   * body is read into memory, so this is capped at MAX_IN_MEMORY_BODY (1 MiB): the default 8 MiB acts as 1 MiB.
   */
  readonly resumableThreshold?: number;
  /**
   * Send a resumable upload in chunks of this size (a multiple of 256 KiB), one request each, instead of one
   * streamed request (the default). Only for a path that limits the size or duration of a request: the library
   * buffers each chunk in memory and waits a round trip after it, and fake-gcs-server re-hashes everything received
   * so far on every chunk, which makes chunked uploads quadratic there (2 GiB in 16 MiB chunks: ~200 s; in one
   * request: ~17 s). What one request gives up: after a reset the engine resends the file, not one chunk.
   */
  readonly chunkSize?: number;
  /**
   * Milliseconds a request may take, and a resumable upload may go without taking a byte, before it is abandoned.
   * Default 120 s.
   */
  readonly requestTimeoutMs?: number;
  /**
   * A customer-managed KMS key (CMEK) or a customer-supplied key (CSEK) for every object written and every
   * server-side copy; a customer-supplied key is also sent on every read of the objects' bytes or metadata.
   */
  readonly encryption?: ServerSideEncryption;
}

const MiB = 1024 * 1024;
const LIST_PAGE = 1000;
const DELETE_CONCURRENCY = 32;

interface Ctx {
  readonly storage: Storage;
  readonly bucket: Bucket;
  readonly bucketName: string;
  /** '' or ends with '/'. */
  readonly prefix: string;
  readonly resumableThreshold: number;
  readonly requestTimeoutMs: number;
  readonly chunkSize: number | undefined;
  /** What every File object of this backend is made with: the encryption key or KMS key name. */
  readonly fileOptions: { readonly encryptionKey?: Buffer; readonly kmsKeyName?: string };
}

/** The largest body a put reads into memory to send in one request (as S3's direct PUT: s3.ts SMALL_PUT). */
const MAX_IN_MEMORY_BODY = 1024 * 1024;

/** The library's CRC32C validator interface, backed by the native implementation (each chunk hashed once per process). */
function nativeCrc32cValidator(): { update(data: Buffer): void; toString(): string; validate(value: string): boolean } {
  let crc = 0;
  return {
    update(data: Buffer): void {
      crc = crc32cExtend(crc, data); // chunks the hashing source hashed are not hashed again
    },
    toString: () => crc32cToBase64(crc),
    validate: (value: string) => value === crc32cToBase64(crc),
  };
}

export function createGcsBackend(config: GcsBackendConfig): Backend {
  return gcsBackend(config).backend;
}

/**
 * The backend, once credentials are found: against Google's service (no custom endpoint) they are looked up before
 * the first request, because without them the library would go on unauthenticated and a missing credential would
 * look like a network or permission failure. An emulator's endpoint is used without authentication, as the library does.
 */
export async function openGcsBackend(config: GcsBackendConfig): Promise<Backend> {
  const { backend, storage } = gcsBackend(config);
  if (!storage.customEndpoint) {
    try {
      await storage.authClient.getClient();
    } catch (err) {
      throw new StorageError(missingGoogleCredentialsMessage(err), { permanent: true, code: 'NoCredentials', cause: err });
    }
  }
  return backend;
}

function gcsBackend(config: GcsBackendConfig): { backend: Backend; storage: Storage } {
  const storage = new Storage({
    ...(config.apiEndpoint === undefined ? {} : { apiEndpoint: config.apiEndpoint }),
    ...(config.projectId === undefined ? {} : { projectId: config.projectId }),
    crc32cGenerator: nativeCrc32cValidator,
    timeout: config.requestTimeoutMs ?? 120_000,
    // Few, quick library retries: the engine owns retries (with backoff that outlasts an outage). The library
    // retries an upload only when it carries a precondition (createOnly); others are left to the engine.
    retryOptions: { autoRetry: true, maxRetries: 2, maxRetryDelay: 4, totalTimeout: 60 },
  });
  const ctx: Ctx = {
    storage,
    bucket: storage.bucket(config.bucket),
    bucketName: config.bucket,
    prefix: normalizePrefix(config.prefix),
    resumableThreshold: config.resumableThreshold ?? 8 * MiB,
    requestTimeoutMs: config.requestTimeoutMs ?? 120_000,
    chunkSize: config.chunkSize,
    fileOptions: gcsFileOptions(config.encryption),
  };
  const backend: Backend = {
    description: `gs://${config.bucket}/${ctx.prefix}`,
    put: (key, source, options) => put(ctx, key, source, options),
    stat: (key, options) => stat(ctx, key, options),
    list: (prefix, options) => list(ctx, prefix, options),
    listDirs: (prefix, options) => listDirs(ctx, prefix, options),
    get: (key, options) => get(ctx, key, options),
    copy: (from, to, options) => copy(ctx, from, to, options),
    delete: (keys, options) => deleteKeys(ctx, keys, options),
    close: async () => {},
  };
  return { backend, storage };
}

function gcsFileOptions(e: ServerSideEncryption | undefined): Ctx['fileOptions'] {
  if (e?.kind === 'gcs-kms') return { kmsKeyName: e.keyName };
  if (e?.kind === 'gcs-customer-key') return { encryptionKey: e.key };
  return {};
}

/** Every object of the backend through here, so that its encryption applies to each request the library makes. */
function fileOf(ctx: Ctx, name: string, generation?: number): File {
  return ctx.bucket.file(name, { ...ctx.fileOptions, ...(generation === undefined ? {} : { generation }) });
}

function infoOf(ctx: Ctx, meta: FileMetadata): ObjectInfo {
  return {
    key: (meta.name ?? '').slice(ctx.prefix.length),
    size: Number(meta.size ?? 0),
    ...(meta.generation === undefined ? {} : { etag: String(meta.generation) }),
    ...(meta.crc32c === undefined ? {} : { crc32c: meta.crc32c }),
    ...(meta.updated === undefined ? {} : { lastModified: new Date(meta.updated) }),
  };
}

// ---------- put ----------

/** What both upload paths (single request and resumable) send. */
interface UploadOptions {
  readonly validation: 'crc32c';
  readonly contentType: string;
  readonly preconditionOpts?: { readonly ifGenerationMatch: number };
  readonly metadata?: { readonly storageClass: string };
}

/** Counts bytes for progress and the watchdog, and fails a source that ends short of the size the upload declared. */
function counter(size: number, onBytes: (bytes: number) => void): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done): void {
      seen += chunk.length;
      onBytes(chunk.length);
      done(null, chunk);
    },
    flush(done): void {
      done(seen === size ? null : new Error(`the source ended after ${seen} of ${size} bytes`));
    },
  });
}

async function put(ctx: Ctx, key: string, source: PutSource, options?: PutOptions): Promise<ObjectInfo> {
  const name = ctx.prefix + key;
  const file = fileOf(ctx, name);
  // validation: the library hashes what it sends and, on a crc32c mismatch, deletes the object and fails.
  // ifGenerationMatch 0: "only if no live object has this name"; a resumable upload carries it from its session.
  const common: UploadOptions = {
    validation: 'crc32c', contentType: 'application/octet-stream',
    ...(options?.createOnly === true ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
    ...(options?.storageClass === undefined ? {} : { metadata: { storageClass: options.storageClass } }),
  };
  try {
    // A single-request body is held in memory: only small ones, so that memory stays concurrency × 1 MiB here,
    // not concurrency × the multipart threshold (64 MiB by default) that callers pass as resumableThreshold.
    if (source.size <= Math.min(ctx.resumableThreshold, MAX_IN_MEMORY_BODY)) {
      const body = await readWholeSource(source, options?.signal); // a read failure comes before any request
      options?.onBytes?.(body.length);
      await file.save(body, { ...common, resumable: false });
    } else {
      await resumableUpload(ctx, file, source, common, options);
    }
    return checkedInfo(ctx, name, file.metadata, source.size);
  } catch (err) {
    throw gcsError(ctx, err, 'upload', name, 'bucket', options?.signal);
  }
}

/**
 * A resumable upload (one streamed request unless chunkSize is set), watched: the library's own timeout does not
 * cover its upload requests, so a connection that stops taking bytes would hang the run. No progress for
 * requestTimeoutMs fails the upload (the engine retries). Whatever fails it, its requests are aborted with it.
 */
async function resumableUpload(
  ctx: Ctx, file: File, source: PutSource, common: UploadOptions, options: PutOptions | undefined,
): Promise<void> {
  const cancel = new AbortController();
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const kick = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => { stalled = true; cancel.abort(); }, ctx.requestTimeoutMs);
  };
  const signal = options?.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
  tieRequests(file, signal);
  // A declared size: GCS then completes no object of another length, and each request has a fixed-length body.
  const out = file.createWriteStream({ ...common, resumable: true, metadata: { ...common.metadata, contentLength: source.size },
    ...(ctx.chunkSize === undefined ? {} : { chunkSize: ctx.chunkSize }) });
  kick();
  try {
    await pipeline(source.open(), counter(source.size, (n) => { kick(); options?.onBytes?.(n); }), out, { signal });
  } catch (err) {
    cancel.abort(); // a failed source or a caller's abort: no request of this upload may outlive the put
    if (stalled && !options?.signal?.aborted) {
      throw new StorageError(`GCS upload of gs://${ctx.bucketName}/${file.name} made no progress for ${ctx.requestTimeoutMs} ms`,
        { permanent: false, code: 'Stalled', cause: err });
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** What the upload's request adapter reads and changes of a gaxios request (gaxios is the library's, not ours). */
interface LibraryRequest {
  readonly headers: Headers;
  readonly signal?: AbortSignal | undefined;
}
type RequestOptions = ReturnType<File['interceptors'][number]['request']>;

/**
 * Ties the library's requests for one upload to `signal`. The library aborts its request only when the upload
 * itself errors, not when the stream writing into it fails, so a streamed request would otherwise wait for bytes
 * forever (measured: still open long after the put had failed). gaxios' per-request `adapter` option, which the
 * library copies from the file's request interceptors into each upload request, is the one seam that reaches them.
 */
function tieRequests(file: File, signal: AbortSignal): void {
  const adapter = (request: LibraryRequest, send: (request: LibraryRequest) => Promise<unknown>): Promise<unknown> =>
    send({
      ...request,
      headers: withBodyLength(request.headers),
      signal: request.signal === undefined ? signal : AbortSignal.any([request.signal, signal]),
    });
  // The interceptor is typed for the library's other HTTP client; its upload hands these options to gaxios.
  file.interceptors.push({ request: (opts) => ({ ...opts, adapter }) as unknown as RequestOptions });
}

/**
 * The library streams the request that sends an N-byte object from byte S on (Content-Range "bytes S-*" of N) with
 * no length. It carries N − S bytes: saying so makes it the fixed-length body GCS documents for a single-request
 * upload, whose end the server and any proxy on the way know.
 */
function withBodyLength(headers: Headers): Headers {
  const range = /^bytes (\d+)-\*\/(\d+)$/.exec(headers.get('content-range') ?? '');
  if (range === null) return headers;
  const sized = new Headers(headers);
  sized.set('content-length', String(Number(range[2]) - Number(range[1])));
  return sized;
}

function checkedInfo(ctx: Ctx, name: string, meta: FileMetadata, expectedSize: number): ObjectInfo {
  const info = infoOf(ctx, meta);
  if (info.size !== expectedSize) {
    throw new StorageError(`GCS upload of gs://${ctx.bucketName}/${name}: stored ${info.size} bytes, sent ${expectedSize}`,
      { permanent: false, code: 'SizeMismatch' });
  }
  return info;
}

// ---------- read side ----------

async function stat(ctx: Ctx, key: string, options?: SignalOptions): Promise<ObjectInfo | undefined> {
  const name = ctx.prefix + key;
  try {
    options?.signal?.throwIfAborted();
    const [meta] = await fileOf(ctx, name).getMetadata();
    return infoOf(ctx, meta);
  } catch (err) {
    if (!options?.signal?.aborted && statusOf(err) === 404) return undefined;
    throw gcsError(ctx, err, 'stat', name, 'object', options?.signal);
  }
}

interface Page {
  readonly files: File[];
  readonly prefixes: string[];
  readonly nextToken: string | undefined;
}

async function listPage(ctx: Ctx, prefix: string, pageToken: string | undefined, delimiter?: string): Promise<Page> {
  try {
    const [files, next, raw] = await ctx.bucket.getFiles({
      prefix, autoPaginate: false, maxResults: LIST_PAGE,
      ...(pageToken === undefined ? {} : { pageToken }),
      ...(delimiter === undefined ? {} : { delimiter }),
    });
    const prefixes = (raw as { prefixes?: unknown } | undefined)?.prefixes;
    const token = (next as { pageToken?: unknown } | null)?.pageToken;
    return {
      files,
      prefixes: Array.isArray(prefixes) ? prefixes.filter((p): p is string => typeof p === 'string') : [],
      nextToken: typeof token === 'string' && token !== '' ? token : undefined,
    };
  } catch (err) {
    throw gcsError(ctx, err, 'list', prefix, 'bucket');
  }
}

async function* list(ctx: Ctx, prefix: string, options?: SignalOptions): AsyncIterable<ObjectInfo> {
  let token: string | undefined;
  do {
    options?.signal?.throwIfAborted();
    const page = await listPage(ctx, ctx.prefix + prefix, token);
    for (const f of page.files) yield infoOf(ctx, f.metadata);
    token = page.nextToken;
  } while (token !== undefined);
}

async function listDirs(ctx: Ctx, prefix: string, options?: SignalOptions): Promise<string[]> {
  assertDirPrefix(prefix);
  const full = ctx.prefix + prefix;
  const dirs: string[] = [];
  let token: string | undefined;
  do {
    options?.signal?.throwIfAborted();
    const page = await listPage(ctx, full, token, '/');
    for (const p of page.prefixes) dirs.push(p.slice(full.length, -1));
    token = page.nextToken;
  } while (token !== undefined);
  return dirs;
}

async function get(ctx: Ctx, key: string, options?: GetOptions): Promise<Readable> {
  const name = ctx.prefix + key;
  try {
    options?.signal?.throwIfAborted();
    // Read the generation first: a missing object fails here, not later on the stream, and an object
    // replaced meanwhile fails instead of mixing two versions.
    const [meta] = await fileOf(ctx, name).getMetadata();
    const file = fileOf(ctx, name, Number(meta.generation));
    // A range cannot be checked against the object's CRC32C here; restore checks the whole file's.
    const range = options?.range;
    const stream = file.createReadStream(range === undefined ? { validation: 'crc32c' }
      : { validation: false, start: range.start, end: range.end - 1 });
    return detachedGcsRead(stream, options?.signal);
  } catch (err) {
    throw gcsError(ctx, err, 'download', name, 'object', options?.signal);
  }
}

async function copy(ctx: Ctx, fromKey: string, toKey: string, options?: CopyOptions): Promise<ObjectInfo> {
  const from = ctx.prefix + fromKey;
  try {
    options?.signal?.throwIfAborted();
    // File.copy uses the rewrite API and follows its rewrite tokens, so large objects copy in several calls. Both
    // files carry the encryption (source key to read, destination key or KMS key to write); the storage class
    // goes in the destination's resource.
    const [copied] = await fileOf(ctx, from).copy(fileOf(ctx, ctx.prefix + toKey),
      options?.storageClass === undefined ? {} : ({ storageClass: options.storageClass } as Record<string, string>));
    const [meta] = await copied.getMetadata();
    return infoOf(ctx, meta);
  } catch (err) {
    throw gcsError(ctx, err, 'copy', from, 'object', options?.signal);
  }
}

async function deleteKeys(ctx: Ctx, keys: readonly string[], options?: SignalOptions): Promise<void> {
  for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
    options?.signal?.throwIfAborted();
    await Promise.all(keys.slice(i, i + DELETE_CONCURRENCY).map(async (key) => {
      const name = ctx.prefix + key;
      try {
        await fileOf(ctx, name).delete({ ignoreNotFound: true });
      } catch (err) {
        throw gcsError(ctx, err, 'delete', name, 'object', options?.signal);
      }
    }));
  }
}
