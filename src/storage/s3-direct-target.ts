// Where direct (SDK-less) S3 requests go and how they are signed: shared by the direct PUT of small files
// (s3-direct-put.ts) and the direct GET of restores (s3-direct-get.ts). The SDK still decides the endpoint (its
// own resolver: regions, FIPS, dual-stack, path/virtual-host addressing) and supplies the credentials.
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { S3Client } from '@aws-sdk/client-s3';
import { SigV4Signer } from './sigv4.ts';

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

/** Where direct requests go; undefined (the SDK's job) for anything unusual, including a resolver that refuses. */
export async function resolveTarget(config: DirectConfig): Promise<Target | undefined> {
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
