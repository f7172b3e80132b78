// A discard S3 server for client-overhead runs: it speaks just enough of the S3 REST API (PutObject, multipart,
// copy, HEAD, ListObjectsV2, GET of small objects, DeleteObjects) and throws the payload bytes away, so the
// client under test, not the server's disk or CPU, is what is measured. Remembers each key's size (and keeps
// bodies < 1 MiB for GET, e.g. manifests). Writes one line per request to the log file: `METHOD path?query`.
//
//   node bench/sink.ts <port> <log-file>          (binds 127.0.0.1 only; exits after 2 hours)
import http from 'node:http';
import fs from 'node:fs';
import crypto from 'node:crypto';

const port = Number(process.argv[2] ?? 7099);
const log = fs.createWriteStream(process.argv[3] ?? '/dev/null', { flags: 'a' });
interface Obj { size: number; etag: string; body?: Buffer }
const objects = new Map<string, Obj>();
const uploads = new Map<string, { key: string; parts: Map<number, number> }>();
let seq = 0;

const xml = (res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
};

/** Drains the body, counting decoded payload bytes (aws-chunked framing is counted as-is: close enough). */
function drain(req: http.IncomingMessage, keep: boolean, cb: (n: number, body: Buffer | undefined) => void): void {
  let n = 0;
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => { n += c.length; if (keep && n < 1 << 20) chunks.push(c); });
  req.on('end', () => cb(n, keep && n < 1 << 20 ? Buffer.concat(chunks) : undefined));
}

function payloadSize(req: http.IncomingMessage, n: number): number {
  const decoded = req.headers['x-amz-decoded-content-length'];
  return decoded !== undefined ? Number(decoded) : n;
}

/** aws-chunked bodies ("<hex>;chunk-signature=…\r\n<data>\r\n…0\r\n<trailers>") → the data. */
function unchunk(req: http.IncomingMessage, body: Buffer): Buffer {
  if (!String(req.headers['content-encoding'] ?? '').includes('aws-chunked') && req.headers['x-amz-decoded-content-length'] === undefined) return body;
  const out: Buffer[] = [];
  let i = 0;
  while (i < body.length) {
    const eol = body.indexOf('\r\n', i);
    if (eol < 0) break;
    const len = parseInt(body.subarray(i, eol).toString().split(';')[0]!, 16);
    if (!(len > 0)) break;
    out.push(body.subarray(eol + 2, eol + 2 + len));
    i = eol + 2 + len + 2;
  }
  return Buffer.concat(out);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  log.write(`${req.method} ${url.pathname}${url.search}\n`);
  const parts = url.pathname.split('/');
  const bucket = parts[1] ?? '';
  const key = decodeURIComponent(parts.slice(2).join('/'));
  const q = url.searchParams;
  const etag = `"${crypto.randomBytes(16).toString('hex')}"`;
  if (req.method === 'PUT') {
    const copySource = req.headers['x-amz-copy-source'];
    if (copySource !== undefined) {
      drain(req, false, () => {
        const src = decodeURIComponent(String(copySource)).replace(/^\/?[^/]+\//, '');
        const from = objects.get(src);
        if (!from) return xml(res, 404, '<Error><Code>NoSuchKey</Code></Error>');
        if (q.has('uploadId')) return xml(res, 200, `<CopyPartResult><ETag>${etag}</ETag></CopyPartResult>`);
        objects.set(key, { ...from, etag });
        return xml(res, 200, `<CopyObjectResult><ETag>${etag}</ETag><LastModified>${new Date().toISOString()}</LastModified></CopyObjectResult>`);
      });
      return;
    }
    const small = key.includes('.cass-backup-run') || Number(req.headers['content-length'] ?? 0) < 4096;
    drain(req, small, (n, body) => {
      if (q.has('uploadId')) {
        uploads.get(q.get('uploadId')!)?.parts.set(Number(q.get('partNumber')), payloadSize(req, n));
      } else {
        objects.set(key, { size: payloadSize(req, n), etag, ...(body ? { body: unchunk(req, body) } : {}) });
      }
      res.writeHead(200, { etag, 'content-length': 0 });
      res.end();
    });
    return;
  }
  if (req.method === 'POST') {
    drain(req, false, () => {
      if (q.has('uploads')) {
        const id = `u${++seq}`;
        uploads.set(id, { key, parts: new Map() });
        return xml(res, 200, `<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
      }
      if (q.has('uploadId')) {
        const up = uploads.get(q.get('uploadId')!);
        uploads.delete(q.get('uploadId')!);
        const size = up ? [...up.parts.values()].reduce((a, b) => a + b, 0) : 0;
        objects.set(key, { size, etag });
        return xml(res, 200, `<CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><ETag>${etag}</ETag></CompleteMultipartUploadResult>`);
      }
      if (q.has('delete')) return xml(res, 200, '<DeleteResult></DeleteResult>');
      return xml(res, 400, '<Error><Code>NotImplemented</Code></Error>');
    });
    return;
  }
  if (req.method === 'DELETE') {
    if (q.has('uploadId')) uploads.delete(q.get('uploadId')!);
    else objects.delete(key);
    res.writeHead(204);
    res.end();
    return;
  }
  if (req.method === 'HEAD' || req.method === 'GET') {
    if (key === '') {
      if (req.method === 'HEAD') { res.writeHead(200); res.end(); return; }
      const prefix = q.get('prefix') ?? '';
      const items = [...objects.entries()].filter(([k]) => k.startsWith(prefix)).slice(0, 1000);
      const contents = items.map(([k, o]) => `<Contents><Key>${k}</Key><Size>${o.size}</Size><ETag>${o.etag}</ETag><LastModified>${new Date().toISOString()}</LastModified></Contents>`).join('');
      return xml(res, 200, `<ListBucketResult><Name>${bucket}</Name><Prefix>${prefix}</Prefix><KeyCount>${items.length}</KeyCount><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`);
    }
    const o = objects.get(key);
    if (!o) {
      if (req.method === 'HEAD') { res.writeHead(404); res.end(); return; }
      return xml(res, 404, '<Error><Code>NoSuchKey</Code></Error>');
    }
    const body = o.body ?? Buffer.alloc(0);
    res.writeHead(200, { etag: o.etag, 'content-length': req.method === 'HEAD' ? o.size : body.length, 'last-modified': new Date().toUTCString() });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  xml(res, 405, '<Error><Code>MethodNotAllowed</Code></Error>');
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
setTimeout(() => process.exit(0), 2 * 3600 * 1000).unref();
