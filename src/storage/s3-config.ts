// The S3 adapter's configuration, and the settings resolved from it once that its modules share.
import { normalizePrefix } from './prefix.ts';
import { s3Encryption, type S3Encryption } from './s3-encryption.ts';
import type { ServerSideEncryption } from './server-side.ts';

export type S3ChecksumMode = 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';

export interface S3BackendConfig {
  readonly bucket: string;
  /** Key prefix inside the bucket, with or without a trailing slash; '' for the bucket root. */
  readonly prefix: string;
  readonly region: string;
  readonly endpoint?: string;
  readonly forcePathStyle?: boolean;
  /** Files larger than this go up as a multipart upload. Default 64 MiB. */
  readonly multipartThreshold?: number;
  /** Wanted part size; grown so that no upload exceeds 10,000 parts; at least 8 MiB. Default 64 MiB. */
  readonly partSize?: number;
  /** Parts of one file in flight at once. Default 4. */
  readonly partConcurrency?: number;
  /** Attempts per part (each reopens its byte range). Default 3. */
  readonly partAttempts?: number;
  /** SDK-level attempts for non-streaming requests; kept small because the engine owns retries. Default 3. */
  readonly maxAttempts?: number;
  /** SDK requestChecksumCalculation / responseChecksumValidation. Default WHEN_SUPPORTED. */
  readonly checksumMode?: S3ChecksumMode;
  /** Sockets in the one keep-alive pool; size it to the caller's total concurrency. Default 64. */
  readonly maxSockets?: number;
  /** Objects larger than this are copied part by part (UploadPartCopy). Default 5 GiB, CopyObject's limit. */
  readonly multipartCopyThreshold?: number;
  /** A socket with no traffic for this long fails its request (a stalled connection must not hang a run). */
  readonly idleTimeoutMs?: number;
  /** Server-side encryption of every object written, and of server-side copies (SSE-KMS, SSE-S3 or SSE-C). */
  readonly encryption?: ServerSideEncryption;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface Settings {
  readonly bucket: string;
  /** '' or ends with '/'. */
  readonly prefix: string;
  readonly multipartThreshold: number;
  readonly partSize: number | undefined;
  readonly partConcurrency: number;
  readonly partAttempts: number;
  readonly copyThreshold: number;
  readonly checksums: boolean;
  readonly sse: S3Encryption;
}

export function resolveSettings(config: S3BackendConfig): Settings {
  return {
    bucket: config.bucket,
    prefix: normalizePrefix(config.prefix),
    multipartThreshold: config.multipartThreshold ?? 64 * MiB,
    partSize: config.partSize,
    partConcurrency: Math.max(1, config.partConcurrency ?? 4),
    partAttempts: Math.max(1, config.partAttempts ?? 3),
    copyThreshold: Math.min(config.multipartCopyThreshold ?? 5 * GiB, 5 * GiB),
    checksums: (config.checksumMode ?? 'WHEN_SUPPORTED') === 'WHEN_SUPPORTED',
    sse: s3Encryption(config.encryption),
  };
}
