// S3 server-side encryption as request parameters, for every request that writes, reads or copies bytes: SSE-KMS
// and SSE-S3 on writes (PutObject, CreateMultipartUpload, CopyObject), and a customer key (SSE-C) on every
// request that touches the object's bytes, the copy source's included. Also as the headers of the direct PUT
// (s3-direct-put.ts), which signs them itself.
import { createHash } from 'node:crypto';
import type { PutObjectCommandInput, StorageClass } from '@aws-sdk/client-s3';
import type { ServerSideEncryption } from './server-side.ts';

export interface S3Encryption {
  /** PutObject, CreateMultipartUpload, CopyObject (the copy's destination). */
  readonly write: Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId' | 'SSECustomerAlgorithm' | 'SSECustomerKey' | 'SSECustomerKeyMD5'>;
  /** GetObject, HeadObject, UploadPart, UploadPartCopy (the part's destination): only SSE-C has any. */
  readonly read: Pick<PutObjectCommandInput, 'SSECustomerAlgorithm' | 'SSECustomerKey' | 'SSECustomerKeyMD5'>;
  /** CopyObject and UploadPartCopy: the source's customer key. */
  readonly copySource: Readonly<Record<string, string>>;
  /** The direct PUT's headers (lower case), the same as `write`. */
  readonly headers: Readonly<Record<string, string>>;
}

const NONE: S3Encryption = { write: {}, read: {}, copySource: {}, headers: {} };

export function s3Encryption(e: ServerSideEncryption | undefined): S3Encryption {
  if (e === undefined) return NONE;
  switch (e.kind) {
    case 's3-kms':
      return {
        write: { ServerSideEncryption: 'aws:kms', ...(e.keyId === undefined ? {} : { SSEKMSKeyId: e.keyId }) },
        read: {}, copySource: {},
        headers: { 'x-amz-server-side-encryption': 'aws:kms', ...(e.keyId === undefined ? {} : { 'x-amz-server-side-encryption-aws-kms-key-id': e.keyId }) },
      };
    case 's3-aes256':
      return { write: { ServerSideEncryption: 'AES256' }, read: {}, copySource: {}, headers: { 'x-amz-server-side-encryption': 'AES256' } };
    case 's3-customer-key': {
      const key = e.key.toString('base64');
      const md5 = createHash('md5').update(e.key).digest('base64');
      const customer = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key, SSECustomerKeyMD5: md5 };
      return {
        write: customer, read: customer,
        copySource: { CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: key, CopySourceSSECustomerKeyMD5: md5 },
        headers: {
          'x-amz-server-side-encryption-customer-algorithm': 'AES256',
          'x-amz-server-side-encryption-customer-key': key,
          'x-amz-server-side-encryption-customer-key-md5': md5,
        },
      };
    }
    default:
      return NONE; // another store's encryption: refused before an adapter is built (server-side.ts)
  }
}

/** The storage class as a request parameter of a write, and as the direct PUT's header. */
export function s3StorageClass(storageClass: string | undefined): { param: { StorageClass?: StorageClass }; header: Record<string, string> } {
  return storageClass === undefined
    ? { param: {}, header: {} }
    // Checked against the known classes when the options were read (checkedStorageClass).
    : { param: { StorageClass: storageClass as StorageClass }, header: { 'x-amz-storage-class': storageClass } };
}
