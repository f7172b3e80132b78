// A file above 64 MiB comes back as parallel ranged GETs written at their offsets, its CRC32C combined from the
// ranges'. Proved on the real servers: byte-identical after a restore from S3, GCS and file://; through the fault
// proxy, a range whose answer is cut off mid-body is fetched again and the file is still byte-identical; when
// every ranged answer is cut the restore fails (exit 4) and leaves neither the file nor a temp file.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { baseEnv, runCli, requireEnv, tempDir } from '../support/run-cli.ts';
import { uniquePrefix } from '../support/s3-env.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { gcsReader, s3Reader, type StoreReader } from '../support/stores.ts';
import { writeRandom } from '../support/random-file.ts';

const MiB = 1024 * 1024;
const tag = 'ranged';
const tableRel = join('ks_ranged', 'blobs-0123456789abcdef0123456789abcdef');
const dataDir = tempDir('data-ranged');
const snapDir = join(dataDir, tableRel, 'snapshots', tag);
// 3 ranges of 64 MiB (the last one short), and a small file beside it.
const files = [{ name: 'nb-1-big-Data.db', size: 150 * MiB + 4321, sha256: '' }, { name: 'nb-1-big-TOC.txt', size: 92, sha256: '' }];

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

before(async () => {
  mkdirSync(snapDir, { recursive: true });
  for (const f of files) f.sha256 = await writeRandom(join(snapDir, f.name), f.size);
});

after(() => rmSync(dataDir, { recursive: true, force: true }));

interface Store {
  readonly name: 's3' | 'gcs' | 'file';
  readonly dest: (prefix: string) => string;
  /** The server behind the fault proxy, and the option that points the CLI at an endpoint. */
  readonly server?: { readonly url: () => string; readonly flag: string };
  readonly env: () => Record<string, string>;
  readonly reader?: () => StoreReader;
}

const fileRoot = tempDir('store-ranged');
after(() => rmSync(fileRoot, { recursive: true, force: true }));

const stores: Store[] = [
  { name: 's3', dest: (p) => `s3://${requireEnv('CBR_S3_BUCKET')}/${p}`, server: { url: () => requireEnv('CBR_S3_ENDPOINT'), flag: '--s3-endpoint' },
    env: () => ({ AWS_ACCESS_KEY_ID: requireEnv('CBR_S3_ACCESS_KEY'), AWS_SECRET_ACCESS_KEY: requireEnv('CBR_S3_SECRET_KEY') }), reader: s3Reader },
  { name: 'gcs', dest: (p) => `gs://${requireEnv('CBR_GCS_BUCKET')}/${p}`, server: { url: () => requireEnv('CBR_GCS_ENDPOINT'), flag: '--gcs-endpoint' },
    env: () => ({}), reader: gcsReader },
  { name: 'file', dest: (p) => `file://${join(fileRoot, p)}`, env: () => ({}) },
];

for (const store of stores) {
  describe(`ranged restore from ${store.name}`, () => {
    const prefix = uniquePrefix(`ranged-${store.name}`);
    const env = (): NodeJS.ProcessEnv => baseEnv({
      ...store.env(), CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'), CASS_BACKUP_STATE_DIR: tempDir('state'),
      CASS_BACKUP_IO_TIMEOUT_MS: '10000', CASS_BACKUP_RETRY_DELAY_MS: '200',
    });
    const common = (endpoint: string | undefined): string[] =>
      ['--dest', store.dest(prefix), '--node-id', 'node-ranged', ...(endpoint && store.server ? [store.server.flag, endpoint] : [])];

    before(async () => {
      const run = await runCli(['snapshot', '--resume', tag, '--keep-snapshot', '--data-dir', dataDir, ...common(store.server?.url())], env(), 600_000);
      assert.equal(run.exitCode, 0, run.stderr);
    });
    after(async () => store.reader?.().deletePrefix(`${prefix}/`));

    const restoreTo = async (endpoint: string | undefined): Promise<{ exitCode: number | null; stderr: string; dir: string }> => {
      const dir = join(tempDir('restored-ranged'), 'out');
      const run = await runCli(['restore', tag, '--to', dir, ...common(endpoint)], env(), 600_000);
      return { exitCode: run.exitCode, stderr: run.stderr, dir };
    };

    const assertIdentical = async (dir: string): Promise<void> => {
      for (const f of files) assert.equal(await sha256Of(join(dir, tableRel, f.name)), f.sha256, `bytes of ${f.name}`);
    };

    it('comes back byte-identical', async () => {
      const r = await restoreTo(store.server?.url());
      assert.equal(r.exitCode, 0, r.stderr);
      await assertIdentical(r.dir);
    });

    if (store.server === undefined) return;
    const server = store.server;
    const flavour = store.name === 'gcs' ? 'gcs' as const : 's3' as const;

    it('a range whose answer breaks off is fetched again; the file is still byte-identical', async () => {
      const proxy = await startFaultProxy(server.url(), { flavour, cutRangedAnswers: [1, 3] });
      try {
        const r = await restoreTo(proxy.endpoint);
        assert.equal(r.exitCode, 0, r.stderr);
        // S3: exactly the two cut; the GCS client may abandon a sibling stream too, which is then fetched again as well.
        if (flavour === 's3') assert.equal(proxy.counts.answerCuts, 2, 'two ranged answers were cut');
        else assert.ok(proxy.counts.answerCuts >= 1, 'a ranged answer was cut');
        assert.ok(proxy.counts.rangedGets >= 3 + proxy.counts.answerCuts,
          `3 ranges + a repeat per cut, saw ${proxy.counts.rangedGets} ranged GETs for ${proxy.counts.answerCuts} cuts`);
        await assertIdentical(r.dir);
      } finally {
        await proxy.close();
      }
    });

    it('every ranged answer cut: exit 4, neither the file nor a temp file is left', async () => {
      const proxy = await startFaultProxy(server.url(), { flavour, cutRangedAnswers: Array.from({ length: 100 }, (_, i) => i + 1) });
      try {
        const r = await restoreTo(proxy.endpoint);
        assert.equal(r.exitCode, 4, r.stderr);
        assert.match(r.stderr, /nb-1-big-Data\.db/);
        const left = readdirSync(join(r.dir, tableRel));
        assert.deepEqual(left, ['nb-1-big-TOC.txt'], 'only the small file was restored');
      } finally {
        await proxy.close();
      }
    });
  });
}
