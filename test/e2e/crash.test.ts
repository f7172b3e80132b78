// kill -9 in the middle of an upload, then a rerun: the backup completes without sending again what was already
// confirmed stored, and its manifest lists the same files with the same checksums as a clean run's.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli, startCli, tempDir, jsonEvents } from '../support/run-cli.ts';
import { s3Reader } from '../support/stores.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { manifestKeyOf, type StoredManifest } from '../support/manifest.ts';

const tag = 'crash-tag';
const dataDir = tempDir('data-crash');
const tableDir = join(dataDir, 'ks_crash', 'tbl-0123456789abcdef0123456789abcdef', 'snapshots', tag);
const FILES = 40;
const SIZE = 2 * 1024 * 1024;

before(() => {
  mkdirSync(tableDir, { recursive: true });
  for (let i = 1; i <= FILES; i++) writeFileSync(join(tableDir, `nb-${i}-big-Data.db`), randomBytes(SIZE));
});

after(() => rmSync(dataDir, { recursive: true, force: true }));

function journalLines(stateDir: string, nodeId: string): number {
  const path = join(stateDir, 'journal', nodeId, `snapshot-${tag}.jsonl`);
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').length : 0;
}

describe('crash safety', () => {
  it('a rerun after kill -9 completes, resends nothing confirmed, and matches a clean run', async () => {
    const nodeId = 'node-crash';
    const prefix = uniquePrefix('crash');
    const stateDir = tempDir('state-crash');
    const env = s3CliEnv({ CASS_BACKUP_STATE_DIR: stateDir });
    const args = ['snapshot', '--resume', tag, '--keep-snapshot', '--data-dir', dataDir, '--dest', s3Dest(prefix),
      '--node-id', nodeId, '--concurrency', '2', '--json'];
    // --max-rate keeps the run long enough to be killed half-way (80 MiB at 8 MiB/s ≈ 10 s).
    const victim = startCli([...args, '--max-rate', '8MiB'], env);
    let confirmed = 0;
    for (let i = 0; i < 300 && confirmed < FILES / 4; i++) {
      await new Promise((r) => setTimeout(r, 100));
      confirmed = journalLines(stateDir, nodeId);
    }
    victim.child.kill('SIGKILL');
    const killed = await victim.done;
    assert.equal(killed.exitCode, -1, 'killed by the signal');
    const atKill = journalLines(stateDir, nodeId);
    assert.ok(atKill >= FILES / 4 && atKill < FILES, `killed half-way (${atKill} of ${FILES} confirmed)`);
    const store = s3Reader();
    assert.equal((await store.list(`${prefix}/${manifestKeyOf(nodeId, tag)}`)).size, 0, 'no manifest after the crash');

    const rerun = await runCli(args, env);
    assert.equal(rerun.exitCode, 0, rerun.stderr);
    const summary = jsonEvents(rerun.stdout).find((e) => e.type === 'summary')!;
    assert.ok(Number(summary.uploadedFiles) <= FILES - atKill, `sent ${String(summary.uploadedFiles)}, at most the ${FILES - atKill} unconfirmed`);
    assert.ok(Number(summary.reusedFiles) >= atKill);

    const clean = uniquePrefix('crash-clean');
    const cleanRun = await runCli(['snapshot', '--resume', tag, '--keep-snapshot', '--data-dir', dataDir, '--dest', s3Dest(clean),
      '--node-id', nodeId, '--json'], s3CliEnv());
    assert.equal(cleanRun.exitCode, 0, cleanRun.stderr);
    const read = async (p: string): Promise<StoredManifest> =>
      JSON.parse((await store.get(`${p}/${manifestKeyOf(nodeId, tag)}`)).toString()) as StoredManifest;
    const [a, b] = [await read(prefix), await read(clean)];
    const shape = (m: StoredManifest) => m.files.map((f) => `${f.path} ${f.key} ${f.size} ${f.crc32c}`).sort();
    assert.deepEqual(shape(a), shape(b));
    assert.equal(a.files.length, FILES);
    for (const f of a.files) assert.equal((await store.get(`${prefix}/${f.key}`)).length, SIZE);
  });
});
