// The plain-HTTP ranged GET client (src/storage/raw-http-range.ts) against real loopback servers: node:http for
// well-formed answers, a raw TCP server for the malformed and broken ones.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { createRawRangeClient, isTheRange, parseHead, SinkFailure, type RangeSink } from '../../src/storage/raw-http-range.ts';
import { listen } from '../support/loopback.ts';

const data = randomBytes(3 * 1024 * 1024 + 17);

/** A ranged-GET server over `data`; /missing, /whole and /chunked answer as their names say. */
function rangeServer(): { server: Server; connections: () => number } {
  let connections = 0;
  const server = createHttpServer((req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (req.url === '/missing' || m === null) {
      res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    const [start, last] = [Number(m[1]), Number(m[2])];
    if (req.url === '/whole') {
      res.writeHead(200, { 'content-length': data.length }).end(data);
      return;
    }
    const body = data.subarray(start, last + 1);
    const contentRange = `bytes ${start}-${last}/${data.length}`;
    if (req.url === '/chunked') {
      res.writeHead(206, { 'content-range': contentRange }); // no length: node:http sends it chunked
      res.write(body.subarray(0, 10));
      res.end(body.subarray(10));
      return;
    }
    res.writeHead(206, { 'content-length': body.length, 'content-range': contentRange }).end(body);
  });
  server.on('connection', () => connections++);
  return { server, connections: () => connections };
}

function collecting(opts: { pauseEvery?: number; throwAt?: number } = {}): RangeSink & { bytes: () => Buffer; pauses: () => number } {
  const got: Buffer[] = [];
  let pauses = 0;
  return {
    write(chunk, resume) {
      if (opts.throwAt !== undefined && got.length === opts.throwAt) throw new Error('disk full');
      got.push(Buffer.from(chunk));
      if (opts.pauseEvery === undefined || got.length % opts.pauseEvery !== 0) return true;
      pauses++;
      setTimeout(resume, 1);
      return false;
    },
    bytes: () => Buffer.concat(got),
    pauses: () => pauses,
  };
}

const request = (port: number, path: string, start: number, end: number) => ({
  hostname: '127.0.0.1', port, path, start, end,
  headers: { host: `127.0.0.1:${port}`, range: `bytes=${start}-${end - 1}` },
});

describe('raw ranged GET client', () => {
  const { server, connections } = rangeServer();
  const client = createRawRangeClient(5000);
  after(() => {
    client.close();
    server.close();
  });

  it('hands over exactly each range, reusing one kept-alive connection, and pauses when the sink asks', async () => {
    const port = await listen(server);
    const ranges = [[0, data.length], [5, 1_000_000], [1_000_000, data.length], [data.length - 1, data.length]] as const;
    for (const [start, end] of ranges) {
      const sink = collecting({ pauseEvery: 3 });
      assert.equal(await client.read(request(port, '/obj', start, end), sink), 'done');
      assert.ok(sink.bytes().equals(data.subarray(start, end)), `bytes ${start}-${end}`);
      if (end - start > 1_000_000) assert.ok(sink.pauses() > 0);
    }
    assert.equal(connections(), 1, 'one connection for four requests in turn');
  });

  it('a connection reused for many requests keeps one listener of each kind (no leak per request)', async () => {
    const port = (server.address() as AddressInfo).port;
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const before = connections();
      for (let i = 0; i < 30; i++) assert.equal(await client.read(request(port, '/obj', i, i + 1000), collecting()), 'done');
      assert.equal(connections(), before, 'all 30 on the kept-alive connection');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings.map((w) => w.name), [], 'no MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('refuses, with nothing handed over, an error status, a whole-object 200 and a chunked answer', async () => {
    const port = (server.address() as AddressInfo).port;
    for (const path of ['/missing', '/whole', '/chunked']) {
      const sink = collecting();
      assert.equal(await client.read(request(port, path, 0, 100), sink), 'refused', path);
      assert.equal(sink.bytes().length, 0, path);
    }
  });

  it('a sink that throws rejects as SinkFailure carrying its error', async () => {
    const port = (server.address() as AddressInfo).port;
    await assert.rejects(client.read(request(port, '/obj', 0, data.length), collecting({ throwAt: 2 })),
      (err: unknown) => err instanceof SinkFailure && (err.cause as Error).message === 'disk full');
    // The connection was dropped, the next request still works.
    const sink = collecting();
    assert.equal(await client.read(request(port, '/obj', 10, 20), sink), 'done');
    assert.ok(sink.bytes().equals(data.subarray(10, 20)));
  });

  it('an abort rejects with the signal\'s reason', async () => {
    const port = (server.address() as AddressInfo).port;
    const abort = new AbortController();
    const sink: RangeSink = { write: () => (abort.abort(new Error('stopped')), true) };
    await assert.rejects(client.read(request(port, '/obj', 0, data.length), sink, abort.signal), /stopped/);
  });
});

describe('raw ranged GET client, broken answers', () => {
  /** A TCP server that answers every request with `reply` (then closes if told to). */
  async function tcpServer(reply: (socket: Socket) => void): Promise<{ port: number; close: () => void }> {
    const sockets = new Set<Socket>();
    const server = createTcpServer((s) => {
      sockets.add(s);
      s.once('data', () => reply(s));
    });
    const port = await listen(server);
    return { port, close: () => { for (const s of sockets) s.destroy(); server.close(); } };
  }

  it('a body cut short rejects with a retryable network error (ECONNRESET), never a short success', async () => {
    const srv = await tcpServer((s) => s.end('HTTP/1.1 206 Partial Content\r\nContent-Length: 100\r\nContent-Range: bytes 0-99/100\r\n\r\n' + 'x'.repeat(40)));
    const client = createRawRangeClient(5000);
    try {
      const sink = collecting();
      await assert.rejects(client.read(request(srv.port, '/o', 0, 100), sink), (err: unknown) => (err as { code?: string }).code === 'ECONNRESET');
      assert.equal(sink.bytes().length, 40);
    } finally {
      client.close();
      srv.close();
    }
  });

  it('a server that goes silent fails the request after the idle timeout (ETIMEDOUT)', async () => {
    const srv = await tcpServer((s) => s.write('HTTP/1.1 206 Partial Content\r\nContent-Length: 100\r\nContent-Range: bytes 0-99/100\r\n\r\nabc'));
    const client = createRawRangeClient(200);
    try {
      await assert.rejects(client.read(request(srv.port, '/o', 0, 100), collecting()), (err: unknown) => (err as { code?: string }).code === 'ETIMEDOUT');
    } finally {
      client.close();
      srv.close();
    }
  });

  it('a range other than the one asked for is refused', async () => {
    const srv = await tcpServer((s) => s.write('HTTP/1.1 206 Partial Content\r\nContent-Length: 100\r\nContent-Range: bytes 100-199/300\r\n\r\n' + 'y'.repeat(100)));
    const client = createRawRangeClient(5000);
    try {
      const sink = collecting();
      assert.equal(await client.read(request(srv.port, '/o', 0, 100), sink), 'refused');
      assert.equal(sink.bytes().length, 0);
    } finally {
      client.close();
      srv.close();
    }
  });
});

describe('raw ranged GET head checks', () => {
  const head = (lines: string[]) => parseHead(lines.join('\r\n'));
  it('accepts only a 206 of exactly the range, framed by Content-Length', () => {
    const ok = ['HTTP/1.1 206 Partial Content', 'Content-Length: 10', 'Content-Range: bytes 5-14/100'];
    assert.equal(isTheRange(head(ok), { start: 5, end: 15 }), true);
    assert.equal(isTheRange(head(ok), { start: 5, end: 16 }), false, 'length differs');
    assert.equal(isTheRange(head(['HTTP/1.1 200 OK', 'Content-Length: 10']), { start: 5, end: 15 }), false);
    assert.equal(isTheRange(head([...ok, 'Transfer-Encoding: chunked']), { start: 5, end: 15 }), false);
    assert.equal(isTheRange(head([...ok, 'Content-Length: 10']), { start: 5, end: 15 }), false, 'a repeated Content-Length');
    assert.equal(isTheRange(head(['HTTP/1.1 206 Partial Content', 'Content-Range: bytes 5-14/100']), { start: 5, end: 15 }), false, 'no length');
  });
  it('notes a connection the server will close', () => {
    assert.equal(head(['HTTP/1.1 206 X', 'Connection: close']).close, true);
    assert.equal(head(['HTTP/1.0 206 X']).close, true);
    assert.equal(head(['HTTP/1.1 206 X', 'Connection: keep-alive']).close, false);
  });
});
