// list, verify and purge of a synthetic catalog larger than one batch, with the real CLI against versitygw (through
// a recording proxy that counts the requests) and file://. verify compares the manifest with directory listings:
// no HEAD per object, yet a deleted and a truncated object are still named, and only those two are looked up on
// their own. purge of 2,500 objects (three delete batches) deletes every one of them in DeleteObjects of at most
// 1,000 keys, and nothing the kept backup names (100 objects are shared between an expired and the kept backup).
// A second list reads cached summaries: no GET at all.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { baseEnv, requireEnv, runCli, tempDir, type CliResult } from '../support/run-cli.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { s3Reader } from '../support/stores.ts';
import { startRecordingProxy, type RecordedRequest, type RecordingProxy } from '../support/recording-proxy.ts';
import { openStore, tagOf, writeSyntheticCatalog, type SyntheticCatalog } from '../support/synthetic-catalog.ts';
import type { Backend } from '../../src/storage/backend.ts';

// Windows [0,1200) [700,1900) [1400,2600) and the newest [2500,4000): purge --keep-last 1 deletes exactly [0,2500).
const shape = { backups: 4, perBackup: 1200, shift: 700, newest: 1500, objects: 4000, tables: 10 } as const;
const expiredCount = shape.objects - shape.newest;
const newestTag = tagOf(shape.backups - 1);

interface Target {
  readonly name: 's3' | 'file';
  readonly dest: string;
  readonly env: () => NodeJS.ProcessEnv;
  /** Replaces an object's bytes directly in the store (as bit rot, an operator or another tool would). */
  readonly overwrite: (key: string, body: Buffer) => Promise<void>;
  readonly proxy?: () => RecordingProxy;
}

const fileRoot = tempDir('catalog-scale-dest');
let proxy: RecordingProxy | undefined;
const s3Prefix = uniquePrefix('catalog-scale');
const targets: Target[] = [
  {
    name: 's3', dest: s3Dest(s3Prefix), env: () => s3CliEnv({ CASS_BACKUP_S3_ENDPOINT: proxy!.endpoint }), proxy: () => proxy!,
    overwrite: (key, body) => s3Reader().put(`${s3Prefix}/${key}`, body),
  },
  {
    name: 'file', dest: `file://${fileRoot}`, env: () => baseEnv({ CASS_BACKUP_CLOUD: 'none' }),
    overwrite: async (key, body) => writeFileSync(path.join(fileRoot, key), body),
  },
];

function counts(requests: readonly RecordedRequest[]): { head: number; get: number; list: number; deletes: RecordedRequest[] } {
  const out = { head: 0, get: 0, list: 0, deletes: [] as RecordedRequest[] };
  for (const r of requests) {
    const q = new URL(r.url, 'http://x').searchParams;
    if (r.method === 'HEAD') out.head++;
    else if (r.method === 'GET' && q.get('list-type') === '2') out.list++;
    else if (r.method === 'GET') out.get++;
    else if (r.method === 'POST' && q.has('delete')) out.deletes.push(r);
  }
  return out;
}

interface VerifyDoc { ok: boolean; objects: number; problems: string[]; lookups: { listings: number; stats: number } }

function verifyDoc(run: CliResult): VerifyDoc {
  const line = run.stdout.trim().split('\n').find((l) => l.includes('"command":"verify"'));
  assert.ok(line, run.stdout + run.stderr);
  return JSON.parse(line) as VerifyDoc;
}

for (const target of targets) {
  describe(`catalog larger than one batch on ${target.name}`, () => {
    const nodeId = `scale-${target.name}-${Date.now().toString(36)}`;
    let cliEnv: NodeJS.ProcessEnv = {};
    let store: Backend;
    let catalog: SyntheticCatalog;
    const cli = (...args: string[]) => runCli([...args, '--dest', target.dest, '--node-id', nodeId], cliEnv);
    const since = (from: number) => counts(target.proxy?.().requests.slice(from) ?? []);
    const mark = () => target.proxy?.().requests.length ?? 0;

    before(async () => {
      if (target.name === 's3') proxy = await startRecordingProxy(requireEnv('CBR_S3_ENDPOINT'), { flavour: 's3', recordBodies: 1 << 20 });
      cliEnv = target.env();
      store = await openStore(target.dest);
      catalog = await writeSyntheticCatalog(store, { nodeId, ...shape }, target.name === 'file' ? fileRoot : undefined);
    });

    after(async () => {
      const keys: string[] = [];
      for await (const o of store.list(`${nodeId}/`)) keys.push(o.key);
      await store.delete(keys);
      await store.close();
      if (target.name === 's3') await proxy?.close();
      else rmSync(fileRoot, { recursive: true, force: true });
    });

    it('list shows every backup complete from the summary records, without reading a manifest, and again from its cache', async () => {
      const at = mark();
      const first = await cli('list', '--json');
      assert.equal(first.exitCode, 0, first.stderr);
      const doc = JSON.parse(first.stdout) as { backups: { tag: string; complete: boolean; files: number }[] };
      assert.deepEqual(doc.backups.map((b) => [b.tag, b.complete, b.files]),
        catalog.tags.map((tag, i) => [tag, true, i === shape.backups - 1 ? shape.newest : shape.perBackup]));
      if (target.proxy) {
        const gets = target.proxy().requests.slice(at).filter((r) => r.method === 'GET' && !r.url.includes('list-type=2')).map((r) => r.url);
        assert.equal(gets.filter((u) => u.includes('/manifests/')).length, 0, `no manifest downloaded: ${gets.join(' ')}`);
        assert.equal(gets.filter((u) => u.includes('/summaries/')).length, shape.backups, gets.join(' '));
      }
      const again = mark();
      const second = await cli('list', '--json');
      assert.equal(second.exitCode, 0, second.stderr);
      assert.deepEqual(JSON.parse(second.stdout).backups, doc.backups);
      if (target.proxy) assert.equal(since(again).get, 0, 'nothing downloaded again');
    });

    it('a manifest replaced after its summary record was written is read whole again, and shown damaged', async () => {
      const victim = tagOf(1);
      const key = `${nodeId}/.cass-backup-run/manifests/${victim}.json`;
      const original = Buffer.concat((await (await store.get(key)).toArray()) as Buffer[]);
      await target.overwrite(key, Buffer.from(original.toString().replace('"format": 1', '"format": 99')));
      try {
        const run = await cli('list', '--json');
        assert.equal(run.exitCode, 0, run.stderr);
        const doc = JSON.parse(run.stdout) as { backups: { tag: string; complete: boolean; damaged?: string }[]; problems: { tag: string }[] };
        const row = doc.backups.find((b) => b.tag === victim);
        assert.equal(row?.complete, false, run.stdout.slice(0, 2000));
        assert.match(row?.damaged ?? '', /unknown format/);
        assert.deepEqual(doc.problems.map((p) => p.tag), [victim]);
      } finally {
        await target.overwrite(key, original);
      }
    });

    it(`verify of the ${shape.newest}-file backup uses listings, not a lookup per object`, async () => {
      const at = mark();
      const run = await cli('verify', newestTag, '--json');
      assert.equal(run.exitCode, 0, run.stderr);
      const doc = verifyDoc(run);
      assert.equal(doc.objects, shape.newest);
      assert.equal(doc.lookups.stats, 0, run.stdout);
      assert.ok(doc.lookups.listings > 0 && doc.lookups.listings <= shape.tables, run.stdout);
      if (target.proxy) {
        const c = since(at);
        assert.equal(c.head, 0, 'no HEAD per object');
        assert.ok(c.list > 0 && c.list < shape.newest / 100, `a few listing pages, got ${c.list}`);
      }
    });

    it(`purge --keep-last 1 --yes deletes all ${expiredCount} objects only expired backups name, in batches of at most 1,000, and nothing the kept backup names`, async () => {
      const at = mark();
      const run = await cli('purge', '--keep-last', '1', '--yes');
      assert.equal(run.exitCode, 0, run.stderr);
      const left = new Set<string>();
      for await (const o of store.list(`${nodeId}/`)) left.add(o.key);
      const kept = Array.from({ length: shape.newest }, (_, k) => catalog.keyOf(shape.objects - shape.newest + k));
      assert.deepEqual(kept.filter((k) => !left.has(k)), [], 'every object of the kept backup is still there');
      const expired = Array.from({ length: expiredCount }, (_, j) => catalog.keyOf(j));
      assert.deepEqual(expired.filter((k) => left.has(k)), [], 'every object only expired backups named is gone');
      assert.deepEqual([...left].filter((k) => k.includes('/manifests/')).map((k) => path.basename(k)), [`${newestTag}.json`]);
      assert.deepEqual([...left].filter((k) => k.includes('/summaries/')).map((k) => path.basename(k)), [`${newestTag}.json`],
        'the expired manifests\' summary records went with them');
      if (target.proxy) {
        const keysPerCall = since(at).deletes.map((r) => (r.body?.toString().match(/<Key>/g) ?? []).length);
        assert.ok(keysPerCall.every((n) => n > 0 && n <= 1000), `keys per DeleteObjects: ${keysPerCall.join(', ')}`);
        assert.ok(keysPerCall.reduce((a, b) => a + b, 0) >= expiredCount + shape.backups - 1, `keys per DeleteObjects: ${keysPerCall.join(', ')}`);
      }
      const again = await cli('verify', newestTag, '--json');
      assert.equal(again.exitCode, 0, `the kept backup is whole: ${again.stdout}`);
    });

    it('verify still names a deleted and a truncated object found from the listing, and looks up only those two', async () => {
      const [gone, short] = [catalog.keyOf(shape.objects - 1), catalog.keyOf(shape.objects - 2)];
      await store.delete([gone]);
      const original = Buffer.concat((await (await store.get(short)).toArray()) as Buffer[]);
      await target.overwrite(short, original.subarray(0, original.length - 3));
      const at = mark();
      const run = await cli('verify', newestTag, '--json');
      assert.equal(run.exitCode, 4, run.stderr);
      const doc = verifyDoc(run);
      assert.equal(doc.problems.length, 2, run.stdout);
      assert.ok(doc.problems.some((p) => p.startsWith(`${gone} (`) && p.endsWith('missing: the object does not exist')), run.stdout);
      assert.ok(doc.problems.some((p) => p.startsWith(`${short} (`) && p.includes(`size: recorded ${original.length} bytes, stored ${original.length - 3}`)), run.stdout);
      assert.equal(doc.lookups.stats, 2, run.stdout);
      if (target.proxy) assert.equal(since(at).head, 2, 'only the two objects the listing showed wrong are looked up');
    });
  });
}
