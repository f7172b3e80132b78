// Direct access to the loopback S3 and GCS servers, for tests to check what the CLI stored.
import {
  S3Client, GetObjectCommand, PutObjectCommand, ListObjectsV2Command, DeleteObjectsCommand, ListMultipartUploadsCommand, AbortMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { requireEnv } from './run-cli.ts';

export interface StoreReader {
  readonly name: 's3' | 'gcs';
  get(key: string): Promise<Buffer>;
  list(prefix: string): Promise<Map<string, number>>;
  deletePrefix(prefix: string): Promise<void>;
  /** Deletes exactly these keys (as a purge of another host, a lifecycle rule or an operator would). */
  deleteKeys(keys: readonly string[]): Promise<void>;
  /** Stores an object directly (as another host, an older version or an operator would). */
  put(key: string, body: Buffer | string): Promise<void>;
}

export function s3Reader(): StoreReader {
  const bucket = requireEnv('CBR_S3_BUCKET');
  const client = s3TestClient();
  const list = async (prefix: string): Promise<Map<string, number>> => {
    const out = new Map<string, number>();
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) out.set(o.Key, o.Size ?? 0);
      token = page.NextContinuationToken;
    } while (token);
    return out;
  };
  return {
    name: 's3',
    async get(key) {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    },
    list,
    async deletePrefix(prefix) {
      await this.deleteKeys([...(await list(prefix)).keys()]);
    },
    async put(key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async deleteKeys(keys) {
      for (let i = 0; i < keys.length; i += 1000) {
        await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
      }
    },
  };
}

export function gcsReader(): StoreReader {
  const storage = new Storage({ apiEndpoint: requireEnv('CBR_GCS_ENDPOINT'), projectId: 'cbr-test-project' });
  const bucket = storage.bucket(requireEnv('CBR_GCS_BUCKET'));
  const list = async (prefix: string): Promise<Map<string, number>> => {
    const [files] = await bucket.getFiles({ prefix });
    return new Map(files.map((f) => [f.name, Number(f.metadata.size ?? 0)]));
  };
  return {
    name: 'gcs',
    async get(key) {
      const [bytes] = await bucket.file(key).download({ validation: false });
      return bytes;
    },
    list,
    async deletePrefix(prefix) {
      await this.deleteKeys([...(await list(prefix)).keys()]);
    },
    async put(key, body) {
      await bucket.file(key).save(typeof body === 'string' ? Buffer.from(body) : body, { resumable: false });
    },
    async deleteKeys(keys) {
      for (const key of keys) await bucket.file(key).delete({ ignoreNotFound: true });
    },
  };
}

/** The multipart uploads the S3 server still holds under a prefix (started, neither completed nor aborted). */
export async function s3MultipartUploads(prefix: string): Promise<{ key: string; uploadId: string }[]> {
  const client = s3TestClient();
  try {
    const out = await client.send(new ListMultipartUploadsCommand({ Bucket: requireEnv('CBR_S3_BUCKET'), Prefix: prefix }));
    return (out.Uploads ?? []).map((u) => ({ key: u.Key ?? '?', uploadId: u.UploadId ?? '?' }));
  } finally {
    client.destroy();
  }
}

/** Aborts the multipart uploads left under a prefix: clean-up after a test that leaves some on purpose. */
export async function abortS3MultipartUploads(prefix: string): Promise<void> {
  const client = s3TestClient();
  try {
    for (const u of await s3MultipartUploads(prefix)) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: requireEnv('CBR_S3_BUCKET'), Key: u.key, UploadId: u.uploadId }));
    }
  } finally {
    client.destroy();
  }
}

function s3TestClient(): S3Client {
  return new S3Client({
    endpoint: requireEnv('CBR_S3_ENDPOINT'), region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: requireEnv('CBR_S3_ACCESS_KEY'), secretAccessKey: requireEnv('CBR_S3_SECRET_KEY') },
  });
}
