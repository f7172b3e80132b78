// The one narrow interface every storage destination implements (S3, GCS, local files).
// Keys are relative to the destination's root (bucket + prefix); adapters add the prefix themselves.
// Cross-cutting behaviour (retry, dry run, rate limit) wraps a Backend instead of living in an adapter.
import type { Readable } from 'node:stream';
import { StorageError } from '../errors.ts';

/** A create-only put found an object under its key: a lost race, an answer rather than an error to retry. */
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof StorageError && err.code === 'PreconditionFailed';
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  /** The store's identity of this object version: S3 ETag (unquoted), GCS generation, local mtime+size. */
  readonly etag?: string;
  /** CRC32C of the whole object, base64 of the big-endian 32-bit value (GCS format), when the store has it. */
  readonly crc32c?: string;
  readonly lastModified?: Date;
}

/** Bytes to store, re-openable so that a retry can read them again. `end` is exclusive. */
export interface PutSource {
  readonly size: number;
  open(start?: number, end?: number): Readable;
  /**
   * The whole source in one buffer, cheaper than a stream for a small one (adapters call it only below their
   * small-body limit). Optional: a source without it is read through open().
   */
  readAll?(signal?: AbortSignal): Promise<Buffer>;
}

export interface PutOptions {
  readonly signal?: AbortSignal;
  /** Called with each increment of bytes handed to the store (for progress and rate accounting). */
  readonly onBytes?: (bytes: number) => void;
  /** Store only if no object exists under the key; otherwise fail so that isAlreadyExists(err) is true. */
  readonly createOnly?: boolean;
}

export interface GetOptions {
  readonly signal?: AbortSignal;
}

export interface SignalOptions {
  readonly signal?: AbortSignal;
}

export interface CopyOptions extends SignalOptions {
  /** The source's size when the caller knows it (from a manifest): saves asking the store first. */
  readonly size?: number;
}

/** An upload begun and never completed (an S3 multipart upload, a local temp file): storage nothing references. */
export interface IncompleteUpload {
  readonly key: string;
  readonly uploadId: string;
  readonly initiated?: Date;
}

export interface Backend {
  /** Where this backend writes, without credentials, e.g. `s3://bucket/prefix`. */
  readonly description: string;
  /** Stores the source under key, multipart/resumable above the adapter's threshold. */
  put(key: string, source: PutSource, options?: PutOptions): Promise<ObjectInfo>;
  /** undefined when the object does not exist. */
  stat(key: string, options?: SignalOptions): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with prefix, in no guaranteed order. */
  list(prefix: string, options?: SignalOptions): AsyncIterable<ObjectInfo>;
  /** Names of the immediate "sub-directories" under prefix (which must end with `/` or be empty). */
  listDirs(prefix: string, options?: SignalOptions): Promise<string[]>;
  get(key: string, options?: GetOptions): Promise<Readable>;
  /** Server-side copy; no bytes pass through this process. */
  copy(fromKey: string, toKey: string, options?: CopyOptions): Promise<ObjectInfo>;
  /** Deletes in batches; a key that does not exist is not an error. */
  delete(keys: readonly string[], options?: SignalOptions): Promise<void>;
  /** Uploads under prefix that were begun and never completed; absent where a store cannot list them. */
  listIncompleteUploads?(prefix: string, options?: SignalOptions): AsyncIterable<IncompleteUpload>;
  abortIncompleteUpload?(upload: IncompleteUpload, options?: SignalOptions): Promise<void>;
  close(): Promise<void>;
}
