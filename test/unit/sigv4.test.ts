// Our SigV4 signer must produce exactly what the AWS SDK's signer produces for the same request, so that a
// direct PutObject is accepted wherever the SDK's would be (the e2e test proves it against a real server).
import assert from 'node:assert/strict';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { SigV4Signer, amzDate, encodeKeyPath, UNSIGNED_PAYLOAD } from '../../src/storage/sigv4.ts';

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The SDK signer's hash interface over node:crypto (HMAC when given a secret). */
class Sha256 {
  private readonly inner: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.inner = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.inner.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.inner.digest()));
  }
}

const NOW = new Date('2026-11-26T03:04:05.678Z');

async function sdkSignature(opts: {
  region: string; host: string; path: string; headers: Record<string, string>;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}): Promise<Record<string, string>> {
  const signer = new SignatureV4({ credentials: opts.credentials, region: opts.region, service: 's3', sha256: Sha256, uriEscapePath: false });
  const signed = await signer.sign({
    method: 'PUT', protocol: 'http:', hostname: opts.host.split(':')[0]!, path: opts.path, query: {},
    headers: { ...opts.headers, host: opts.host, 'x-amz-content-sha256': UNSIGNED_PAYLOAD },
  }, { signingDate: NOW });
  return signed.headers as Record<string, string>;
}

describe('SigV4Signer', () => {
  const cases = [
    { name: 'path-style loopback key', region: 'us-east-1', host: '127.0.0.1:7070', key: 'cbr-test/node-1/data1/ks/t-1/snapshots/x/nb-1-big-Data.db' },
    { name: 'virtual-host AWS key with odd characters', region: 'eu-west-1', host: 'b.s3.eu-west-1.amazonaws.com', key: "a b/c+d=e/f!g'h(i)j*k/ü~._-" },
  ];
  for (const c of cases) {
    for (const token of [undefined, 'session/token+=']) {
      it(`matches the SDK's signer: ${c.name}${token ? ', with a session token' : ''}`, async () => {
        const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', ...(token ? { sessionToken: token } : {}) };
        const path = `/${encodeKeyPath(c.key)}`;
        const headers = { 'content-length': '1234', 'x-amz-checksum-crc32c': 'AAAAAA==' };
        const ours = new SigV4Signer(c.region, 's3').sign({ method: 'PUT', host: c.host, path, headers }, credentials, NOW);
        const sdk = await sdkSignature({ region: c.region, host: c.host, path, headers, credentials });
        assert.equal(ours.authorization, sdk.authorization);
        assert.equal(ours['x-amz-date'], sdk['x-amz-date']);
        assert.equal(ours['x-amz-security-token'], sdk['x-amz-security-token']);
      });
    }
  }

  it('reuses the signing key within a day and derives a new one for a new day or secret', () => {
    const signer = new SigV4Signer('us-east-1', 's3');
    const req = { method: 'PUT', host: 'h', path: '/k', headers: {} };
    const a = signer.sign(req, { accessKeyId: 'A', secretAccessKey: 'one' }, NOW).authorization;
    const b = signer.sign(req, { accessKeyId: 'A', secretAccessKey: 'two' }, NOW).authorization;
    const c = signer.sign(req, { accessKeyId: 'A', secretAccessKey: 'one' }, new Date('2026-11-27T03:04:05Z')).authorization;
    const again = signer.sign(req, { accessKeyId: 'A', secretAccessKey: 'one' }, NOW).authorization;
    assert.notEqual(a, b);
    assert.notEqual(a, c);
    assert.equal(a, again);
  });

  it('encodes key paths once, keeping slashes and unreserved characters', () => {
    assert.equal(encodeKeyPath('a/b c/d+e/(x)*!\'~._-'), 'a/b%20c/d%2Be/%28x%29%2A%21%27~._-');
    assert.equal(amzDate(NOW), '20261126T030405Z');
  });
});
