// Ranged GETs over plain HTTP/1.1 without node:http, for restores of large files. Each connection reads into one
// buffer of its own (net's `onread`), so a multi-GiB download allocates no buffer per network read. node:http makes
// two per read (the socket's, then the parser's copy of the body); V8 counts them as external memory and starts a
// full mark-compact of the whole heap about every 64 MiB of them: 85 per 2.2 GB restore, about half of its CPU
// (bench/README.md, Restore › Round 5). TLS cannot read into a caller's buffer, so https stays on node:http.
//
// Only the one answer a ranged GET should get is handled here: 206 with exactly the range and a Content-Length.
// Anything else (an error status, a redirect, chunked coding, a malformed head) is 'refused' before a body byte
// reaches the sink, and the caller asks again through the ordinary GET, which knows how to report it.
import { connect, type Socket } from 'node:net';

export interface RangeSink {
  /** Body bytes in order. `chunk` is valid only during the call (copy what is kept). false: no more until `resume`. */
  write(chunk: Buffer, resume: () => void): boolean;
}

export interface RawRangeRequest {
  readonly hostname: string;
  readonly port: number;
  readonly path: string;
  /** Sent as they are (signed; they include Host and Range). */
  readonly headers: Readonly<Record<string, string>>;
  /** The range asked for, [start, end). */
  readonly start: number;
  readonly end: number;
}

export type RawRangeResult = 'done' | 'refused';

/** What the sink threw (a local write that failed, say), as the rejection of `read`: not the network's fault. */
export class SinkFailure extends Error {
  override readonly name = 'SinkFailure';
}

export interface RawRangeClient {
  /** Rejects on a network failure, a timeout, an abort, or (as SinkFailure) an error thrown by the sink; the connection is then dropped. */
  read(req: RawRangeRequest, sink: RangeSink, signal?: AbortSignal): Promise<RawRangeResult>;
  /** Closes the idle connections. */
  close(): void;
}

const READ_BUFFER = 64 * 1024;
const MAX_HEAD = 16 * 1024;
const IDLE_PER_HOST = 16;

/** One connection; `active` is the request it serves, if any. */
interface Conn {
  readonly socket: Socket;
  readonly hostKey: string;
  active: Active | undefined;
  /** The server's last answer said `Connection: close`, or the socket broke: never reused. */
  done: boolean;
}

interface Active {
  onBytes(chunk: Buffer): boolean;
  onFailure(err: Error): void;
}

export function createRawRangeClient(idleTimeoutMs: number): RawRangeClient {
  const idle = new Map<string, Conn[]>();

  const release = (conn: Conn): void => {
    conn.active = undefined;
    const list = idle.get(conn.hostKey) ?? [];
    if (conn.done || list.length >= IDLE_PER_HOST) {
      conn.socket.destroy();
      return;
    }
    conn.socket.setTimeout(0);
    conn.socket.unref();
    list.push(conn);
    idle.set(conn.hostKey, list);
  };

  const forget = (conn: Conn): void => {
    const list = idle.get(conn.hostKey);
    const i = list?.indexOf(conn) ?? -1;
    if (i >= 0) list!.splice(i, 1);
  };

  const open = (hostname: string, port: number, hostKey: string): Conn => {
    const buffer = Buffer.allocUnsafeSlow(READ_BUFFER);
    const conn: Conn = {
      hostKey, active: undefined, done: false,
      socket: connect({
        host: hostname, port, noDelay: true,
        onread: {
          buffer,
          callback: (n: number): boolean => {
            const active = conn.active;
            if (active === undefined) {
              // Bytes nobody asked for: the connection is out of step with the server.
              conn.done = true;
              conn.socket.destroy();
              return false;
            }
            return active.onBytes(buffer.subarray(0, n));
          },
        },
      }),
    };
    const broken = (err: Error): void => {
      conn.done = true;
      forget(conn);
      conn.active?.onFailure(err);
    };
    conn.socket.on('error', broken);
    conn.socket.on('end', () => broken(networkError('ECONNRESET', 'the server closed the connection')));
    conn.socket.on('close', () => broken(networkError('ECONNRESET', 'the connection closed')));
    // One listener for the connection's life (armed per request by setTimeout in read): not one per request.
    conn.socket.on('timeout', () => conn.active?.onFailure(networkError('ETIMEDOUT', `no traffic for ${idleTimeoutMs} ms`)));
    return conn;
  };

  const acquire = (hostname: string, port: number): Conn => {
    const hostKey = `${hostname}:${port}`;
    const conn = idle.get(hostKey)?.pop() ?? open(hostname, port, hostKey);
    conn.socket.ref();
    conn.socket.resume(); // it may have been paused by the sink at the end of its last body
    return conn;
  };

  return {
    close(): void {
      for (const list of idle.values()) for (const c of list) c.socket.destroy();
      idle.clear();
    },
    read(req, sink, signal) {
      return new Promise<RawRangeResult>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        const conn = acquire(req.hostname, req.port);
        const want = req.end - req.start;
        let head: Buffer | undefined = Buffer.alloc(0);
        let remaining = want;
        let settled = false;
        const resume = (): void => void conn.socket.resume();
        const finish = (outcome: { result: RawRangeResult } | { err: unknown }, reusable: boolean): void => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          if (reusable) {
            release(conn);
          } else {
            conn.done = true;
            conn.active = undefined;
            conn.socket.destroy();
          }
          if ('result' in outcome) resolve(outcome.result);
          else reject(outcome.err);
        };
        const onAbort = (): void => finish({ err: signal!.reason }, false);
        signal?.addEventListener('abort', onAbort, { once: true });

        const body = (chunk: Buffer): boolean => {
          if (chunk.length > remaining) {
            finish({ err: networkError('EPROTO', `${chunk.length - remaining} bytes after the end of the range`) }, false);
            return false;
          }
          remaining -= chunk.length;
          let more: boolean;
          try {
            more = sink.write(chunk, resume);
          } catch (err) {
            finish({ err: new SinkFailure('the range sink failed', { cause: err }) }, false);
            return false;
          }
          if (remaining === 0) finish({ result: 'done' }, true);
          return more;
        };

        conn.active = {
          onFailure: (err) => finish({ err }, false),
          onBytes: (chunk) => {
            if (head === undefined) return body(chunk);
            // The head is small: gathered by copying (the read buffer is reused after this call).
            head = Buffer.concat([head, chunk]);
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) {
              if (head.length > MAX_HEAD) finish({ result: 'refused' }, false);
              return true;
            }
            const answer = parseHead(head.subarray(0, end).toString('latin1'));
            const rest = head.subarray(end + 4);
            head = undefined;
            if (!isTheRange(answer, req)) {
              finish({ result: 'refused' }, false);
              return false;
            }
            if (answer.close) conn.done = true;
            return rest.length === 0 ? true : body(rest);
          },
        };
        conn.socket.setTimeout(idleTimeoutMs);
        const lines = [`GET ${req.path} HTTP/1.1`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`), '', ''];
        conn.socket.write(lines.join('\r\n'));
      });
    },
  };
}

interface Head {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly close: boolean;
}

export function parseHead(text: string): Head {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    // A repeated framing header is ambiguous: keep both, so that the check below refuses it.
    headers.set(name, headers.has(name) ? `${headers.get(name)!},${value}` : value);
  }
  const connection = (headers.get('connection') ?? '').toLowerCase();
  return { status: m === null ? 0 : Number(m[1]), headers, close: statusLine.startsWith('HTTP/1.0') || connection.includes('close') };
}

/** 206 of exactly [start, end), framed by Content-Length alone. */
export function isTheRange(h: Head, req: { readonly start: number; readonly end: number }): boolean {
  if (h.status !== 206 || h.headers.has('transfer-encoding')) return false;
  const length = h.headers.get('content-length');
  if (length === undefined || !/^\d+$/.test(length) || Number(length) !== req.end - req.start) return false;
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(h.headers.get('content-range') ?? '');
  return range !== null && Number(range[1]) === req.start && Number(range[2]) === req.end - 1;
}

function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
