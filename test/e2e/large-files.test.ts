// Large files go multipart (S3) or resumable (GCS) and come back byte-identical: one just above a lowered
// threshold and one of 100 MiB. The files sit in a snapshot directory of a scratch data directory and are
// uploaded with `snapshot --resume`, the path a kept snapshot takes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { baseEnv, runCli, requireEnv, tempDir } from '../support/run-cli.ts';
import { s3Reader, gcsReader } from '../support/stores.ts';
import { manifestKeyOf, type StoredManifest } from '../support/manifest.ts';
import { uniquePrefix } from '../support/s3-env.ts';
import { writeRandom } from '../support/random-file.ts';

const MiB = 1024 * 1024;
const tag = 'large-files';
const dataDir = tempDir('data-large');
const tableDir = join(dataDir, 'ks_large', 'blobs-0123456789abcdef0123456789abcdef', 'snapshots', tag);
const files: { name: string; size: number; sha256?: string }[] = [
  { name: 'nb-1-big-Data.db', size: 100 * MiB },
  { name: 'nb-2-big-Data.db', size: 9 * MiB + 12_345 },
  { name: 'nb-2-big-TOC.txt', size: 0 },
];

before(async () => {
  mkdirSync(tableDir, { recursive: true });
  for (const f of files) f.sha256 = await writeRandom(join(tableDir, f.name), f.size);
});

after(() => rmSync(dataDir, { recursive: true, force: true }));

const stores = [
  { name: 's3' as const, reader: s3Reader, dest: (p: string) => `s3://${requireEnv('CBR_S3_BUCKET')}/${p}`,
    env: () => ({ AWS_ACCESS_KEY_ID: requireEnv('CBR_S3_ACCESS_KEY'), AWS_SECRET_ACCESS_KEY: requireEnv('CBR_S3_SECRET_KEY'),
      CASS_BACKUP_S3_ENDPOINT: requireEnv('CBR_S3_ENDPOINT') }) },
  { name: 'gcs' as const, reader: gcsReader, dest: (p: string) => `gs://${requireEnv('CBR_GCS_BUCKET')}/${p}`,
    env: () => ({ CASS_BACKUP_GCS_ENDPOINT: requireEnv('CBR_GCS_ENDPOINT') }) },
];

for (const store of stores) {
  describe(`large files to ${store.name}`, () => {
    it('upload multipart/resumable above the threshold and come back byte-identical', async () => {
      const prefix = uniquePrefix(`large-${store.name}`);
      const env = baseEnv({
        ...store.env(), CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'),
        CASS_BACKUP_STATE_DIR: tempDir('state'),
      });
      const run = await runCli(['snapshot', '--resume', tag, '--keep-snapshot', '--data-dir', dataDir, '--dest', store.dest(prefix),
        '--node-id', 'node-large', '--multipart-threshold', '8MiB'], env);
      assert.equal(run.exitCode, 0, run.stderr);
      const reader = store.reader();
      const manifest = JSON.parse((await reader.get(`${prefix}/${manifestKeyOf('node-large', tag)}`)).toString()) as StoredManifest & {
        files: { path: string; etag?: string }[];
      };
      assert.equal(manifest.files.length, files.length);
      for (const f of files) {
        const key = `${prefix}/node-large/ks_large/blobs-0123456789abcdef0123456789abcdef/snapshots/${tag}/${f.name}`;
        const bytes = await reader.get(key);
        assert.equal(bytes.length, f.size, key);
        assert.equal(createHash('sha256').update(bytes).digest('hex'), f.sha256, `bytes of ${f.name}`);
        const entry = manifest.files.find((e) => e.path.endsWith(f.name));
        if (store.name === 's3' && f.size > 8 * MiB) assert.match(String(entry?.etag), /-\d+$/, `${f.name} went multipart`);
      }
    });
  });
}
