// Where direct (SDK-less) S3 requests go and how they are signed: shared by the direct PUT of small files
// (s3-direct-put.ts) and the direct GET of restores (s3-direct-get.ts). The SDK still decides the endpoint (its
// own resolver: regions, FIPS, dual-stack, path/virtual-host addressing) and supplies the credentials.
import { request as httpRequest, type Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import type { S3Client } from '@aws-sdk/client-s3';
import { SigV4Signer, encodeKeyPath, type SigV4Credentials } from './sigv4.ts';

export interface DirectConfig {
  readonly client: S3Client;
  readonly bucket: string;
  readonly endpoint: string | undefined;
  readonly forcePathStyle: boolean;
  readonly httpAgent: HttpAgent;
  readonly httpsAgent: HttpsAgent;
  /** A socket with no traffic for this long fails the request. */
  readonly idleTimeoutMs: number;
}

export interface Target {
  readonly https: boolean;
  readonly hostname: string;
  readonly port: number | undefined;
  /** host[:port] for the Host header. */
  readonly host: string;
  /** Path before the key, ending in '/'. */
  readonly basePath: string;
  readonly signer: SigV4Signer;
}

/** An S3 error answer, shaped like the SDK's (name = S3 error code, $metadata.httpStatusCode) for s3Error(). */
export class DirectS3Error extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
  }
}

/** One direct request, signed: where it goes and its headers. */
export interface SignedRequest {
  readonly target: Target;
  readonly method: 'GET' | 'PUT';
  readonly path: string;
  readonly headers: Record<string, string>;
}

/**
 * What the direct GET and PUT share: the target, resolved once; signing with the client's current credentials;
 * and the switch that sends every later request through the SDK.
 */
export interface DirectSession {
  /** undefined when this destination needs the SDK, or after disable(). */
  sign(method: 'GET' | 'PUT', fullKey: string, headers: Record<string, string>): Promise<SignedRequest | undefined>;
  /** From now on sign answers undefined: the caller saw the SDK succeed where a direct request was refused. */
  disable(): void;
}

export function directSession(config: DirectConfig): DirectSession {
  let target: Promise<Target | undefined> | undefined;
  let disabled = false;
  return {
    disable(): void {
      disabled = true;
    },
    async sign(method, fullKey, headers) {
      if (disabled) return undefined;
      target ??= resolveTarget(config);
      const t = await target;
      if (t === undefined) return undefined;
      const credentials = await config.client.config.credentials() as SigV4Credentials;
      const path = t.basePath + encodeKeyPath(fullKey);
      return { target: t, method, path, headers: t.signer.sign({ method, host: t.host, path, headers }, credentials, new Date()) };
    },
  };
}

/** Sends a signed request on the client's keep-alive pool; a socket idle that long fails it, also while a body streams. */
export function sendDirect(config: DirectConfig, r: SignedRequest, body: Buffer | undefined, signal: AbortSignal | undefined): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const t = r.target;
    const request = t.https ? httpsRequest : httpRequest;
    const req = request({
      hostname: t.hostname, port: t.port, method: r.method, path: r.path, headers: r.headers,
      agent: t.https ? config.httpsAgent : config.httpAgent,
      timeout: config.idleTimeoutMs,
      ...(signal === undefined ? {} : { signal }),
    }, resolve);
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no traffic for ${config.idleTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

/** Where direct requests go; undefined (the SDK's job) for anything unusual, including a resolver that refuses. */
async function resolveTarget(config: DirectConfig): Promise<Target | undefined> {
  try {
    return await directTarget(config);
  } catch {
    return undefined; // e.g. an invalid bucket name: the SDK reports it in its own words
  }
}

async function directTarget(config: DirectConfig): Promise<Target | undefined> {
  const c = config.client.config;
  const region = await c.region();
  const endpoint = config.endpoint ?? (await c.serviceConfiguredEndpoint?.());
  const resolved = c.endpointProvider({
    Bucket: config.bucket, Region: region, UseFIPS: await c.useFipsEndpoint(), UseDualStack: await c.useDualstackEndpoint(),
    ForcePathStyle: config.forcePathStyle, UseArnRegion: await arnRegionSetting(c.useArnRegion),
    ...(endpoint === undefined ? {} : { Endpoint: endpoint }),
  }, {});
  const scheme = (resolved.properties?.authSchemes as Array<Record<string, unknown>> | undefined)?.[0];
  // Anything but plain SigV4 (SigV4a access points, S3 Express sessions) and extra endpoint headers: the SDK's job.
  if (scheme === undefined || scheme.name !== 'sigv4' || Object.keys(resolved.headers ?? {}).length > 0) return undefined;
  const url = resolved.url;
  const https = url.protocol === 'https:';
  return {
    https,
    hostname: url.hostname.replace(/^\[|\]$/g, ''), // an IPv6 literal without its URL brackets
    port: url.port === '' ? undefined : Number(url.port),
    host: url.host,
    basePath: url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`,
    signer: new SigV4Signer(String(scheme.signingRegion ?? region), String(scheme.signingName ?? 's3')),
  };
}

/** The client's useArnRegion, a value or a provider depending on how it was configured. */
async function arnRegionSetting(setting: boolean | (() => Promise<boolean | undefined>) | undefined): Promise<boolean | undefined> {
  return typeof setting === 'function' ? setting() : setting;
}

export function xmlField(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m?.[1];
}
