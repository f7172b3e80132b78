// A fault-injecting HTTP proxy between the real client and the real S3 or GCS server, on loopback.
// Faults are drawn from a seeded generator, so a run is repeatable: error answers (503 SlowDown for S3, 429/503
// for GCS), connections reset in the middle of a request body, one stalled request, and an outage window in which
// every connection is reset at once. Location headers are rewritten so resumable-upload sessions keep going
// through the proxy.
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { forwardUpstream } from './forward.ts';
import { createRateLimiter, throttle, type RateLimiter } from '../../src/upload/throttle.ts';
import type { AddressInfo, Socket } from 'node:net';
import { Transform } from 'node:stream';

export interface FaultPlan {
  readonly flavour: 's3' | 'gcs';
  /** Fraction of requests answered with a throttling/unavailable error instead of being forwarded. */
  readonly errorRate?: number;
  /** Fraction of requests with a body whose connection is reset after part of the body was forwarded. */
  readonly resetRate?: number;
  /** Stall (read nothing more, never answer) the n-th request with a body larger than 1 MiB. */
  readonly stallNth?: number;
  /** Stall every request with this method (e.g. DELETE, which S3 AbortMultipartUpload is). */
  readonly stallMethod?: string;
  /** Reset every connection for this long, starting when the n-th request arrives. */
  readonly outage?: { readonly afterRequests: number; readonly seconds: number };
  /** Answer bodies, all together, pass at no more than this many bytes per second (a slow link for downloads). */
  readonly answerBytesPerSecond?: number;
  /** Reset the connection of these (1-based) ranged GETs (requests with a Range header) after 256 KiB of their answer. */
  readonly cutRangedAnswers?: readonly number[];
  readonly seed?: number;
}

export interface FaultCounts {
  requests: number;
  forwarded: number;
  errors: number;
  resets: number;
  stalls: number;
  outageResets: number;
  /** Requests with a Range header, and how many of their answers were cut off. */
  rangedGets: number;
  answerCuts: number;
}

export interface FaultProxy {
  readonly endpoint: string;
  readonly counts: FaultCounts;
  close(): Promise<void>;
}

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

function errorAnswer(flavour: 's3' | 'gcs', res: ServerResponse, n: number): void {
  if (flavour === 's3') {
    res.writeHead(503, { 'Content-Type': 'application/xml' });
    res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
    return;
  }
  const status = n % 2 === 0 ? 429 : 503;
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: { code: status, message: status === 429 ? 'rateLimitExceeded' : 'backendError' } }));
}

/** Passes `limit` bytes of an answer body on, then calls `cut` (which resets the client's connection). */
function cutAfter(limit: number, cut: () => void): Transform {
  let seen = 0;
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback): void {
      if (done) return callback();
      const room = limit - seen;
      seen += chunk.length;
      if (seen <= limit) return callback(null, chunk);
      done = true;
      this.push(chunk.subarray(0, room));
      setImmediate(cut); // after the pushed bytes reach the socket's queue
      callback();
    },
  });
}

export function startFaultProxy(target: string, plan: FaultPlan): Promise<FaultProxy> {
  const upstream = new URL(target);
  const random = prng(plan.seed ?? 42);
  const counts: FaultCounts = { requests: 0, forwarded: 0, errors: 0, resets: 0, stalls: 0, outageResets: 0, rangedGets: 0, answerCuts: 0 };
  const sockets = new Set<Socket>();
  let bigBodies = 0;
  let outageUntil = 0;
  let proxyHost = '';
  const limiter: RateLimiter | undefined = plan.answerBytesPerSecond === undefined ? undefined : createRateLimiter(plan.answerBytesPerSecond);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    counts.requests++;
    const now = Date.now();
    if (plan.outage && counts.requests === plan.outage.afterRequests) outageUntil = now + plan.outage.seconds * 1000;
    if (now < outageUntil) {
      counts.outageResets++;
      req.socket.destroy();
      return;
    }
    // aws-chunked bodies (streamed with a trailing checksum) carry their size in x-amz-decoded-content-length.
    const length = Number(req.headers['x-amz-decoded-content-length'] ?? req.headers['content-length'] ?? 0);
    const hasBody = length > 0 || req.headers['transfer-encoding'] === 'chunked';
    if (req.method === plan.stallMethod || (hasBody && length > 1024 * 1024 && ++bigBodies === plan.stallNth)) {
      counts.stalls++;
      req.pause(); // never read on, never answer: the client must time out
      return;
    }
    if (random() < (plan.errorRate ?? 0)) {
      counts.errors++;
      req.resume();
      req.on('end', () => errorAnswer(plan.flavour, res, counts.errors));
      return;
    }
    const reset = hasBody && random() < (plan.resetRate ?? 0);
    const ranged = req.method === 'GET' && req.headers.range !== undefined ? ++counts.rangedGets : 0;
    forward(req, res, reset, length, ranged > 0 && (plan.cutRangedAnswers ?? []).includes(ranged));
  };

  const forward = (req: IncomingMessage, res: ServerResponse, resetMidBody: boolean, length: number, cutAnswer = false): void => {
    counts.forwarded++;
    const through = cutAnswer ? () => cutAfter(256 * 1024, () => { counts.answerCuts++; req.socket.destroy(); })
      : limiter && (() => throttle(limiter));
    const out = forwardUpstream(req, res, upstream, plan.flavour, proxyHost, through);
    if (resetMidBody) {
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > 64 * 1024 || seen >= length / 2) {
          counts.resets++;
          out.destroy();
          req.socket.destroy();
        }
      });
    }
    req.pipe(out);
  };

  const server: Server = createServer(handle);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      proxyHost = `127.0.0.1:${port}`;
      resolve({
        endpoint: `http://${proxyHost}`,
        counts,
        close: () => new Promise((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
      });
    });
  });
}
