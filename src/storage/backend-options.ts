// The backend's options from the global options and the environment: the one place that reads the key files of
// SSE-C / CSEK and checks the encryption and storage-class options against the destination's kind.
import { readFileSync } from 'node:fs';
import type { Destination } from '../config/destination.ts';
import type { GlobalOptions } from '../config/options.ts';
import { UsageError } from '../errors.ts';
import { azureCredentialFromEnv } from './azure-credentials.ts';
import type { OpenBackendOptions } from './open.ts';
import type { RetryPolicy } from './retry.ts';
import { checkedStorageClass, serverSideEncryption } from './server-side.ts';

export interface BackendOptionsInput {
  readonly projectId: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly onRetry?: RetryPolicy['onRetry'];
  /** Reads a key file (default: the file system); a failure is a usage error naming the file. */
  readonly readKey?: (path: string) => Buffer;
}

function readKeyFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new UsageError(`cannot read the key file ${path} (${typeof code === 'string' ? code : String(err)})`, { cause: err });
  }
}

export function backendOptionsFor(dest: Destination, opts: GlobalOptions, input: BackendOptionsInput): OpenBackendOptions {
  const encryption = serverSideEncryption(dest.scheme, opts, input.readKey ?? readKeyFile);
  const storageClass = checkedStorageClass(dest.scheme, opts.storageClass);
  return {
    region: opts.region, s3Endpoint: opts.s3Endpoint, s3PathStyle: opts.s3PathStyle, s3Checksum: opts.s3Checksum,
    gcsEndpoint: opts.gcsEndpoint, projectId: input.projectId, multipartThreshold: opts.multipartThreshold,
    partConcurrency: opts.partConcurrency, concurrency: opts.concurrency, dryRun: opts.dryRun,
    retryAttempts: opts.retryAttempts, retryDelayMs: opts.retryDelayMs, ioTimeoutMs: opts.ioTimeoutMs,
    ...(input.onRetry === undefined ? {} : { onRetry: input.onRetry }),
    azureEndpoint: opts.azureEndpoint, azureCredential: azureCredentialFromEnv(input.env),
    encryption, storageClass,
  };
}
