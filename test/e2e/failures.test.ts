// Each failure gives one clear line, the documented exit code and no manifest; an upload failure keeps the
// snapshot and prints a resume command that completes the backup; a second run while one holds the lock exits 75.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { baseEnv, runCli, startCli, requireEnv, tempDir, cliPath, CLOSED_PORT_HOST } from '../support/run-cli.ts';
import { sampleKeyspaceForFile } from '../support/cql.ts';
import { snapshotFiles, dataDirsFromEnv } from '../support/fs-walk.ts';
import { s3CliEnv } from '../support/s3-env.ts';

const keyspace = sampleKeyspaceForFile('cbr_fail', 40);

function env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return baseEnv({
    CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'),
    CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'), CASS_BACKUP_STATE_DIR: tempDir('state'),
    CASS_BACKUP_RETRY_ATTEMPTS: '2', ...extra,
  });
}

/** The error line and nothing that looks like a stack trace. */
function assertOneClearLine(stderr: string, pattern: RegExp): void {
  const errors = stderr.split('\n').filter((l) => l.startsWith('cass-backup-run: error:'));
  assert.equal(errors.length, 1, stderr);
  assert.match(errors[0] ?? '', pattern);
  assert.doesNotMatch(stderr, /\n\s+at .+\(.*:\d+:\d+\)/, 'no stack trace');
}

function manifestsUnder(dest: string): string[] {
  const out: string[] = [];
  if (!existsSync(dest)) return out;
  for (const node of readdirSync(dest)) {
    const dir = join(dest, node, '.cass-backup-run', 'manifests');
    if (existsSync(dir)) out.push(...readdirSync(dir));
  }
  return out;
}



describe('failures', () => {
  it('nodetool not found: exit 3', async () => {
    const dest = tempDir('dest');
    const run = await runCli(['snapshot', keyspace, '--dest', `file://${dest}`, '--nodetool', '/nonexistent/nodetool'], env());
    assert.equal(run.exitCode, 3);
    assertOneClearLine(run.stderr, /nodetool not found at \/nonexistent\/nodetool/);
    assert.deepEqual(manifestsUnder(dest), []);
  });

  it('nodetool exits non-zero: exit 3 with its status and reason', async () => {
    const dest = tempDir('dest');
    const run = await runCli(['snapshot', 'no_such_keyspace', '--dest', `file://${dest}`], env());
    assert.equal(run.exitCode, 3);
    assertOneClearLine(run.stderr, /nodetool snapshot exited with status 1.*no_such_keyspace does not exist/);
    assert.deepEqual(manifestsUnder(dest), []);
  });

  it('bucket missing: exit 2 before any snapshot is taken', async () => {
    const run = await runCli(['snapshot', keyspace, '--dest', 's3://cbr-no-such-bucket'], s3CliEnv({ CASS_BACKUP_RETRY_ATTEMPTS: '2' }));
    assert.equal(run.exitCode, 2);
    assertOneClearLine(run.stderr, /cbr-no-such-bucket.*(does not exist|NoSuchBucket)/);
    assert.doesNotMatch(run.stderr, /Requested creating snapshot/);
  });

  it('wrong credentials: exit 2, and the secret is not printed', async () => {
    const secret = 'wrong-secret-0123456789';
    const run = await runCli(['snapshot', keyspace, '--dest', `s3://${requireEnv('CBR_S3_BUCKET')}/x`],
      s3CliEnv({ AWS_SECRET_ACCESS_KEY: secret, CASS_BACKUP_RETRY_ATTEMPTS: '2' }));
    assert.equal(run.exitCode, 2);
    assertOneClearLine(run.stderr, /(SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied|credentials|signature)/i);
    assert.ok(!run.stderr.includes(secret) && !run.stdout.includes(secret));
  });

  it('no cloud detected and no --dest: exit 2 saying what to set', async () => {
    const run = await runCli(['snapshot'], env({ CASS_BACKUP_CLOUD: undefined, BUCKET_NAME: 'my-bucket',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${CLOSED_PORT_HOST}`, GCE_METADATA_HOST: CLOSED_PORT_HOST }));
    assert.equal(run.exitCode, 2);
    assertOneClearLine(run.stderr, /no cloud was detected.*--cloud aws\|gcp.*--dest/);
    const none = await runCli(['snapshot'], env({ CASS_BACKUP_CLOUD: undefined }));
    assert.equal(none.exitCode, 2);
    assertOneClearLine(none.stderr, /no destination: set BUCKET_NAME .* or --dest/);
  });

  it('data directory missing: exit 2', async () => {
    const run = await runCli(['snapshot', '--dest', `file://${tempDir('dest')}`, '--data-dir', '/nonexistent/data'], env());
    assert.equal(run.exitCode, 2);
    assertOneClearLine(run.stderr, /\/nonexistent\/data/);
  });

  it('after an upload failure the snapshot is kept, and the printed resume command completes the backup', async () => {
    const dest = tempDir('dest');
    const nodeId = 'node-resume';
    // A file where the keyspace's directory must go: every object of that keyspace fails to store.
    mkdirSync(join(dest, nodeId), { recursive: true });
    writeFileSync(join(dest, nodeId, keyspace), 'in the way');
    const tag = `resume-${Date.now()}`;
    const e = env();
    const failed = await runCli(['snapshot', '-t', tag, keyspace, '--dest', `file://${dest}`, '--node-id', nodeId], e);
    assert.equal(failed.exitCode, 4, failed.stderr);
    assert.deepEqual(manifestsUnder(dest), []);
    const kept = snapshotFiles(dataDirsFromEnv(), tag);
    assert.ok(kept.size > 0, 'the snapshot was kept');
    const resume = /resume with: (cass-backup-run snapshot --resume .*)$/m.exec(failed.stderr)?.[1];
    assert.ok(resume, failed.stderr);
    assert.match(resume, new RegExp(`--resume ${tag} `));
    rmSync(join(dest, nodeId, keyspace));
    const words = resume.split(' ').slice(1).map((w) => w.replace(/^'(.*)'$/, '$1'));
    const resumed = await runCli(words, e);
    assert.equal(resumed.exitCode, 0, resumed.stderr);
    assert.doesNotMatch(resumed.stderr, /Requested creating snapshot/, 'no new nodetool snapshot');
    assert.deepEqual(manifestsUnder(dest), [`${tag}.json`]);
    assert.equal(snapshotFiles(dataDirsFromEnv(), tag).size, 0, 'the snapshot is cleared after the complete upload');
    for (const rel of kept.keys()) assert.ok(existsSync(join(dest, nodeId, rel)), `${rel} stored`);
  });

  it('a second run while one is in progress exits 75', async () => {
    // The real nodetool, started a few seconds late, keeps the first run inside its lock long enough.
    const slow = join(tempDir('bin'), 'slow-nodetool');
    writeFileSync(slow, `#!/bin/sh\nsleep 6\nexec '${requireEnv('CBR_NODETOOL')}' "$@"\n`);
    chmodSync(slow, 0o755);
    const e = env();
    const dest = `file://${tempDir('dest')}`;
    const first = startCli(['snapshot', keyspace, '--dest', dest, '--nodetool', slow, '--node-id', 'node-lock'], e);
    const lockFile = join(String(e.CASS_BACKUP_STATE_DIR), 'run.lock');
    for (let i = 0; i < 100 && !existsSync(lockFile); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(existsSync(lockFile), 'the first run took the lock');
    const second = await runCli(['incremental', '--dest', dest, '--node-id', 'node-lock'], e);
    assert.equal(second.exitCode, 75, second.stderr);
    assertOneClearLine(second.stderr, /another cass-backup-run \(pid \d+, snapshot/);
    const done = await first.done;
    assert.equal(done.exitCode, 0, done.stderr);
    assert.ok(!existsSync(lockFile), 'the lock is released');
    assert.ok(cliPath);
  });
});
