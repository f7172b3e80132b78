// The S3 client and its one keep-alive connection pool, configured for an engine that owns retries.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3BackendConfig } from './s3-config.ts';
import { assertUsableRegion } from './s3-region.ts';
import { KnownCrc32c } from './s3-checksum.ts';

// The SDK console.warns on every failed streaming request; failures surface as thrown errors instead.
const QUIET_LOGGER = { debug(): void {}, info(): void {}, warn(): void {}, error(): void {} };

export interface Agents {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
}

export function createAgents(config: S3BackendConfig): Agents {
  const agentOptions = { keepAlive: true, maxSockets: config.maxSockets ?? 64 };
  return { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };
}

/** Throws a permanent StorageError for a region that cannot be one (before any request is made). */
export function createClient(config: S3BackendConfig, agents: Agents): S3Client {
  assertUsableRegion(config.region, config.endpoint);
  const mode = config.checksumMode ?? 'WHEN_SUPPORTED';
  return new S3Client({
    region: config.region,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    forcePathStyle: config.forcePathStyle ?? false,
    followRegionRedirects: true,
    maxAttempts: config.maxAttempts ?? 3,
    requestChecksumCalculation: mode,
    // Multipart parts carry a CRC32C the store verifies: computed natively, and not a second pass over bytes the
    // hashing source has just hashed (s3-checksum.ts).
    checksumAlgorithms: { CRC32C: KnownCrc32c },
    responseChecksumValidation: mode,
    // Expect: 100-continue costs a round trip per part and saves nothing when requests are rarely rejected.
    expectContinueHeader: false,
    logger: QUIET_LOGGER,
    requestHandler: {
      httpAgent: agents.http,
      httpsAgent: agents.https,
      connectionTimeout: 10_000,
      socketTimeout: config.idleTimeoutMs ?? 120_000,
    },
  });
}
