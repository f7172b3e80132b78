// Destinations the direct PUT leaves to the SDK, decided before any request is sent (no server needed).
import assert from 'node:assert/strict';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { createDirectPut } from '../../src/storage/s3-direct-put.ts';

function directFor(bucket: string): ReturnType<typeof createDirectPut> {
  const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  return createDirectPut({
    client, bucket, endpoint: undefined, forcePathStyle: false, httpAgent: new HttpAgent(), httpsAgent: new HttpsAgent(),
    idleTimeoutMs: 1000,
  });
}

describe('direct PUT: what it leaves to the SDK', () => {
  it('a bucket the endpoint resolver refuses (a malformed ARN): the SDK then reports it in its own words', async () => {
    assert.equal(await directFor('arn:aws:s3:::bad').put('k', Buffer.from('x'), undefined), undefined);
  });

  it('everything once disabled', async () => {
    const direct = directFor('arn:aws:s3:::bad');
    direct.disable();
    assert.equal(await direct.put('k', Buffer.from('x'), undefined), undefined);
  });
});
