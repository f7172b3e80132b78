// The "limit" column of bench/run.ts: the least a Node program can do to put these files into S3 — a plain loop of
// signed PUTs, `concurrency` in flight on one node:http keep-alive agent, each file read whole (fs.readFile's syscalls) and
// sent as one PUT (files over 64 MiB streamed from the file instead, with their length declared). Signed with the
// project's own src/storage/sigv4.ts and UNSIGNED-PAYLOAD: no checksum, journal, manifest or retry. A failed PUT
// (any status but 200) makes the run fail: this is a floor for the client's cost, not a backup tool.
//
//   node bench/put-loop.ts <endpoint> <bucket> <key prefix> <root> <list file> [concurrency=8]
//
// Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, region AWS_REGION (us-east-1).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { SigV4Signer, encodeKeyPath } from '../src/storage/sigv4.ts';

const [endpoint, bucket, prefix, root, listFile, concArg] = process.argv.slice(2);
if (!endpoint || !bucket || !prefix || !root || !listFile) {
  console.error('usage: put-loop.ts <endpoint> <bucket> <prefix> <root> <list file> [concurrency]');
  process.exit(2);
}
const concurrency = Number(concArg ?? 8);
const url = new URL(endpoint);
const credentials = { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '' };
const signer = new SigV4Signer(process.env.AWS_REGION ?? 'us-east-1', 's3');
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const STREAM_ABOVE = 64 * 1024 * 1024;
const files = fs.readFileSync(listFile, 'utf8').split('\n').filter((l) => l !== '');

function put(rel: string): Promise<void> {
  const file = path.join(root!, rel);
  const keyPath = `/${bucket}/${encodeKeyPath(`${prefix}/${rel}`)}`;
  return new Promise((resolve, reject) => {
    const send = (length: number, body: Buffer | fs.ReadStream): void => {
      const headers = signer.sign({ method: 'PUT', host: url.host, path: keyPath, headers: { 'content-length': String(length) } }, credentials, new Date());
      const req = http.request({ agent, host: url.hostname, port: url.port, method: 'PUT', path: keyPath, headers }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${rel}: HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      if (Buffer.isBuffer(body)) req.end(body);
      else body.on('error', reject).pipe(req);
    };
    // fs.readFile's own syscalls (open, fstat, one read, close), with the size seen before the read so that a big
    // file is streamed instead (readFile refuses files of 2 GiB and more).
    fs.open(file, 'r', (err, fd) => {
      if (err) return reject(err);
      fs.fstat(fd, (e1, st) => {
        if (e1) return reject(e1);
        if (st.size > STREAM_ABOVE) {
          fs.close(fd, () => undefined);
          return send(st.size, fs.createReadStream(file, { highWaterMark: 1 << 20 }));
        }
        const buf = Buffer.allocUnsafe(st.size);
        fs.read(fd, buf, 0, st.size, 0, (e2, n) => {
          fs.close(fd, () => undefined);
          if (e2) return reject(e2);
          if (n !== st.size) return reject(new Error(`${rel}: short read ${n} of ${st.size}`));
          send(n, buf);
        });
      });
    });
  });
}

let next = 0;
async function worker(): Promise<void> {
  while (next < files.length) await put(files[next++]!);
}
await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
agent.destroy();
