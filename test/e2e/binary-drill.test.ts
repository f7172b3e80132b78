// The self-contained executable (scripts/build-binary.sh → build/cass-backup-run) on a host without Node.js: run
// from outside the repository, with a PATH of only the programs it and nodetool call (no `node` anywhere), it takes a
// real snapshot to S3 (versitygw), verifies it by downloading, and restores it (and lists through GCS); `nodetool import` and CQL counts
// prove the rows came back, and the CRC32C the binary's embedded native addon recorded matches the restored bytes.
// Skipped only when the binary was not built; CI builds it and sets CBR_REQUIRE_BINARY=1, which makes it fail instead.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { baseEnv, jsonEvents, repoRoot, requireEnv, runProgram, tempDir, type CliResult } from '../support/run-cli.ts';
import { countRows, createSampleSchema, dropKeyspace, insertRows, uniqueKeyspace, withClient, SAMPLE_TABLES } from '../support/cql.ts';
import { nodetool } from '../support/nodetool.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { s3Reader } from '../support/stores.ts';
import { readStoredManifest } from '../support/manifest.ts';

const BINARY = join(repoRoot, 'build', 'cass-backup-run');
const required = process.env.CBR_REQUIRE_BINARY === '1';
const skip = !existsSync(BINARY) && !required ? `${BINARY} was not built (scripts/build-binary.sh)` : false;
const ROWS = 300;

/** The programs the binary (flock, ionice) and the test environment's nodetool script (bash, grep) run. */
const TOOLS = ['sh', 'bash', 'flock', 'ionice', 'grep'];

/** A PATH directory holding symlinks to exactly TOOLS, found on this machine's PATH (never a `node`). */
function toolsOnlyPath(): string {
  const dir = tempDir('no-node-path');
  for (const tool of TOOLS) {
    const found = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    symlinkSync(found, join(dir, tool));
  }
  return dir;
}

function ok(run: CliResult, what: string): void {
  assert.equal(run.exitCode, 0, `${what} failed (${run.exitCode}):\n${run.stderr}\n${run.stdout}`);
}

function crc32cBase64(file: string): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32c(readFileSync(file)) >>> 0);
  return b.toString('base64');
}

describe('single executable on a host without Node.js', { skip }, () => {
  it('snapshot to S3 → verify --deep → truncate → restore → nodetool import → all rows back', { timeout: 900_000 }, async (t) => {
    assert.ok(existsSync(BINARY), `${BINARY} is missing: CI must build it (scripts/build-binary.sh)`);
    // Outside the repository: no package.json, node_modules or dist/ beside it.
    const binDir = tempDir('binary');
    t.after(() => rmSync(binDir, { recursive: true, force: true })); // 110 MiB
    const bin = join(binDir, 'cass-backup-run');
    copyFileSync(BINARY, bin);
    execFileSync('chmod', ['+x', bin]);
    const path = toolsOnlyPath();
    assert.deepEqual(readdirSync(path).sort(), [...TOOLS].sort());
    const noNode = await runProgram('/bin/sh', ['-c', 'command -v node'], { PATH: path }, 10_000);
    assert.notEqual(noNode.exitCode, 0, `node is on the test PATH: ${noNode.stdout}`);

    const env = s3CliEnv({ PATH: path });
    const version = await runProgram(bin, ['--version'], baseEnv({ PATH: path }), 60_000);
    ok(version, '--version');
    assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version);
    assert.equal(version.stderr, '', 'no warning (e.g. the experimental SEA one)');
    const detect = await runProgram(bin, ['detect', '--json'], env, 60_000);
    ok(detect, 'detect');
    assert.deepEqual((JSON.parse(detect.stdout) as { dataDirs: string[] }).dataDirs, requireEnv('CBR_DATA_DIRS').split(':'));
    // The GCS adapter is bundled too (src/storage/open.ts imports it on demand): a listing through it.
    const gcsList = await runProgram(bin, ['list', '--dest', `gs://${requireEnv('CBR_GCS_BUCKET')}/${uniquePrefix('binary-gcs')}`, '--node-id', 'binary'],
      { ...env, CASS_BACKUP_GCS_ENDPOINT: requireEnv('CBR_GCS_ENDPOINT') }, 60_000);
    ok(gcsList, 'list on GCS');

    const keyspace = uniqueKeyspace('cbr_binary');
    const prefix = uniquePrefix('binary-drill');
    const nodeId = 'binary-drill';
    const common = ['--dest', s3Dest(prefix), '--node-id', nodeId];
    try {
      await withClient(async (client) => {
        await createSampleSchema(client, keyspace);
        for (const table of SAMPLE_TABLES) await insertRows(client, keyspace, table, 0, ROWS);
      });
      const snap = await runProgram(bin, ['snapshot', keyspace, ...common, '--low-priority', '--json'], env, 300_000);
      ok(snap, 'snapshot');
      const tag = String(jsonEvents(snap.stdout).find((e) => e.type === 'summary')?.tag);
      ok(await runProgram(bin, ['verify', tag, '--deep', ...common], env, 300_000), 'verify --deep');

      await withClient(async (client) => {
        for (const table of SAMPLE_TABLES) await client.execute(`TRUNCATE ${keyspace}.${table}`);
        for (const table of SAMPLE_TABLES) assert.equal(await countRows(client, keyspace, table), 0, `${table} truncated`);
      });
      const dir = join(tempDir('binary-restore'), 'restore');
      const restore = await runProgram(bin, ['restore', tag, '--to', dir, '--table', keyspace, ...common, '--json'], env, 300_000);
      ok(restore, 'restore');
      const result = JSON.parse(restore.stdout.trim().split('\n').at(-1) ?? '') as { ok: boolean; tables: { table: string; import: string }[] };
      assert.equal(result.ok, true);
      assert.deepEqual(result.tables.map((t) => t.table).sort(), ['events', 'users']);

      // The checksums the binary recorded are the CRC32C of the bytes (not merely self-consistent).
      const manifest = await readStoredManifest(s3Reader(), `${prefix}/${nodeId}`, tag);
      const sstables = manifest.files.filter((f) => f.path.endsWith('.db'));
      assert.ok(sstables.some((f) => f.path.endsWith('-Data.db')), 'the snapshot holds SSTables');
      for (const f of sstables) {
        const restored = join(dir, f.path.replace(`/snapshots/${tag}/`, '/'));
        assert.ok(existsSync(restored), `${relative(dir, restored)} restored`);
        assert.equal(f.crc32c, crc32cBase64(restored), `CRC32C of ${f.path}`);
      }

      for (const t of result.tables) {
        const [cmd, ...args] = t.import.split(' ');
        assert.equal(cmd, 'nodetool');
        nodetool(...args);
      }
      await withClient(async (client) => {
        for (const table of SAMPLE_TABLES) assert.equal(await countRows(client, keyspace, table), ROWS, `${table} rows after restore`);
      });
    } finally {
      await withClient((client) => dropKeyspace(client, keyspace));
      await s3Reader().deletePrefix(`${prefix}/`);
    }
  });
});
