// Builds the backend for a destination, and fixes the order of the decorators around it:
// adapter → storage class of data objects → retry → dry-run (outermost, so a dry run makes no remote write at all).
import type { Destination } from '../config/destination.ts';
import type { Backend } from './backend.ts';
import type { AzureCredentialChoice } from './azure-credentials.ts';
import { withRetries, defaultRetryPolicy, type RetryPolicy } from './retry.ts';
import { withDryRun } from './dry-run.ts';
import { storedAs, type ServerSideEncryption } from './server-side.ts';
import { withDataStorageClass } from './storage-class.ts';

export interface OpenBackendOptions {
  readonly region: string;
  readonly s3Endpoint: string | undefined;
  readonly s3PathStyle: boolean | undefined;
  readonly s3Checksum: 'when_supported' | 'when_required';
  readonly gcsEndpoint: string | undefined;
  readonly projectId: string | undefined;
  readonly multipartThreshold: number;
  readonly partConcurrency: number;
  /** Files in flight; the connection pool is sized from it. */
  readonly concurrency: number;
  readonly dryRun: boolean;
  readonly ioTimeoutMs: number;
  readonly retryAttempts: number;
  readonly retryDelayMs: number;
  readonly onRetry?: RetryPolicy['onRetry'];
  readonly azureEndpoint?: string | undefined;
  /** How the Azure client authenticates (from the environment: azureCredentialFromEnv). */
  readonly azureCredential?: AzureCredentialChoice;
  /** Checked against the destination's kind (server-side.ts). */
  readonly encryption?: ServerSideEncryption | undefined;
  /** Of data objects, in the store's spelling (checkedStorageClass). */
  readonly storageClass?: string | undefined;
}

export async function openBackend(dest: Destination, o: OpenBackendOptions): Promise<Backend> {
  const adapter = withDataStorageClass(await openAdapter(dest, o), o.storageClass);
  const recorded = storedAs(o.encryption, o.storageClass);
  const described: Backend = recorded === undefined ? adapter : { ...adapter, storedAs: recorded };
  const retried = withRetries(described, {
    ...defaultRetryPolicy, attempts: o.retryAttempts, baseDelayMs: o.retryDelayMs, ...(o.onRetry ? { onRetry: o.onRetry } : {}),
  });
  return o.dryRun ? withDryRun(retried) : retried;
}

/** Each SDK is loaded only when its destination is used: start-up time and memory stay small. */
async function openAdapter(dest: Destination, o: OpenBackendOptions): Promise<Backend> {
  switch (dest.scheme) {
    case 's3': {
      const { createS3Backend } = await import('./s3.ts');
      return createS3Backend({
        bucket: dest.bucket, prefix: dest.prefix, region: o.region,
        ...(o.s3Endpoint ? { endpoint: o.s3Endpoint } : {}),
        forcePathStyle: o.s3PathStyle ?? o.s3Endpoint !== undefined,
        checksumMode: o.s3Checksum === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
        multipartThreshold: o.multipartThreshold, partConcurrency: o.partConcurrency,
        maxSockets: o.concurrency * o.partConcurrency + 4, idleTimeoutMs: o.ioTimeoutMs,
        ...(o.encryption === undefined ? {} : { encryption: o.encryption }),
      });
    }
    case 'gs': {
      const { openGcsBackend } = await import('./gcs.ts');
      return openGcsBackend({
        bucket: dest.bucket, prefix: dest.prefix, resumableThreshold: o.multipartThreshold, requestTimeoutMs: o.ioTimeoutMs,
        ...(o.gcsEndpoint ? { apiEndpoint: o.gcsEndpoint } : {}), ...(o.projectId ? { projectId: o.projectId } : {}),
        ...(o.encryption === undefined ? {} : { encryption: o.encryption }),
      });
    }
    case 'az': {
      const { openAzureBackend } = await import('./azure.ts');
      return openAzureBackend({
        account: dest.account, container: dest.bucket, prefix: dest.prefix, endpoint: o.azureEndpoint,
        credential: o.azureCredential ?? { kind: 'default-chain' },
        blockThreshold: o.multipartThreshold, blockConcurrency: o.partConcurrency, requestTimeoutMs: o.ioTimeoutMs,
        ...(o.encryption?.kind === 'azure-scope' ? { encryptionScope: o.encryption.scope } : {}),
      });
    }
    case 'file': {
      const { createLocalBackend } = await import('./local.ts');
      return createLocalBackend({ root: dest.path });
    }
  }
}

