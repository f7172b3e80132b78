// PutObject of a small in-memory body as one plain HTTP request, without the SDK's per-request middleware
// stack: for snapshots of many small files that stack was most of the client's CPU (bench/README.md, W2).
// The SDK still supplies what it is good at: the endpoint (its own resolver, so regions, FIPS, dual-stack and
// path/virtual-host addressing stay the SDK's decision) and the credentials (its default chain, refreshed).
// Only the happy path is handled here. A throttle, server error or network failure throws (the engine retries),
// and so does a create-only put's answer (412: the key is taken; 409: a concurrent conditional write, retried);
// any other answer (redirect, auth, unknown store quirk) is returned as `fallback`, and the caller repeats the
// request through the SDK, which follows region redirects and produces the familiar error messages.
import { hash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { encodeKeyPath, type SigV4Credentials } from './sigv4.ts';
import { DirectS3Error, resolveTarget, xmlField, type DirectConfig, type Target } from './s3-direct-target.ts';

export type DirectPutConfig = DirectConfig;

export type DirectPutResult = { readonly etag: string | undefined } | { readonly fallback: string };

export interface DirectPut {
  /**
   * undefined when this destination needs the SDK (e.g. an endpoint that is not plain SigV4, or disabled).
   * createOnly sends a signed `If-None-Match: *`: the store then keeps an existing object and answers 412.
   */
  put(fullKey: string, body: Buffer, crc32c: string | undefined, signal?: AbortSignal,
    createOnly?: boolean, extraHeaders?: Readonly<Record<string, string>>): Promise<DirectPutResult | undefined>;
  /** From now on every put answers undefined: the caller saw the SDK succeed where a direct request was refused. */
  disable(): void;
}

export { DirectS3Error } from './s3-direct-target.ts';

const MAX_ERROR_BODY = 64 * 1024;

export function createDirectPut(config: DirectPutConfig): DirectPut {
  let target: Promise<Target | undefined> | undefined;
  let disabled = false;
  return {
    disable(): void {
      disabled = true;
    },
    async put(fullKey, body, crc32c, signal, createOnly = false, extraHeaders = {}) {
      if (disabled) return undefined;
      target ??= resolveTarget(config);
      const t = await target;
      if (t === undefined) return undefined;
      const credentials = await config.client.config.credentials() as SigV4Credentials;
      const path = t.basePath + encodeKeyPath(fullKey);
      // Extra headers (server-side encryption, storage class) are x-amz-* headers, signed with the rest.
      const headers = t.signer.sign({
        method: 'PUT', host: t.host, path,
        headers: {
          'content-length': String(body.length), ...integrityHeader(body, crc32c), ...(createOnly ? { 'if-none-match': '*' } : {}),
          ...extraHeaders,
        },
      }, credentials, new Date());
      const res = await send(config, t, path, headers, body, signal);
      return answer(res);
    },
  };
}

/**
 * The payload is not signed (UNSIGNED-PAYLOAD), so the store must check it another way: the CRC32C when
 * checksums are on, else Content-MD5, which every S3-compatible store verifies.
 */
function integrityHeader(body: Buffer, crc32c: string | undefined): Record<string, string> {
  return crc32c === undefined ? { 'content-md5': hash('md5', body, 'base64') } : { 'x-amz-checksum-crc32c': crc32c };
}

interface Answer {
  readonly status: number;
  readonly etag: string | undefined;
  readonly body: string;
}

function send(config: DirectPutConfig, t: Target, path: string, headers: Record<string, string>, body: Buffer,
  signal: AbortSignal | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = t.https ? httpsRequest : httpRequest;
    const req = request({
      hostname: t.hostname, port: t.port, method: 'PUT', path, headers,
      agent: t.https ? config.httpsAgent : config.httpAgent,
      timeout: config.idleTimeoutMs,
      ...(signal === undefined ? {} : { signal }),
    }, (res) => collect(res, resolve, reject));
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no traffic for ${config.idleTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

/** Reads the answer; an error body is kept (bounded) for its code and message, a success body is drained. */
function collect(res: IncomingMessage, resolve: (a: Answer) => void, reject: (err: unknown) => void): void {
  const status = res.statusCode ?? 0;
  const ok = status >= 200 && status < 300;
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (chunk: Buffer) => {
    if (ok || size >= MAX_ERROR_BODY) return;
    chunks.push(chunk);
    size += chunk.length;
  });
  res.on('end', () => {
    const etag = res.headers.etag;
    resolve({ status, etag: typeof etag === 'string' ? etag.replace(/^"|"$/g, '') : undefined, body: Buffer.concat(chunks).toString('utf8') });
  });
  res.on('error', reject);
}

function answer(a: Answer): DirectPutResult {
  if (a.status >= 200 && a.status < 300) return { etag: a.etag };
  const code = xmlField(a.body, 'Code') ?? `HTTP${a.status}`;
  const message = xmlField(a.body, 'Message') ?? `HTTP ${a.status}`;
  // Throttling and server errors are transient: thrown, so that the engine's backoff applies.
  if (a.status === 429 || a.status >= 500) throw new DirectS3Error(code, message, a.status);
  // A create-only put's refusals are answers, not quirks for the SDK to repeat: 412, the key is taken (final);
  // 409 ConditionalRequestConflict, a concurrent conditional write was in flight (transient, the engine retries).
  if (a.status === 412 || code === 'ConditionalRequestConflict') throw new DirectS3Error(code, message, a.status);
  return { fallback: `HTTP ${a.status} ${code}` };
}
