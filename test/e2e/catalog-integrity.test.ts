// The catalog tells the truth (issue 10, sequences 3, 5, 6, 10, 12 and the identity checks), with the real CLI,
// real Cassandra and versitygw: a journal is not trusted without the store, a resume sends the whole snapshot or
// refuses, names the catalog cannot hold never reach it, a dry run changes nothing, killed uploads are cleaned up,
// and one node id never mixes two Cassandra hosts' backups.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseEnv, jsonEvents, runCli, startCli, tempDir, type CliResult } from '../support/run-cli.ts';
import { s3Reader, s3MultipartUploads } from '../support/stores.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { insertSampleRows, sampleKeyspaceForFile } from '../support/cql.ts';
import { assertRestoreBringsBack } from '../support/restore-check.ts';
import { nodetool } from '../support/nodetool.ts';
import { dataDirsFromEnv, snapshotFiles } from '../support/fs-walk.ts';
import { manifestKeyOf, type StoredManifest } from '../support/manifest.ts';
import { waitFor, waitForEvent } from '../support/watch.ts';

const keyspace = sampleKeyspaceForFile('cbr_integrity', 120);
const store = s3Reader();
const prefixes: string[] = [];
after(async () => { for (const p of prefixes) await store.deletePrefix(`${p}/`); });

function destination(name: string): { prefix: string; dest: string[] } {
  const prefix = uniquePrefix(`integrity-${name}`);
  prefixes.push(prefix);
  return { prefix, dest: ['--dest', s3Dest(prefix)] };
}

function ok(run: CliResult, what: string): void {
  assert.equal(run.exitCode, 0, `${what} failed (${run.exitCode}):\n${run.stderr}\n${run.stdout}`);
}

function tagOf(run: CliResult): string {
  return String(jsonEvents(run.stdout).find((e) => e.type === 'summary')?.tag);
}

async function manifestOf(prefix: string, nodeId: string, tag: string): Promise<StoredManifest> {
  return JSON.parse((await store.get(`${prefix}/${manifestKeyOf(nodeId, tag)}`)).toString()) as StoredManifest;
}

/** The users table's directories of the test keyspace (one per data directory that has it). */
function tableDirs(table: string): string[] {
  return dataDirsFromEnv().map((d) => join(d, keyspace)).filter(existsSync)
    .flatMap((ks) => readdirSync(ks).filter((t) => t.startsWith(`${table}-`)).map((t) => join(ks, t)));
}

describe('the catalog tells the truth', () => {
  it('a disambiguated key a killed run journaled, then deleted from the store, is sent again, not reused', async () => {
    const { prefix, dest } = destination('journal');
    const nodeId = 'integrity-journal';
    const args = [...dest, '--node-id', nodeId];
    const env = s3CliEnv();
    const [backupsDir] = tableDirs('users').map((t) => join(t, 'backups'));
    assert.ok(backupsDir);
    mkdirSync(backupsDir, { recursive: true });
    const notes = join(backupsDir, 'notes.txt');
    const big = join(backupsDir, 'zz-big.bin');
    try {
      writeFileSync(notes, 'version one');
      ok(await runCli(['incremental', ...args], env), 'first incremental');
      // Same name, other bytes: the second run must store them under notes.txt@<crc32c>.
      rmSync(notes);
      writeFileSync(notes, 'version two, longer');
      writeFileSync(big, randomBytes(24 * 1024 * 1024));
      const victim = startCli(['incremental', ...args, '--max-rate', '2MiB', '--concurrency', '1', '--json'], env);
      const sent = await waitForEvent(victim.child, (e) => e.type === 'file' && e.action === 'uploaded' && /notes\.txt@[0-9a-f]{8}$/.test(String(e.key)));
      const altKey = String(sent.key);
      // The journal line is written before the event: kill before the big file is done.
      victim.child.kill('SIGKILL');
      assert.equal((await victim.done).exitCode, -1);
      // A purge elsewhere removes the orphan (no manifest names it).
      await store.deleteKeys([`${prefix}/${altKey}`]);
      const rerun = await runCli(['incremental', ...args, '--json'], env);
      ok(rerun, 'the rerun');
      const manifest = await manifestOf(prefix, nodeId, tagOf(rerun));
      const entry = manifest.files.find((f) => f.key === altKey);
      assert.ok(entry, 'the manifest names the disambiguated object');
      assert.equal((await store.get(`${prefix}/${altKey}`)).toString(), 'version two, longer');
      ok(await runCli(['verify', tagOf(rerun), ...args], env), 'verify');
    } finally {
      rmSync(notes, { force: true });
      rmSync(big, { force: true });
    }
  });

  it('a resume of a snapshot spanning both data directories: the printed command names both, a partial one is refused', async () => {
    const dest = tempDir('dest');
    const nodeId = 'integrity-resume';
    const dirs = dataDirsFromEnv();
    assert.equal(dirs.length, 2, 'the test node has two data directories');
    await insertSampleRows(keyspace, 1000, 400);
    nodetool('flush', keyspace);
    mkdirSync(join(dest, nodeId), { recursive: true });
    writeFileSync(join(dest, nodeId, keyspace), 'in the way'); // every object of the keyspace fails to store
    const tag = `resume2-${Date.now()}`;
    const env = s3CliEnv({ CASS_BACKUP_RETRY_ATTEMPTS: '2' });
    const common = ['--dest', `file://${dest}`, '--node-id', nodeId, '--data-dir', dirs[0] ?? '', '--data-dir', dirs[1] ?? ''];
    const failed = await runCli(['snapshot', '-t', tag, keyspace, ...common], env);
    assert.equal(failed.exitCode, 4, failed.stderr);
    const kept = snapshotFiles(dirs, tag);
    for (const d of dirs) assert.ok([...kept.values()].some((abs) => abs.startsWith(`${d}/`)), `the snapshot has files in ${d}`);
    const printed = /resume with: (cass-backup-run snapshot --resume .*)$/m.exec(failed.stderr)?.[1] ?? '';
    for (const d of dirs) assert.ok(printed.includes(`--data-dir ${d}`), `the resume command names ${d}: ${printed}`);
    rmSync(join(dest, nodeId, keyspace));
    // The first data directory alone would upload a part and clear the whole snapshot: refused.
    const partial = await runCli(['snapshot', '--resume', tag, '--dest', `file://${dest}`, '--node-id', nodeId, '--data-dir', dirs[0] ?? ''], env);
    assert.equal(partial.exitCode, 2, partial.stderr);
    assert.match(partial.stderr, /was taken in the data directories .* but this run has/);
    assert.equal(snapshotFiles(dirs, tag).size, kept.size, 'the snapshot is untouched');
    const resumed = await runCli(printed.split(' ').slice(1), env);
    ok(resumed, 'the printed resume command');
    assert.equal(snapshotFiles(dirs, tag).size, 0, 'cleared after the complete upload');
    const manifest = JSON.parse(readFileSync(join(dest, manifestKeyOf(nodeId, tag)), 'utf8')) as StoredManifest;
    assert.equal(manifest.files.length, kept.size, 'every file of both directories');
    const fileArgs = ['--dest', `file://${dest}`, '--node-id', nodeId];
    ok(await runCli(['verify', tag, ...fileArgs], env), 'verify');
    await assertRestoreBringsBack({ args: fileArgs, env, tag, keyspace, until: false });
  });

  it('names in backups/: a backslash is backed up and restored; a line break is refused before anything is stored or deleted', async () => {
    const { prefix, dest } = destination('names');
    const nodeId = 'integrity-names';
    const args = [...dest, '--node-id', nodeId];
    const env = s3CliEnv();
    const snap = await runCli(['snapshot', keyspace, ...args, '--json'], env);
    ok(snap, 'snapshot');
    await insertSampleRows(keyspace, 2000, 100);
    nodetool('flush', keyspace);
    const [backupsDir] = tableDirs('users').map((t) => join(t, 'backups'));
    assert.ok(backupsDir);
    const odd = join(backupsDir, 'odd\\name.txt');
    const broken = join(backupsDir, 'line\nbreak.txt');
    writeFileSync(odd, 'a backslash is just a character');
    writeFileSync(broken, 'no catalog can hold this name');
    try {
      const refused = await runCli(['incremental', '--delete-uploaded', ...args], env);
      assert.equal(refused.exitCode, 2, refused.stderr);
      assert.match(refused.stderr, /line\\nbreak\.txt.*control character/);
      assert.ok(existsSync(broken) && existsSync(odd), 'nothing deleted');
      assert.ok(readdirSync(backupsDir).some((n) => n.endsWith('-Data.db')), 'the SSTables are still in backups/');
      assert.equal((await store.list(`${prefix}/${nodeId}/.cass-backup-run/manifests/`)).size, 1, 'only the snapshot\'s manifest');
      rmSync(broken);
      const incr = await runCli(['incremental', '--delete-uploaded', ...args, '--json'], env);
      ok(incr, 'incremental');
      assert.ok(!existsSync(odd), 'removed once confirmed');
      const manifest = await manifestOf(prefix, nodeId, tagOf(incr));
      assert.ok(manifest.files.some((f) => f.path.endsWith('backups/odd\\name.txt')));
      const list = JSON.parse((await runCli(['list', '--json', ...args], env)).stdout) as { backups: { tag: string; complete: boolean }[]; problems: unknown[] };
      assert.deepEqual(list.problems, []);
      assert.ok(list.backups.some((b) => b.tag === tagOf(incr) && b.complete), 'list shows it, complete');
      ok(await runCli(['verify', tagOf(incr), ...args], env), 'verify');
      await assertRestoreBringsBack({ args, env, tag: tagOf(snap), keyspace, until: true });
      ok(await runCli(['purge', '--keep-last', '1', '--yes', ...args], env), 'purge');
    } finally {
      rmSync(odd, { force: true });
      rmSync(broken, { force: true });
    }
  });

  it('purge --yes --dry-run says "would delete" and deletes nothing', async () => {
    const { prefix, dest } = destination('dry');
    const args = [...dest, '--node-id', 'integrity-dry'];
    const env = s3CliEnv();
    for (let i = 0; i < 2; i++) ok(await runCli(['snapshot', keyspace, ...args], env), 'snapshot');
    const before = await store.list(`${prefix}/`);
    const run = await runCli(['purge', '--keep-last', '1', '--yes', '--dry-run', ...args], env);
    ok(run, 'purge --dry-run');
    assert.match(run.stdout, /would delete 1 manifest\(s\)/);
    assert.doesNotMatch(run.stdout, /^deleted /m);
    assert.deepEqual(await store.list(`${prefix}/`), before);
  });

  it('a multipart upload left by a killed run is aborted by a later purge, once its lease is dead', async () => {
    const { prefix, dest } = destination('mpu');
    const nodeId = 'integrity-mpu';
    const args = [...dest, '--node-id', nodeId];
    const source = tempDir('bigsnap');
    const tableDir = join(source, 'ks', `t-${'0'.repeat(32)}`, 'snapshots', 'big');
    mkdirSync(tableDir, { recursive: true });
    writeFileSync(join(tableDir, 'nb-1-big-Data.db'), randomBytes(40 * 1024 * 1024));
    const short = { CASS_BACKUP_LEASE_TIMEOUT: '2' };
    const victim = startCli(['snapshot', '--resume', 'big', '--data-dir', source, ...args, '--multipart-threshold', '8MiB',
      '--max-rate', '4MiB', '--json'], s3CliEnv(short));
    await waitFor('a multipart upload', async () => (await s3MultipartUploads(`${prefix}/`)).length > 0);
    victim.child.kill('SIGKILL');
    await victim.done;
    assert.equal((await s3MultipartUploads(`${prefix}/`)).length, 1, 'kill -9 left the upload behind');
    await new Promise((r) => setTimeout(r, 3000)); // the killed run's lease has no heartbeat for longer than 2 s
    const purge = await runCli(['purge', '--keep-last', '1', '--yes', '--grace-hours', '0', ...args], s3CliEnv(short));
    ok(purge, 'purge');
    assert.match(purge.stdout, /aborted 1 incomplete upload/);
    assert.match(purge.stdout, /removed 1 dead run lease/);
    assert.deepEqual(await s3MultipartUploads(`${prefix}/`), []);
    assert.equal((await store.list(`${prefix}/${nodeId}/.cass-backup-run/runs/`)).size, 0);
    rmSync(source, { recursive: true, force: true });
  });

  it('one node id, one Cassandra host: another host id in the newest manifest or in a live lease is refused, and named', async () => {
    const { prefix, dest } = destination('hostid');
    const nodeId = 'integrity-hostid';
    const args = [...dest, '--node-id', nodeId];
    const first = await runCli(['snapshot', keyspace, ...args, '--json'], s3CliEnv());
    ok(first, 'first snapshot');
    const manifest = await manifestOf(prefix, nodeId, tagOf(first));
    const ours = String(manifest.cassandra.hostId);
    const other = '00000000-0000-4000-8000-000000000001';
    // As if another Cassandra node had written the newest backup under this node id.
    const forged = { ...manifest, tag: 'other-host', finishedAt: new Date(Date.now() + 1000).toISOString(), cassandra: { ...manifest.cassandra, hostId: other } };
    await store.put(`${prefix}/${manifestKeyOf(nodeId, 'other-host')}`, JSON.stringify(forged));
    const refused = await runCli(['snapshot', keyspace, ...args], s3CliEnv());
    assert.equal(refused.exitCode, 2, refused.stderr);
    assert.match(refused.stderr, new RegExp(`holds the backups of Cassandra host ${other}.*this node is Cassandra host ${ours}`));
    assert.equal((await store.list(`${prefix}/${nodeId}/.cass-backup-run/manifests/`)).size, 2, 'no manifest written');
    const thisHost = s3CliEnv();
    const allowed = await runCli(['snapshot', keyspace, ...args, '--allow-host-id-change', '--json'], thisHost);
    ok(allowed, 'with --allow-host-id-change');
    assert.equal(String((await manifestOf(prefix, nodeId, tagOf(allowed))).cassandra.hostId), ours);
    // A live run of another Cassandra host under this node id, announced in the bucket from another machine.
    const now = new Date().toISOString();
    const lease = { format: 1, runId: 'x1', nodeId, kind: 'backup', command: 'snapshot', hostname: 'elsewhere', pid: 1, stateDir: '/s',
      toolVersion: '0', cassandraHostId: other, startedAt: now, heartbeatAt: now, heartbeatSeconds: 60 };
    await store.put(`${prefix}/${nodeId}/.cass-backup-run/runs/x1.json`, JSON.stringify(lease));
    const incr = await runCli(['incremental', ...args], s3CliEnv({ CASS_BACKUP_STATE_DIR: String(baseEnv().CASS_BACKUP_STATE_DIR) }));
    assert.equal(incr.exitCode, 75, `no Cassandra host id known to this state dir: another live backup of the node id (${incr.stderr})`);
    // This state directory knows its Cassandra host id (remembered by the last backup): the live lease is another node's.
    const conflict = await runCli(['snapshot', keyspace, ...args], thisHost);
    assert.equal(conflict.exitCode, 2, conflict.stderr);
    assert.match(conflict.stderr, new RegExp(`in use by another Cassandra host: .*Cassandra host ${other}.*this node is Cassandra host ${ours}`));
  });

  it('a backup waits for a live purge of its node id, then runs', async () => {
    const { prefix, dest } = destination('wait');
    const nodeId = 'integrity-wait';
    const args = [...dest, '--node-id', nodeId];
    const now = new Date().toISOString();
    const lease = { format: 1, runId: 'p1', nodeId, kind: 'purge', command: 'purge', hostname: 'elsewhere', pid: 1, stateDir: '/s',
      toolVersion: '0', startedAt: now, heartbeatAt: now, heartbeatSeconds: 1 };
    await store.put(`${prefix}/${nodeId}/.cass-backup-run/runs/p1.json`, JSON.stringify(lease));
    const run = await runCli(['snapshot', keyspace, ...args], s3CliEnv({ CASS_BACKUP_LEASE_TIMEOUT: '3' }));
    ok(run, 'the snapshot after the purge lease died');
    assert.match(run.stderr, /waiting for a purge of node integrity-wait to finish/);
  });
});
