// The direct PutObject path (no SDK middleware) against versitygw, which checks every signature and checksum:
// accepted requests store the exact bytes; anything the store refuses comes back as `fallback` for the SDK.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Agent as HttpAgent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent as HttpsAgent } from 'node:https';
import { after, describe, it } from 'node:test';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { crc32cOf, crc32cToBase64 } from '../../src/checksum/crc32c.ts';
import { createDirectPut, type DirectPutConfig } from '../../src/storage/s3-direct-put.ts';
import { createS3Backend } from '../../src/storage/s3.ts';
import { bytesSource } from '../../src/storage/source.ts';
import { requireEnv } from '../support/run-cli.ts';
import { uniquePrefix } from '../support/s3-env.ts';

const endpoint = requireEnv('CBR_S3_ENDPOINT');
const bucket = requireEnv('CBR_S3_BUCKET');
const credentials = { accessKeyId: requireEnv('CBR_S3_ACCESS_KEY'), secretAccessKey: requireEnv('CBR_S3_SECRET_KEY') };
const prefix = uniquePrefix('direct-put');
// The backend takes credentials only from the SDK's default chain; the environment is its first link.
process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;

function client(creds = credentials): S3Client {
  return new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: creds });
}

function direct(c: S3Client, more: Partial<DirectPutConfig> = {}): ReturnType<typeof createDirectPut> {
  return createDirectPut({
    client: c, bucket, endpoint, forcePathStyle: true, httpAgent: new HttpAgent({ keepAlive: true }),
    httpsAgent: new HttpsAgent({ keepAlive: true }), idleTimeoutMs: 10_000, ...more,
  });
}

async function bytesOf(c: S3Client, key: string): Promise<Buffer> {
  const out = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

describe('direct PutObject against versitygw', () => {
  const raw = client();
  after(async () => {
    const listed = await raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
    assert.ok((listed.KeyCount ?? 0) < 1000, 'one page to clean up');
    const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length > 0) await raw.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
    raw.destroy();
  });

  for (const [name, key] of [
    ['a Cassandra-like key', `${prefix}/node-1/data1/ks/t-0a1b/snapshots/tag/nb-1-big-Data.db`],
    ['a key with spaces, plus, equals, parentheses and non-ASCII', `${prefix}/odd/a b+c=d/(x)!'*~/ü.db`],
  ] as const) {
    it(`stores ${name} byte for byte, with the store's ETag and a verified CRC32C`, async () => {
      const body = randomBytes(70_000);
      const result = await direct(raw).put(key, body, crc32cToBase64(crc32cOf(body)));
      assert.ok(result !== undefined && 'etag' in result, `expected a direct success, got ${JSON.stringify(result)}`);
      assert.deepEqual(await bytesOf(raw, key), body);
      const head = await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
      assert.equal(result.etag, head.ETag?.replace(/"/g, ''));
      assert.equal(head.ChecksumCRC32C, crc32cToBase64(crc32cOf(body)));
    });
  }

  it('stores an empty body, and a body without a CRC32C (then with Content-MD5)', async () => {
    const d = direct(raw);
    assert.ok('etag' in (await d.put(`${prefix}/empty`, Buffer.alloc(0), crc32cToBase64(0)))!);
    const body = randomBytes(1000);
    assert.ok('etag' in (await d.put(`${prefix}/no-checksum`, body, undefined))!);
    assert.deepEqual(await bytesOf(raw, `${prefix}/no-checksum`), body);
    const head = await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}/no-checksum` }));
    assert.equal(head.ETag?.replace(/"/g, ''), createHash('md5').update(body).digest('hex'), 'the stored bytes are the ones sent');
  });

  it('hands a wrong checksum, wrong credentials and a missing bucket back to the SDK path, storing nothing', async () => {
    const body = randomBytes(5000);
    const badCrc = await direct(raw).put(`${prefix}/bad-crc`, body, crc32cToBase64(crc32cOf(body) ^ 1));
    assert.ok(badCrc !== undefined && 'fallback' in badCrc && /HTTP 400/.test(badCrc.fallback), JSON.stringify(badCrc));
    const wrongSecret = client({ ...credentials, secretAccessKey: 'not-the-secret' });
    const badAuth = await direct(wrongSecret).put(`${prefix}/bad-auth`, body, undefined);
    assert.ok(badAuth !== undefined && 'fallback' in badAuth && /HTTP 403/.test(badAuth.fallback), JSON.stringify(badAuth));
    wrongSecret.destroy();
    const noBucket = await createDirectPut({
      client: raw, bucket: `missing-${Date.now()}`, endpoint, forcePathStyle: true, httpAgent: new HttpAgent(),
      httpsAgent: new HttpsAgent(), idleTimeoutMs: 10_000,
    }).put('k', body, undefined);
    assert.ok(noBucket !== undefined && 'fallback' in noBucket && /HTTP 404 NoSuchBucket/.test(noBucket.fallback), JSON.stringify(noBucket));
    const listed = await raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/bad-` }));
    assert.equal(listed.KeyCount ?? 0, 0);
  });

  it('through the S3 backend: after the SDK succeeds where a direct request was refused, the SDK sends the rest', async () => {
    // A store in front of versitygw that refuses requests without a User-Agent (the SDK always sends one).
    const upstream = new URL(endpoint);
    const seen = { refused: 0, forwarded: 0 };
    const proxy = createServer((req, res) => {
      if (req.headers['user-agent'] === undefined) {
        seen.refused++;
        req.resume();
        res.writeHead(400, { 'content-type': 'application/xml' });
        res.end('<Error><Code>InvalidRequest</Code><Message>no user agent</Message></Error>');
        return;
      }
      seen.forwarded++;
      const out = httpRequest({ hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
      req.pipe(out);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const backend = createS3Backend({
      bucket, prefix: `${prefix}/via-proxy`, region: 'us-east-1', forcePathStyle: true,
      endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    });
    try {
      const bodies = [randomBytes(100), randomBytes(2000), randomBytes(30_000)];
      for (const [i, body] of bodies.entries()) await backend.put(`f${i}`, bytesSource(body));
      assert.equal(seen.refused, 1, 'one direct attempt, then the SDK only');
      for (const [i, body] of bodies.entries()) assert.deepEqual(await bytesOf(raw, `${prefix}/via-proxy/f${i}`), body);
    } finally {
      await backend.close();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('fails with a network error (for the engine to retry) when nothing listens', async () => {
    const d = direct(client(), { endpoint: 'http://127.0.0.1:9' });
    await assert.rejects(d.put(`${prefix}/x`, randomBytes(10), undefined), /ECONNREFUSED/);
  });

  it('stops when its signal aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stopped by the test'));
    await assert.rejects(direct(raw).put(`${prefix}/aborted`, randomBytes(10), undefined, controller.signal), /abort|stopped/i);
  });
});
