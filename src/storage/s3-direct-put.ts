// PutObject of a small in-memory body as one plain HTTP request, without the SDK's per-request middleware
// stack: for snapshots of many small files that stack was most of the client's CPU (bench/README.md, W2).
// The SDK still supplies what it is good at: the endpoint (its own resolver, so regions, FIPS, dual-stack and
// path/virtual-host addressing stay the SDK's decision) and the credentials (its default chain, refreshed).
// Only the happy path is handled here. A throttle, server error or network failure throws (the engine retries),
// and so does a create-only put's answer (412: the key is taken; 409: a concurrent conditional write, retried);
// any other answer (redirect, auth, unknown store quirk) is returned as `fallback`, and the caller repeats the
// request through the SDK, which follows region redirects and produces the familiar error messages.
import { hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { DirectS3Error, directSession, sendDirect, xmlField, type DirectConfig } from './s3-direct-target.ts';

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
  const session = directSession(config);
  return {
    disable: () => session.disable(),
    async put(fullKey, body, crc32c, signal, createOnly = false, extraHeaders = {}) {
      // Extra headers (server-side encryption, storage class) are x-amz-* headers, signed with the rest.
      const signed = await session.sign('PUT', fullKey, {
        'content-length': String(body.length), ...integrityHeader(body, crc32c), ...(createOnly ? { 'if-none-match': '*' } : {}),
        ...extraHeaders,
      });
      if (signed === undefined) return undefined;
      return answer(await collect(await sendDirect(config, signed, body, signal)));
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

/** Reads the answer; an error body is kept (bounded) for its code and message, a success body is drained. */
function collect(res: IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => collectInto(res, resolve, reject));
}

function collectInto(res: IncomingMessage, resolve: (a: Answer) => void, reject: (err: unknown) => void): void {
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
