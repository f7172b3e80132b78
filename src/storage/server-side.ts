// What the store is asked to do with every object it keeps, beyond storing the bytes: server-side encryption and
// the storage class of data objects. Read once from the options (the key files here, the one place that opens
// them), checked against the destination's kind, and described for the manifest without any key material.
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.ts';

/** What --sse, --sse-c-key, --gcs-kms-key, --gcs-encryption-key and --azure-encryption-scope ask for. */
export type ServerSideEncryption =
  | { readonly kind: 's3-kms'; readonly keyId: string | undefined }
  | { readonly kind: 's3-aes256' }
  /** SSE-C: the 256-bit key, sent (with its MD5) on every write, read and copy. */
  | { readonly kind: 's3-customer-key'; readonly key: Buffer }
  | { readonly kind: 'gcs-kms'; readonly keyName: string }
  /** A customer-supplied encryption key (CSEK), sent on every write, read and copy. */
  | { readonly kind: 'gcs-customer-key'; readonly key: Buffer }
  | { readonly kind: 'azure-scope'; readonly scope: string };

/** What a manifest records of the encryption applied: never the key, only a SHA-256 fingerprint of it. */
export interface EncryptionRecord {
  readonly type: 'aws:kms' | 'AES256' | 'SSE-C' | 'gcs-cmek' | 'gcs-csek' | 'azure-encryption-scope';
  readonly keyId?: string;
  /** base64 SHA-256 of a customer-supplied key: tells which key a restore needs, and cannot give the key back. */
  readonly keySha256?: string;
  readonly scope?: string;
}

/** What the objects of a backup were stored with, as the manifest records it. */
export interface StoredAs {
  readonly encryption?: EncryptionRecord;
  /** The storage class or tier of data objects (catalog records are always in the default class). */
  readonly storageClass?: string;
}

export interface ServerSideOptions {
  readonly sse: 'aws:kms' | 'AES256' | undefined;
  readonly sseKmsKeyId: string | undefined;
  readonly sseCKeyFile: string | undefined;
  readonly gcsKmsKey: string | undefined;
  readonly gcsEncryptionKeyFile: string | undefined;
  readonly azureEncryptionScope: string | undefined;
  readonly storageClass: string | undefined;
}

export type Scheme = 's3' | 'gs' | 'az' | 'file';

const FLAGS_OF: Record<Exclude<Scheme, 'file'>, readonly (keyof ServerSideOptions)[]> = {
  s3: ['sse', 'sseKmsKeyId', 'sseCKeyFile'],
  gs: ['gcsKmsKey', 'gcsEncryptionKeyFile'],
  az: ['azureEncryptionScope'],
};

const FLAG_NAMES: Record<keyof ServerSideOptions, string> = {
  sse: '--sse', sseKmsKeyId: '--sse-kms-key-id', sseCKeyFile: '--sse-c-key', gcsKmsKey: '--gcs-kms-key',
  gcsEncryptionKeyFile: '--gcs-encryption-key', azureEncryptionScope: '--azure-encryption-scope', storageClass: '--storage-class',
};

const SCHEME_NAMES: Record<Scheme, string> = { s3: 's3://', gs: 'gs://', az: 'az://', file: 'file://' };

/** The storage classes each store names, in its own spelling (S3 and GCS upper case, Azure's tiers capitalised). */
export const STORAGE_CLASSES: Record<Exclude<Scheme, 'file'>, readonly string[]> = {
  s3: ['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE', 'REDUCED_REDUNDANCY'],
  gs: ['STANDARD', 'NEARLINE', 'COLDLINE', 'ARCHIVE'],
  az: ['Hot', 'Cool', 'Cold', 'Archive'],
};

/** The storage class as the destination's store spells it, or a UsageError naming the valid ones. */
export function checkedStorageClass(scheme: Scheme, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (scheme === 'file') throw new UsageError(`--storage-class ${value}: a file:// destination has no storage classes`);
  const known = STORAGE_CLASSES[scheme].find((c) => c.toLowerCase() === value.trim().toLowerCase());
  if (known === undefined) {
    throw new UsageError(`--storage-class: "${value}" is not a storage class of ${SCHEME_NAMES[scheme]} (one of ${STORAGE_CLASSES[scheme].join(', ')})`);
  }
  return known;
}

/** Reads a 256-bit key file: base64 (as `openssl rand -base64 32` writes it) or the 32 raw bytes. */
export function parseKeyFile(flag: string, path: string, content: Buffer): Buffer {
  if (content.length === 32) return content;
  const text = content.toString('utf8').trim();
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) {
    throw new UsageError(`${flag} ${path}: expected a 256-bit key, base64 (e.g. \`openssl rand -base64 32 > ${path}\`) or 32 raw bytes`);
  }
  return key;
}

export function keySha256(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64');
}

/**
 * The encryption a destination of `scheme` is asked for. Options of another store than the destination's are
 * refused (a flag for S3 on a gs:// destination would otherwise be ignored, and the backup stored unencrypted).
 */
export function serverSideEncryption(scheme: Scheme, o: ServerSideOptions, readKey: (path: string) => Buffer): ServerSideEncryption | undefined {
  for (const [other, names] of Object.entries(FLAGS_OF) as [Exclude<Scheme, 'file'>, readonly (keyof ServerSideOptions)[]][]) {
    if (other === scheme) continue;
    const given = names.find((n) => o[n] !== undefined);
    if (given !== undefined) {
      throw new UsageError(`${FLAG_NAMES[given]} applies to ${SCHEME_NAMES[other]} destinations, not ${SCHEME_NAMES[scheme]}: remove it, or change --dest`);
    }
  }
  const key = (flag: string, path: string): Buffer => parseKeyFile(flag, path, readKey(path));
  switch (scheme) {
    case 's3': {
      if (o.sseCKeyFile !== undefined && (o.sse !== undefined || o.sseKmsKeyId !== undefined)) {
        throw new UsageError('--sse-c-key cannot be combined with --sse or --sse-kms-key-id: choose one encryption');
      }
      if (o.sseCKeyFile !== undefined) return { kind: 's3-customer-key', key: key('--sse-c-key', o.sseCKeyFile) };
      if (o.sseKmsKeyId !== undefined && o.sse !== 'aws:kms') throw new UsageError('--sse-kms-key-id needs --sse aws:kms');
      if (o.sse === 'aws:kms') return { kind: 's3-kms', keyId: o.sseKmsKeyId };
      if (o.sse === 'AES256') return { kind: 's3-aes256' };
      return undefined;
    }
    case 'gs':
      if (o.gcsKmsKey !== undefined && o.gcsEncryptionKeyFile !== undefined) {
        throw new UsageError('--gcs-kms-key cannot be combined with --gcs-encryption-key: choose one encryption');
      }
      if (o.gcsKmsKey !== undefined) return { kind: 'gcs-kms', keyName: o.gcsKmsKey };
      if (o.gcsEncryptionKeyFile !== undefined) return { kind: 'gcs-customer-key', key: key('--gcs-encryption-key', o.gcsEncryptionKeyFile) };
      return undefined;
    case 'az':
      return o.azureEncryptionScope === undefined ? undefined : { kind: 'azure-scope', scope: o.azureEncryptionScope };
    case 'file':
      return undefined;
  }
}

export function encryptionRecord(e: ServerSideEncryption): EncryptionRecord {
  switch (e.kind) {
    case 's3-kms': return { type: 'aws:kms', ...(e.keyId === undefined ? {} : { keyId: e.keyId }) };
    case 's3-aes256': return { type: 'AES256' };
    case 's3-customer-key': return { type: 'SSE-C', keySha256: keySha256(e.key) };
    case 'gcs-kms': return { type: 'gcs-cmek', keyId: e.keyName };
    case 'gcs-customer-key': return { type: 'gcs-csek', keySha256: keySha256(e.key) };
    case 'azure-scope': return { type: 'azure-encryption-scope', scope: e.scope };
  }
}

export function storedAs(encryption: ServerSideEncryption | undefined, storageClass: string | undefined): StoredAs | undefined {
  if (encryption === undefined && storageClass === undefined) return undefined;
  return {
    ...(encryption === undefined ? {} : { encryption: encryptionRecord(encryption) }),
    ...(storageClass === undefined ? {} : { storageClass }),
  };
}
