// `repair` runs a real nodetool repair and uploads backups/; `incremental` then sends only what is new;
// `--delete-uploaded` removes exactly the local files whose upload is confirmed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { runCli, jsonEvents } from '../support/run-cli.ts';
import { s3Reader } from '../support/stores.ts';
import { backupFiles, dataDirsFromEnv } from '../support/fs-walk.ts';
import { manifestKeyOf, type StoredManifest } from '../support/manifest.ts';
import { nodetool } from '../support/nodetool.ts';
import { insertSampleRows, sampleKeyspaceForFile } from '../support/cql.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';

const keyspace = sampleKeyspaceForFile('cbr_incr', 0, () => writeAndFlush(0, 200));
const prefix = uniquePrefix('incr');
const nodeId = 'node-incr';
const dataDirs = dataDirsFromEnv();
const env = s3CliEnv();
const args = ['--dest', s3Dest(prefix), '--node-id', nodeId, '--json'];

async function writeAndFlush(from: number, count: number): Promise<void> {
  await insertSampleRows(keyspace, from, count);
  nodetool('flush', keyspace);
}

function summaryOf(stdout: string): Record<string, unknown> {
  const summary = jsonEvents(stdout).find((e) => e.type === 'summary');
  assert.ok(summary, `a summary event in: ${stdout}`);
  return summary;
}

describe('repair and incremental', () => {
  const store = s3Reader();
  const manifestOf = async (tag: string): Promise<StoredManifest> =>
    JSON.parse((await store.get(`${prefix}/${manifestKeyOf(nodeId, tag)}`)).toString('utf8')) as StoredManifest;
  let firstRun = new Set<string>();

  it('repair runs nodetool repair and uploads every file in backups/, byte for byte', async () => {
    const run = await runCli(['repair', keyspace, ...args], env);
    assert.equal(run.exitCode, 0, run.stderr);
    const local = backupFiles(dataDirs);
    assert.ok([...local.keys()].some((r) => r.startsWith(`${keyspace}/`)), 'the flush made backups of the test keyspace');
    const summary = summaryOf(run.stdout);
    const manifest = await manifestOf(String(summary.tag));
    assert.equal(manifest.kind, 'incremental');
    const paths = new Set(manifest.files.map((f) => f.path));
    for (const [rel, abs] of local) {
      if (!paths.has(rel)) continue; // created after the run enumerated
      assert.ok((await store.get(`${prefix}/${nodeId}/${rel}`)).equals(readFileSync(abs)), rel);
    }
    for (const rel of local.keys()) if (rel.startsWith(`${keyspace}/`)) assert.ok(paths.has(rel), `${rel} is in the manifest`);
    assert.equal(manifest.nodetool?.command.join(' '), `nodetool repair ${keyspace}`);
    firstRun = paths;
  });

  it('a second incremental uploads only the files that are new', async () => {
    await writeAndFlush(200, 100);
    const before = backupFiles(dataDirs);
    const expectedNew = [...before.keys()].filter((r) => !firstRun.has(r));
    assert.ok(expectedNew.some((r) => r.startsWith(`${keyspace}/`)), 'the second flush made new backups');
    const run = await runCli(['incremental', ...args], env);
    assert.equal(run.exitCode, 0, run.stderr);
    const summary = summaryOf(run.stdout);
    const uploadedEvents = jsonEvents(run.stdout).filter((e) => e.type === 'file' && e.action === 'uploaded').map((e) => String(e.path));
    for (const rel of expectedNew) assert.ok(uploadedEvents.includes(rel), `${rel} was uploaded`);
    for (const rel of uploadedEvents) assert.ok(!firstRun.has(rel), `${rel} was not sent again`);
    assert.equal(summary.uploadedFiles, uploadedEvents.length);
    assert.ok(Number(summary.reusedFiles) >= firstRun.size, 'files of the first run were reused, not sent');
  });

  it('--delete-uploaded removes exactly the files whose upload is confirmed', async () => {
    await writeAndFlush(300, 50);
    const run = await runCli(['incremental', '--delete-uploaded', ...args], env);
    assert.equal(run.exitCode, 0, run.stderr);
    const summary = summaryOf(run.stdout);
    const manifest = await manifestOf(String(summary.tag));
    const stored = await store.list(`${prefix}/${nodeId}/`);
    for (const f of manifest.files) {
      assert.ok(!existsSync(`${manifest.dataDirs[f.dataDir]}/${f.path}`), `${f.path} was removed locally`);
      assert.equal(stored.get(`${prefix}/${f.key}`), f.size, `${f.key} is stored`);
    }
    const remaining = backupFiles(dataDirs);
    const listed = new Set(manifest.files.map((f) => f.path));
    for (const rel of remaining.keys()) assert.ok(!listed.has(rel), `${rel} remained although listed`);
  });
});
