// Plain SDK and HTTP calls proving the loopback services are real before anything of ours is blamed.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { requireEnv } from '../support/run-cli.ts';

const s3Endpoint = requireEnv('CBR_S3_ENDPOINT');
const s3Bucket = requireEnv('CBR_S3_BUCKET');
const gcsEndpoint = requireEnv('CBR_GCS_ENDPOINT');
const gcsBucket = requireEnv('CBR_GCS_BUCKET');
const imds = requireEnv('CBR_IMDS_ENDPOINT');
const gceHost = requireEnv('CBR_GCE_METADATA_HOST');
process.env.AWS_ACCESS_KEY_ID = requireEnv('CBR_S3_ACCESS_KEY');
process.env.AWS_SECRET_ACCESS_KEY = requireEnv('CBR_S3_SECRET_KEY');
delete process.env.AWS_SESSION_TOKEN;

describe('versitygw (S3)', () => {
  for (const mode of ['WHEN_SUPPORTED', 'WHEN_REQUIRED'] as const) {
    it(`PutObject and GetObject round-trip with checksums ${mode}`, async () => {
      const client = new S3Client({
        region: 'us-east-1', endpoint: s3Endpoint, forcePathStyle: true,
        requestChecksumCalculation: mode, responseChecksumValidation: mode,
      });
      const key = `smoke/${randomUUID()}`;
      const body = randomBytes(100_000);
      try {
        await client.send(new PutObjectCommand({ Bucket: s3Bucket, Key: key, Body: body }));
        const out = await client.send(new GetObjectCommand({ Bucket: s3Bucket, Key: key }));
        assert.ok(Buffer.from(await out.Body!.transformToByteArray()).equals(body));
        if (mode === 'WHEN_SUPPORTED') assert.ok(out.ChecksumCRC32, 'the server keeps the SDK-sent CRC32');
      } finally {
        await client.send(new DeleteObjectCommand({ Bucket: s3Bucket, Key: key }));
        client.destroy();
      }
    });
  }
});

describe('fake-gcs-server (GCS)', () => {
  it('uploads and downloads through @google-cloud/storage with apiEndpoint', async () => {
    const storage = new Storage({ apiEndpoint: gcsEndpoint, projectId: 'cbr-test' });
    const file = storage.bucket(gcsBucket).file(`smoke/${randomUUID()}`);
    const body = randomBytes(50_000);
    try {
      await file.save(body, { resumable: false, validation: 'crc32c' });
      const [downloaded] = await file.download({ validation: 'crc32c' });
      assert.ok(downloaded.equals(body));
    } finally {
      await file.delete({ ignoreNotFound: true });
    }
  });
});

describe('amazon-ec2-metadata-mock (IMDSv2)', () => {
  it('hands out a token and answers instance-id with it', async () => {
    const tokenRes = await fetch(`${imds}/latest/api/token`, {
      method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' },
    });
    assert.equal(tokenRes.status, 200);
    const token = await tokenRes.text();
    assert.ok(token.length > 0);
    const idRes = await fetch(`${imds}/latest/meta-data/instance-id`, { headers: { 'X-aws-ec2-metadata-token': token } });
    assert.equal(idRes.status, 200);
    assert.match(await idRes.text(), /^i-[0-9a-z]+$/);
  });

  it('refuses a metadata GET without a token (401)', async () => {
    const res = await fetch(`${imds}/latest/meta-data/instance-id`);
    assert.equal(res.status, 401);
    await res.arrayBuffer();
  });
});

describe('GCE metadata fake', () => {
  const base = `http://${gceHost}/computeMetadata/v1`;
  for (const path of ['instance/id', 'instance/zone', 'project/project-id', 'instance/hostname']) {
    it(`answers ${path} with Metadata-Flavor: Google`, async () => {
      const res = await fetch(`${base}/${path}`, { headers: { 'Metadata-Flavor': 'Google' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('metadata-flavor'), 'Google');
      assert.ok((await res.text()).trim().length > 0);
    });
  }

  it('refuses a request without the Metadata-Flavor header (403)', async () => {
    const res = await fetch(`${base}/instance/id`);
    assert.equal(res.status, 403);
    await res.arrayBuffer();
  });
});
