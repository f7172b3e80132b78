// The SDK baseline most Node users would write: a loop over the files, `concurrency` at a time, each sent with
// the library's default upload call and default options.
//   S3:  new Upload({ client, params: { Bucket, Key, Body: fs.createReadStream(file) } }).done()   (@aws-sdk/lib-storage)
//   GCS: bucket.upload(file, { destination })                                                       (@google-cloud/storage)
//
//   node bench/sdk-baseline.ts s3|gcs <endpoint> <bucket> <prefix> <root> <list-file> [concurrency=8]
// <list-file>: one path per line, relative to <root> (the object key is <prefix>/<relpath>).
// S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the SDK's default chain).
import fs from 'node:fs';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Storage } from '@google-cloud/storage';

const [kind, endpoint, bucket, prefix, root, listFile, conc] = process.argv.slice(2);
if (!kind || !endpoint || !bucket || !prefix || !root || !listFile) {
  throw new Error('usage: node bench/sdk-baseline.ts s3|gcs <endpoint> <bucket> <prefix> <root> <list-file> [concurrency]');
}
const files = fs.readFileSync(listFile, 'utf8').split('\n').filter((l) => l !== '');
const concurrency = Number(conc ?? 8);

let send: (rel: string) => Promise<void>;
if (kind === 's3') {
  const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' });
  send = async (rel) => {
    await new Upload({ client, params: { Bucket: bucket, Key: `${prefix}/${rel}`, Body: fs.createReadStream(path.join(root, rel)) } }).done();
  };
} else {
  const storage = new Storage({ apiEndpoint: endpoint, projectId: 'bench' });
  const b = storage.bucket(bucket);
  send = async (rel) => {
    await b.upload(path.join(root, rel), { destination: `${prefix}/${rel}` });
  };
}

let next = 0;
await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, async () => {
  while (next < files.length) await send(files[next++]!);
}));
