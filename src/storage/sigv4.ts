// AWS Signature Version 4 for the direct S3 requests (s3-direct-put.ts): header-based signing of one request
// with an unsigned payload (the body's integrity is carried by x-amz-checksum-crc32c, which S3 verifies).
// Pure: the caller supplies the time. Signing keys are derived once per day, region and secret.
import { createHmac, createSecretKey, hash, type KeyObject } from 'node:crypto';

export interface SigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export interface SigV4Request {
  readonly method: string;
  /** host[:port] exactly as sent in the Host header. */
  readonly host: string;
  /** The path as sent: already URI-encoded once (S3 is signed without double encoding). */
  readonly path: string;
  /** Lower-case names; every header given is signed. host, x-amz-date, x-amz-content-sha256 are added. */
  readonly headers: Readonly<Record<string, string>>;
}

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** Percent-encodes one S3 key for a URL path: RFC 3986 unreserved characters and '/' stay as they are. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map((segment) =>
    encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');
}

/** YYYYMMDD'T'HHMMSS'Z' */
export function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export class SigV4Signer {
  private cachedScope = '';
  private cachedSecret = '';
  // A KeyObject, not a Buffer: HMAC with a prepared key is ~6x cheaper per request.
  private cachedKey: KeyObject | undefined;

  private readonly region: string;
  private readonly service: string;

  constructor(region: string, service: string) {
    this.region = region;
    this.service = service;
  }

  /** The request's headers, signed: the given ones plus host, x-amz-date, x-amz-content-sha256, token, authorization. */
  sign(request: SigV4Request, credentials: SigV4Credentials, now: Date): Record<string, string> {
    const date = amzDate(now);
    const day = date.slice(0, 8);
    const headers: Record<string, string> = {
      ...request.headers,
      host: request.host,
      'x-amz-date': date,
      'x-amz-content-sha256': UNSIGNED_PAYLOAD,
      ...(credentials.sessionToken ? { 'x-amz-security-token': credentials.sessionToken } : {}),
    };
    const names = Object.keys(headers).sort();
    const signedHeaders = names.join(';');
    const canonicalHeaders = names.map((n) => `${n}:${String(headers[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
    const canonicalRequest = [request.method, request.path, '', canonicalHeaders, signedHeaders, UNSIGNED_PAYLOAD].join('\n');
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', date, scope, hash('sha256', canonicalRequest, 'hex')].join('\n');
    const signature = createHmac('sha256', this.signingKey(scope, day, credentials.secretAccessKey)).update(stringToSign).digest('hex');
    headers.authorization =
      `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }

  private signingKey(scope: string, day: string, secret: string): KeyObject {
    if (this.cachedKey === undefined || scope !== this.cachedScope || secret !== this.cachedSecret) {
      const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
      this.cachedKey = createSecretKey(hmac(hmac(hmac(hmac(`AWS4${secret}`, day), this.region), this.service), 'aws4_request'));
      this.cachedScope = scope;
      this.cachedSecret = secret;
    }
    return this.cachedKey;
  }
}
