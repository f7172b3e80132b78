// The one narrow interface every storage destination implements (S3, GCS, local files).
// Keys are relative to the destination's root (bucket + prefix); adapters add the prefix themselves.
// Cross-cutting behaviour (retry, dry run, rate limit) wraps a Backend instead of living in an adapter.
import type { Readable } from 'node:stream';

export { isAlreadyExists } from './already-exists.ts';
import type { StoredAs } from './server-side.ts';
import type { RangeSink } from './raw-http-range.ts';

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
  /**
   * Store the object only if no object exists under the key (S3 `If-None-Match: *`, GCS `ifGenerationMatch=0`,
   * an exclusive link on file://). If one exists, put throws a permanent StorageError that isAlreadyExists()
   * recognises, and the existing object is left as it was. A lost race is an answer, not an error to retry.
   * The object found may also be this put's own, stored by an attempt whose answer was lost (a retry then sees
   * it): a caller that must tell the two apart compares the stored object with its bytes (stat's crc32c, get).
   */
  readonly createOnly?: boolean;
  /**
   * The store's storage class or tier for this object (S3 STANDARD_IA, GCS NEARLINE, Azure Cool), as the store
   * names it; absent: the destination's default. Set by withDataStorageClass for data objects only, never for
   * catalog records, which must stay readable without a retrieval.
   */
  readonly storageClass?: string;
}

export interface GetOptions {
  readonly signal?: AbortSignal;
  /** Only these bytes of the object: start inclusive, end exclusive, 0 ≤ start < end ≤ size. The whole object when absent. */
  readonly range?: ByteRange;
}

export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface SignalOptions {
  readonly signal?: AbortSignal;
}

export interface CopyOptions extends SignalOptions {
  /** The source's size when the caller knows it (from a manifest): saves asking the store first. */
  readonly size?: number;
  /** As PutOptions.storageClass, for the copy. */
  readonly storageClass?: string;
}

/** An upload that was started and neither completed nor aborted, e.g. by a run that was killed. */
export interface IncompleteUpload {
  /** The key the upload would have stored, relative to the destination root like every other key. */
  readonly key: string;
  /** The store's name for this upload (S3 UploadId; file://: the temp file's name). */
  readonly uploadId: string;
  /** When it was started (S3 Initiated; file://: the temp file's mtime, i.e. its last write). */
  readonly initiated?: Date;
}

export interface Backend {
  /** Where this backend writes, without credentials, e.g. `s3://bucket/prefix`. */
  readonly description: string;
  /** What the objects written are stored with (encryption without keys, storage class), for the manifest. */
  readonly storedAs?: StoredAs;
  /** Stores the source under key, multipart/resumable above the adapter's threshold. */
  put(key: string, source: PutSource, options?: PutOptions): Promise<ObjectInfo>;
  /** undefined when the object does not exist. */
  stat(key: string, options?: SignalOptions): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with prefix, in no guaranteed order. */
  list(prefix: string, options?: SignalOptions): AsyncIterable<ObjectInfo>;
  /** Names of the immediate "sub-directories" under prefix (which must end with `/` or be empty). */
  listDirs(prefix: string, options?: SignalOptions): Promise<string[]>;
  get(key: string, options?: GetOptions): Promise<Readable>;
  /**
   * Optional: a range of the object handed to `sink` chunk by chunk, without a stream and without a buffer per
   * network read (raw-http-range.ts). false, before any byte reached the sink: this store or this answer needs
   * `get`. Not retried here: the caller retries the range.
   */
  getRangeInto?(key: string, range: ByteRange, sink: RangeSink, options?: SignalOptions): Promise<boolean>;
  /** Server-side copy; no bytes pass through this process. */
  copy(fromKey: string, toKey: string, options?: CopyOptions): Promise<ObjectInfo>;
  /** Deletes in batches; a key that does not exist is not an error. */
  delete(keys: readonly string[], options?: SignalOptions): Promise<void>;
  /**
   * Incomplete uploads whose key starts with prefix, in no guaranteed order, including ones still in progress
   * (the caller decides by `initiated` and its leases which are abandoned). Undefined where a store has none to
   * list (GCS resumable sessions cannot be listed and expire by themselves).
   */
  listIncompleteUploads?(prefix: string, options?: SignalOptions): AsyncIterable<IncompleteUpload>;
  /** Discards an upload listed by listIncompleteUploads; one that is already gone is not an error. */
  abortIncompleteUpload?(upload: IncompleteUpload, options?: SignalOptions): Promise<void>;
  close(): Promise<void>;
}
