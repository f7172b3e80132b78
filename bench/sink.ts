// A discard S3 server for client-overhead runs: it speaks just enough of the S3 REST API (PutObject, multipart,
// copy, HEAD, ListObjectsV2, GET of small objects, DeleteObjects) and throws the payload bytes away, so the
// client under test, not the server's disk or CPU, is what is measured. Remembers each key's size (and keeps
// bodies < 1 MiB for GET, e.g. manifests). Writes one line per request to the log file: `METHOD path?query`.
//
// With `serve` (bench/restore.ts's "sink" store) it is the sink-equivalent of a store for downloads: every GET of
// an object answers the very bytes that were put, at memory speed, so that a restore measures the client. Bodies of
// up to 1 MiB are kept in memory as they came; a larger object must be content of bench/generate.ts (bench/content.ts:
// a file is its number and size), recognised by the stamp its first block (and each multipart part's first block)
// starts with, and is answered by generating those bytes again — no digest, just the file number per key. An object
// over 1 MiB that is not such content (e.g. encrypted) answers 501 on GET: a restore from here then fails, loudly.
// Nothing is trusted beyond that: our restore compares every byte's CRC32C and every size with its manifest, and
// bench/restore.ts compares the peers' downloads with the source files. ListObjects (V1 and V2) pages by 1,000 and
// knows delimiters; GET honours `Range: bytes=a-b` (206).
//
//   node bench/sink.ts <port> <log-file> [serve]  (binds 127.0.0.1 only; exits after 2 hours)
import http from 'node:http';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { BLOCK, readStamp, seededBlock, stampBlock } from './content.ts';

const port = Number(process.argv[2] ?? 7099);
const log = fs.createWriteStream(process.argv[3] ?? '/dev/null', { flags: 'a' });
const SERVE = process.argv[4] === 'serve';
const KEEP_MAX = 1 << 20;
/** body: the bytes as put; gen: the generated file of that number; neither: sizes only (GET serves what it can). */
interface Obj { size: number; etag: string; body?: Buffer; gen?: number; unservable?: boolean; mtime?: Date }
let sortedKeys: string[] | undefined; // for listings; dropped whenever the key set changes
const objects = new (class extends Map<string, Obj> {
  override set(k: string, v: Obj): this { if (!super.has(k)) sortedKeys = undefined; return super.set(k, { ...v, mtime: new Date() }); }
  override delete(k: string): boolean { sortedKeys = undefined; return super.delete(k); }
})();
interface Part { size: number; stamp: { fileNo: number; blockNo: number } | undefined }
const uploads = new Map<string, { key: string; parts: Map<number, Part> }>();
let seq = 0;

const xml = (res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
};

/**
 * Drains the body, counting decoded payload bytes (aws-chunked framing is counted as-is: close enough). Keeps the
 * raw body when `keep` and it is small enough, and always its first bytes (`head`, for the content stamp).
 */
function drain(req: http.IncomingMessage, keep: boolean, limit: number, cb: (n: number, body: Buffer | undefined, head: Buffer) => void): void {
  let n = 0;
  const chunks: Buffer[] = [];
  let head = Buffer.alloc(0);
  req.on('data', (c: Buffer) => {
    n += c.length;
    if (head.length < 512) head = Buffer.concat([head, c.subarray(0, 512 - head.length)]);
    if (keep && n <= limit) chunks.push(c);
  });
  req.on('end', () => cb(n, keep && n <= limit ? Buffer.concat(chunks) : undefined, head));
}

/** The content stamp at the start of a (possibly aws-chunked) body. */
function stampOf(req: http.IncomingMessage, head: Buffer): { fileNo: number; blockNo: number } | undefined {
  return readStamp(unchunk(req, head, true).subarray(0, 16));
}

function payloadSize(req: http.IncomingMessage, n: number): number {
  const decoded = req.headers['x-amz-decoded-content-length'];
  return decoded !== undefined ? Number(decoded) : n;
}

/** aws-chunked bodies ("<hex>;chunk-signature=…\r\n<data>\r\n…0\r\n<trailers>") → the data. */
function unchunk(req: http.IncomingMessage, body: Buffer, partial = false): Buffer {
  if (!String(req.headers['content-encoding'] ?? '').includes('aws-chunked') && req.headers['x-amz-decoded-content-length'] === undefined) return body;
  const out: Buffer[] = [];
  let i = 0;
  while (i < body.length) {
    const eol = body.indexOf('\r\n', i);
    if (eol < 0) break;
    const len = parseInt(body.subarray(i, eol).toString().split(';')[0]!, 16);
    if (!(len > 0)) break;
    out.push(body.subarray(eol + 2, eol + 2 + len));
    if (partial) break; // only the first chunk's start is there
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
      drain(req, false, 0, () => {
        const src = decodeURIComponent(String(copySource)).replace(/^\/?[^/]+\//, '');
        const from = objects.get(src);
        if (!from) return xml(res, 404, '<Error><Code>NoSuchKey</Code></Error>');
        if (q.has('uploadId')) return xml(res, 200, `<CopyPartResult><ETag>${etag}</ETag></CopyPartResult>`);
        objects.set(key, { ...from, etag });
        return xml(res, 200, `<CopyObjectResult><ETag>${etag}</ETag><LastModified>${new Date().toISOString()}</LastModified></CopyObjectResult>`);
      });
      return;
    }
    // our catalog (manifests, leases) is kept whole whatever its size: a restore reads it first
    const catalog = key.includes('.cass-backup-run');
    const small = SERVE || catalog || Number(req.headers['content-length'] ?? 0) < 4096;
    drain(req, small && !q.has('uploadId'), catalog ? 1 << 30 : KEEP_MAX + 64 * 1024, (n, body, head) => {
      const size = payloadSize(req, n);
      if (q.has('uploadId')) {
        uploads.get(q.get('uploadId')!)?.parts.set(Number(q.get('partNumber')), { size, stamp: SERVE ? stampOf(req, head) : undefined });
      } else if (body && (!SERVE || size <= KEEP_MAX || catalog)) {
        objects.set(key, { size, etag, body: unchunk(req, body) });
      } else if (SERVE) {
        const stamp = stampOf(req, head);
        objects.set(key, stamp?.blockNo === 0 ? { size, etag, gen: stamp.fileNo } : { size, etag, unservable: true });
      } else {
        objects.set(key, { size, etag });
      }
      res.writeHead(200, { etag, 'content-length': 0 });
      res.end();
    });
    return;
  }
  if (req.method === 'POST') {
    drain(req, false, 0, () => {
      if (q.has('uploads')) {
        const id = `u${++seq}`;
        uploads.set(id, { key, parts: new Map() });
        return xml(res, 200, `<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
      }
      if (q.has('uploadId')) {
        const up = uploads.get(q.get('uploadId')!);
        uploads.delete(q.get('uploadId')!);
        const parts = up ? [...up.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p) : [];
        const size = parts.reduce((a, p) => a + p.size, 0);
        objects.set(key, SERVE ? { size, etag, ...generatedParts(parts) } : { size, etag });
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
      return list(res, bucket, q);
    }
    const o = objects.get(key);
    if (!o) {
      if (req.method === 'HEAD') { res.writeHead(404); res.end(); return; }
      return xml(res, 404, '<Error><Code>NoSuchKey</Code></Error>');
    }
    const headers = { etag: o.etag, 'last-modified': o.mtime!.toUTCString(), 'accept-ranges': 'bytes' };
    if (req.method === 'HEAD') { res.writeHead(200, { ...headers, 'content-length': o.size }); res.end(); return; }
    if (SERVE && o.unservable) return xml(res, 501, '<Error><Code>NotImplemented</Code><Message>the sink did not keep these bytes</Message></Error>');
    const size = o.body ? o.body.length : o.gen !== undefined ? o.size : 0;
    const range = parseRange(req.headers.range, size);
    if (range === 'invalid') return xml(res, 416, '<Error><Code>InvalidRange</Code></Error>', { 'content-range': `bytes */${size}` });
    const [start, end] = range ?? [0, size];
    res.writeHead(range ? 206 : 200, { ...headers, 'content-length': end - start, ...(range ? { 'content-range': `bytes ${start}-${end - 1}/${size}` } : {}) });
    if (o.body) res.end(o.body.subarray(start, end));
    else if (o.gen !== undefined) void sendGenerated(res, o.gen, start, end);
    else res.end();
    return;
  }
  xml(res, 405, '<Error><Code>MethodNotAllowed</Code></Error>');
});
/** A multipart object is generated content when its parts are consecutive blocks of one file. */
function generatedParts(parts: readonly Part[]): { gen: number } | { unservable: true } {
  let offset = 0;
  const fileNo = parts[0]?.stamp?.fileNo;
  for (const p of parts) {
    if (fileNo === undefined || p.stamp?.fileNo !== fileNo || p.stamp.blockNo * BLOCK !== offset) return { unservable: true };
    offset += p.size;
  }
  return fileNo === undefined ? { unservable: true } : { gen: fileNo };
}

/** `bytes=a-b` / `bytes=a-` / `bytes=-n` → [start, end) ; undefined without a Range header. */
function parseRange(header: string | undefined, size: number): [number, number] | undefined | 'invalid' {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  const [start, end] = m[1] === '' ? [Math.max(0, size - Number(m[2])), size] : [Number(m[1]), m[2] === '' ? size : Math.min(size, Number(m[2]) + 1)];
  return start >= end || start >= size ? 'invalid' : [start, end];
}

const seeded = seededBlock();
/** Bytes [start, end) of generated file `fileNo`, block by block (each a fresh buffer: the socket may hold it). */
async function sendGenerated(res: http.ServerResponse, fileNo: number, start: number, end: number): Promise<void> {
  for (let blockNo = Math.floor(start / BLOCK); blockNo * BLOCK < end && !res.destroyed; blockNo++) {
    const block = Buffer.allocUnsafe(BLOCK);
    seeded.copy(block);
    stampBlock(block, fileNo, blockNo);
    const from = Math.max(start, blockNo * BLOCK) - blockNo * BLOCK;
    const to = Math.min(end, (blockNo + 1) * BLOCK) - blockNo * BLOCK;
    if (!res.write(block.subarray(from, to))) await new Promise((r) => { res.once('drain', r); res.once('close', r); });
  }
  res.end();
}

const escapeXml = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** ListObjects V1 and V2: prefix, delimiter, max-keys (≤ 1,000), marker / start-after / continuation-token. */
function list(res: http.ServerResponse, bucket: string, q: URLSearchParams): void {
  sortedKeys ??= [...objects.keys()].sort();
  const v2 = q.get('list-type') === '2';
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const max = Math.min(1000, Number(q.get('max-keys') ?? 1000));
  const after = (v2 ? q.get('continuation-token') ?? q.get('start-after') : q.get('marker')) ?? '';
  const enc = q.get('encoding-type') === 'url' ? (k: string) => encodeURIComponent(k).replace(/%2F/g, '/') : escapeXml;
  let lo = 0;
  let hi = sortedKeys.length;
  const from = after > prefix ? after : prefix;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (sortedKeys[mid]! < from || sortedKeys[mid] === after) lo = mid + 1; else hi = mid; }
  const contents: string[] = [];
  const prefixes: string[] = [];
  let last = '';
  let truncated = false;
  for (let i = lo; i < sortedKeys.length; i++) {
    const k = sortedKeys[i]!;
    if (k <= after) continue;
    if (!k.startsWith(prefix)) break;
    if (contents.length + prefixes.length >= max) { truncated = true; break; }
    const cut = delimiter === '' ? -1 : k.indexOf(delimiter, prefix.length);
    if (cut >= 0) {
      const p = k.slice(0, cut + delimiter.length);
      if (prefixes.at(-1) !== p) prefixes.push(p);
      // the rest of this common prefix is skipped; a continuation resumes after its last key
      while (i + 1 < sortedKeys.length && sortedKeys[i + 1]!.startsWith(p)) i++;
      last = sortedKeys[i]!;
      continue;
    }
    const o = objects.get(k)!;
    contents.push(`<Contents><Key>${enc(k)}</Key><Size>${o.size}</Size><ETag>${o.etag}</ETag><LastModified>${o.mtime!.toISOString()}</LastModified><StorageClass>STANDARD</StorageClass></Contents>`);
    last = k;
  }
  const next = truncated ? (v2 ? `<NextContinuationToken>${enc(last)}</NextContinuationToken>` : `<NextMarker>${enc(last)}</NextMarker>`) : '';
  xml(res, 200, `<ListBucketResult><Name>${bucket}</Name><Prefix>${enc(prefix)}</Prefix>${delimiter ? `<Delimiter>${enc(delimiter)}</Delimiter>` : ''}` +
    `${v2 ? `<KeyCount>${contents.length + prefixes.length}</KeyCount>` : ''}<MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${next}` +
    `${q.get('encoding-type') === 'url' ? '<EncodingType>url</EncodingType>' : ''}` +
    `${contents.join('')}${prefixes.map((p) => `<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`).join('')}</ListBucketResult>`);
}

server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
setTimeout(() => process.exit(0), 2 * 3600 * 1000).unref();
