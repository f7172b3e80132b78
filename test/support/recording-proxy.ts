// A loopback proxy between the real client and the real S3 or GCS server that records what the client sent:
// the evidence for request details a server does not (or cannot be made to) show, e.g. that a precondition
// header or query parameter is sent. It can also answer chosen requests itself, and counts requests still open.
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { forwardUpstream } from './forward.ts';
import type { Socket } from 'node:net';
import { listen } from './loopback.ts';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The first bytes of the request body, when the proxy was asked to keep them (recordBodies). */
  readonly body?: Buffer;
}

/** An answer the proxy gives itself instead of forwarding the request. */
export interface CannedAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface RecordingProxyOptions {
  /** s3: the Host header goes upstream as sent (it is signed); gcs: rewritten, and session Locations lead back. */
  readonly flavour: 's3' | 'gcs';
  readonly answer?: (req: RecordedRequest) => CannedAnswer | undefined;
  /** Keep up to this many bytes of each request body (e.g. to see JSON metadata an upload sent). */
  readonly recordBodies?: number;
  /** Pass each request on only after this many milliseconds (an answer that arrives late). */
  readonly delayMs?: number;
}

export interface RecordingProxy {
  readonly endpoint: string;
  readonly requests: readonly RecordedRequest[];
  /** Requests whose client has neither had its answer nor gone away. */
  open(): number;
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string, options: RecordingProxyOptions): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let open = 0;
  let proxyHost = '';
  const server = createServer((req: IncomingMessage, res) => {
    const recorded: RecordedRequest = { method: req.method ?? '?', url: req.url ?? '', headers: { ...req.headers } };
    requests.push(recorded);
    const keep = options.recordBodies ?? 0;
    if (keep > 0) {
      const chunks: Buffer[] = [];
      let kept = 0;
      req.on('data', (chunk: Buffer) => {
        if (kept >= keep) return;
        chunks.push(chunk.subarray(0, keep - kept));
        kept += Math.min(chunk.length, keep - kept);
        (recorded as { body?: Buffer }).body = Buffer.concat(chunks);
      });
    }
    open++;
    res.on('close', () => { open--; });
    const canned = options.answer?.(recorded);
    if (canned !== undefined) {
      req.resume();
      req.on('end', () => {
        res.writeHead(canned.status, canned.headers ?? {});
        res.end(canned.body ?? '');
      });
      return;
    }
    const forward = (): void => {
      const out = forwardUpstream(req, res, upstream, options.flavour, proxyHost);
      // Answered, or the client went away: either way the upstream request ends with it (else it would keep the
      // test process alive, waiting for bytes itself).
      res.on('close', () => out.destroy());
      req.pipe(out);
    };
    if (options.delayMs === undefined) forward();
    else setTimeout(forward, options.delayMs);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  proxyHost = `127.0.0.1:${await listen(server)}`;
  return {
    endpoint: `http://${proxyHost}`,
    requests,
    open: () => open,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
