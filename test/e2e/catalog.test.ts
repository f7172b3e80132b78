// list and verify against the real node and versitygw: one tag snapshotted under two node ids reads as one
// cluster backup; verify names a deleted object, a truncated one, and (with --deep) one corrupted byte;
// a crafted manifest makes restore refuse (exit 2) without writing anything.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client, PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { jsonEvents, requireEnv, runCli, tempDir, type CliResult } from '../support/run-cli.ts';
import { s3Reader } from '../support/stores.ts';
import { manifestKeyOf, type StoredManifest } from '../support/manifest.ts';
import { sampleKeyspaceForFile } from '../support/cql.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';

const keyspace = sampleKeyspaceForFile('cbr_catalog', 200);
const prefix = uniquePrefix('catalog');
const tag = `catalog-${Date.now()}`;
const env = s3CliEnv();
const dest = ['--dest', s3Dest(prefix)];

function s3(): { put(key: string, body: Buffer): Promise<void>; del(key: string): Promise<void> } {
  const bucket = requireEnv('CBR_S3_BUCKET');
  const client = new S3Client({
    endpoint: requireEnv('CBR_S3_ENDPOINT'), region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: requireEnv('CBR_S3_ACCESS_KEY'), secretAccessKey: requireEnv('CBR_S3_SECRET_KEY') },
  });
  return {
    async put(key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}`, Body: body }));
    },
    async del(key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}` }));
    },
  };
}

function cli(nodeId: string, ...args: string[]): Promise<CliResult> {
  return runCli([...args, ...dest, '--node-id', nodeId], env);
}



/** verify's result document among the --json lines: --deep's transfer events come before it, an error event after it. */
function verifyDocument(stdout: string): { problems: string[]; deep: boolean } {
  const doc = jsonEvents(stdout).find((e) => e.type === undefined && e.command === 'verify');
  assert.ok(doc, stdout);
  return doc as unknown as { problems: string[]; deep: boolean };
}

describe('list and verify on S3', () => {
  const store = s3Reader();

  it('list --all-nodes --json: the same tag on two node ids is one backup on every node', async () => {
    const first = await cli('cat-a', 'snapshot', '-t', tag, '--keep-snapshot', keyspace);
    assert.equal(first.exitCode, 0, first.stderr);
    // The kept snapshot, uploaded again as another node (nodetool snapshot refuses an existing tag).
    const second = await cli('cat-b', 'snapshot', '--resume', tag);
    assert.equal(second.exitCode, 0, second.stderr);

    const all = await cli('cat-a', 'list', '--all-nodes', '--json');
    assert.equal(all.exitCode, 0, all.stderr);
    const doc = JSON.parse(all.stdout) as { nodes: string[]; backups: { tag: string; kind: string; nodes: string[]; everyNode: boolean; complete: boolean; files: number }[] };
    assert.deepEqual(doc.nodes, ['cat-a', 'cat-b']);
    assert.equal(doc.backups.length, 1, all.stdout);
    assert.deepEqual(doc.backups[0], { ...doc.backups[0], tag, kind: 'snapshot', nodes: ['cat-a', 'cat-b'], everyNode: true, complete: true });

    const human = await cli('cat-b', 'list');
    assert.equal(human.exitCode, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`^${tag}\\s+snapshot\\s+\\S+\\s+1/1\\s+\\d+\\s+.+\\s+yes$`, 'm'));
  });

  it('verify: OK, then a deleted object, a truncated one, and one corrupted byte (--deep) each exit 4 naming it', async () => {
    const ok = await cli('cat-a', 'verify', tag);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^verify ${tag}: OK, \\d+ objects`));

    const manifest = JSON.parse((await store.get(`${prefix}/${manifestKeyOf('cat-a', tag)}`)).toString()) as StoredManifest;
    const [deleted, truncated, corrupted] = manifest.files.filter((f) => f.size >= 32).sort((a, b) => a.key.localeCompare(b.key));
    assert.ok(deleted && truncated && corrupted, 'three objects to spoil');
    const bucket = s3();

    await bucket.del(deleted.key);
    const missing = await cli('cat-a', 'verify', tag);
    assert.equal(missing.exitCode, 4, missing.stderr);
    assert.ok(missing.stderr.includes(`${deleted.key}: missing`), missing.stderr);

    const original = await store.get(`${prefix}/${truncated.key}`);
    await bucket.put(truncated.key, original.subarray(0, original.length - 7));
    const short = await cli('cat-a', 'verify', tag);
    assert.equal(short.exitCode, 4);
    assert.ok(short.stdout.includes(`MISMATCH ${truncated.key}: size: recorded ${truncated.size} bytes, stored ${truncated.size - 7}`), short.stdout);

    const bytes = await store.get(`${prefix}/${corrupted.key}`);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0x01;
    await bucket.put(corrupted.key, bytes);
    const plain = await cli('cat-a', 'verify', tag, '--json');
    assert.equal(plain.exitCode, 4);
    const plainDoc = verifyDocument(plain.stdout);
    const aboutCorrupted = plainDoc.problems.filter((p) => p.startsWith(corrupted.key));
    // S3 has no CRC32C in HEAD here: the replaced object shows, if at all, by its ETag.
    for (const p of aboutCorrupted) assert.match(p, /: etag: recorded/);

    const deep = await cli('cat-a', 'verify', tag, '--deep', '--json');
    assert.equal(deep.exitCode, 4, deep.stderr);
    const deepDoc = verifyDocument(deep.stdout);
    assert.equal(deepDoc.deep, true);
    assert.equal(deepDoc.problems.length, 3, deep.stdout);
    assert.ok(deepDoc.problems.some((p) => p.startsWith(`${corrupted.key}: checksum: recorded crc32c ${corrupted.crc32c}, downloaded `)), deep.stdout);

    const other = await cli('cat-b', 'verify', 'latest', '--deep');
    assert.equal(other.exitCode, 0, `the other node's copy is intact: ${other.stderr}`);
  });

  it('restore refuses a crafted manifest with ../ (exit 2) and writes nothing', async () => {
    const evil = {
      ...(JSON.parse((await store.get(`${prefix}/${manifestKeyOf('cat-b', tag)}`)).toString()) as StoredManifest),
      nodeId: 'cat-evil',
    };
    const first = evil.files[0];
    assert.ok(first);
    evil.files = [{ ...first, path: `${keyspace}/users-0123/snapshots/${tag}/../../../../../../tmp/cbr-evil` }, ...evil.files.slice(1)];
    await s3().put(manifestKeyOf('cat-evil', tag), Buffer.from(JSON.stringify(evil)));
    const parent = tempDir('evil');
    const run = await cli('cat-evil', 'restore', tag, '--to', join(parent, 'dir'));
    assert.equal(run.exitCode, 2, run.stderr);
    assert.match(run.stderr, /unsafe path in backup catalog/);
    assert.deepEqual(readdirSync(parent), []);
  });
});
