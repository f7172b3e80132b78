// GetObject as one plain signed HTTP request on the client's keep-alive pool, without the SDK's middleware
// stack: for restores of many small files that stack was the largest part of the client's CPU (bench/README.md,
// "Restore"). The body is not checked here: restore computes the CRC32C of every byte it writes and compares it
// (and the length) with the manifest. Only the happy path is handled: a missing key, throttle or server error
// throws (so the engine's retry and messages apply); any other answer (redirect, auth, a store's quirk) is
// `undefined`, and the caller repeats the request through the SDK.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { ByteRange } from './backend.ts';
import { StorageError } from '../errors.ts';
import { DirectS3Error, directSession, sendDirect, xmlField, type DirectConfig } from './s3-direct-target.ts';
import { createRawRangeClient, type RangeSink } from './raw-http-range.ts';

export interface DirectGet {
  /**
   * The body of a 200 answer, streaming; undefined when this destination or this answer needs the SDK.
   * Throws a DirectS3Error for 404 (NoSuchKey), 429 and 5xx, and a network error as it comes.
   */
  get(fullKey: string, signal?: AbortSignal, range?: ByteRange): Promise<Readable | undefined>;
  /**
   * A range of the object into `sink` over a connection that reads into a buffer of its own (raw-http-range.ts):
   * plain http only. false, before any byte reached the sink: this destination or this answer needs `get`.
   */
  getRangeInto(fullKey: string, range: ByteRange, sink: RangeSink, signal?: AbortSignal): Promise<boolean>;
  /** From now on every get answers undefined: the caller saw the SDK succeed where a direct request was refused. */
  disable(): void;
  /** Closes the idle connections of getRangeInto. */
  close(): void;
}

const MAX_ERROR_BODY = 64 * 1024;

export function createDirectGet(config: DirectConfig): DirectGet {
  const session = directSession(config);
  const raw = createRawRangeClient(config.idleTimeoutMs);
  return {
    disable: () => session.disable(),
    close: () => raw.close(),
    async getRangeInto(fullKey, range, sink, signal) {
      const signed = await session.sign('GET', fullKey, { range: httpRange(range) });
      if (signed === undefined || signed.target.https) return false;
      const t = signed.target;
      const req = { hostname: t.hostname, port: t.port ?? 80, path: signed.path, headers: signed.headers, start: range.start, end: range.end };
      return (await raw.read(req, sink, signal)) === 'done';
    },
    async get(fullKey, signal, range) {
      const signed = await session.sign('GET', fullKey, range === undefined ? {} : { range: httpRange(range) });
      if (signed === undefined) return undefined;
      const res = await sendDirect(config, signed, undefined, signal);
      const status = res.statusCode ?? 0;
      if (status === (range === undefined ? 200 : 206)) return res;
      if (status === 200) {
        // The whole object for a range: never stream it where a part belongs.
        res.destroy();
        throw new StorageError(`S3 object ${fullKey}: the store answered a ranged GET with the whole object`,
          { permanent: true, code: 'RangeNotSupported' });
      }
      const body = await errorBody(res);
      const code = xmlField(body, 'Code') ?? (status === 404 ? 'NoSuchKey' : `HTTP${status}`);
      const message = xmlField(body, 'Message') ?? `HTTP ${status}`;
      if (status === 404 || status === 429 || status >= 500) throw new DirectS3Error(code, message, status);
      return undefined;
    },
  };
}

/** The HTTP Range header of a ByteRange (HTTP's end is inclusive). */
export function httpRange(range: ByteRange): string {
  return `bytes=${range.start}-${range.end - 1}`;
}

/** An error answer's body, bounded, for its code and message. */
function errorBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size >= MAX_ERROR_BODY) return;
      chunks.push(chunk);
      size += chunk.length;
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
