// Failures an operator causes or meets, end to end with the built CLI against the real services: each ends with its
// documented exit code and one `cass-backup-run: error:` line (none where silence is the convention), never a stack
// trace; where no retry can help, none is made (asserted by the absence of retries, never by time).
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { baseEnv, jsonEvents, requireEnv, runCli, startCli, tempDir, type CliResult } from '../support/run-cli.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { gcsReader, s3Reader } from '../support/stores.ts';
import { insertRandomRows, sampleKeyspaceForFile } from '../support/cql.ts';
import { nodetool } from '../support/nodetool.ts';
import { dataDirsFromEnv, snapshotFiles } from '../support/fs-walk.ts';
import { waitFor } from '../support/watch.ts';

const KiB = 1024;
const TABLE = 'tbl-0123456789abcdef0123456789abcdef';
const isRoot = process.getuid?.() === 0;

// Random SSTable-sized data in several flushed SSTables per table: a snapshot of it takes seconds under --max-rate.
const keyspace = sampleKeyspaceForFile('cbr_operr', 0, async (ks) => {
  for (let round = 0; round < 3; round++) {
    await insertRandomRows(ks, 'users', round * 400, 400, 2 * KiB);
    await insertRandomRows(ks, 'events', round * 400, 400, 2 * KiB);
    nodetool('flush', ks);
  }
});

function env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return baseEnv({
    CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'),
    CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'), CASS_BACKUP_STATE_DIR: tempDir('state'), ...extra,
  });
}

/** A data directory with `count` files of `size` random bytes in one table's backups/ (or snapshots/<tag>/). */
function syntheticData(count: number, size: number, area = 'backups'): { dataDir: string; dir: string } {
  const dataDir = tempDir('data-operr');
  const dir = join(dataDir, 'ks_operr', TABLE, area);
  mkdirSync(dir, { recursive: true });
  for (let i = 1; i <= count; i++) writeFileSync(join(dir, `nb-${i}-big-Data.db`), randomBytes(size));
  return { dataDir, dir };
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('cass-backup-run: error:'));
}

/** Exactly one error line, matching; nothing that looks like a stack trace. */
function assertOneErrorLine(run: CliResult, pattern: RegExp): void {
  const lines = errorLines(run.stderr);
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0] ?? '', pattern);
  assertNoStackTrace(run);
}

function assertNoStackTrace(run: CliResult): void {
  assert.doesNotMatch(run.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

/** The human reporter's retry lines (`retrying put … (attempt 2): …`). */
function assertNoRetries(run: CliResult, about = ''): void {
  assert.doesNotMatch(run.stderr, new RegExp(`^retrying .*${about}`, 'm'), 'no retries');
}

function manifestsIn(dest: string, nodeId: string): string[] {
  const dir = join(dest, nodeId, '.cass-backup-run', 'manifests');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json')) : [];
}

/** Runs the CLI with the reading end of its stdout closed at once: its first write to stdout fails with EPIPE. */
async function runWithClosedStdout(args: readonly string[], e: NodeJS.ProcessEnv): Promise<CliResult> {
  const run = startCli(args, e);
  run.child.stdout?.destroy();
  return run.done;
}

describe('credentials, region and endpoint: exit 2, without retrying', () => {
  const data = syntheticData(3, 4 * KiB);
  const s3Args = (prefix: string): string[] => ['incremental', '--data-dir', data.dataDir, '--dest', s3Dest(prefix), '--node-id', 'node-operr'];
  const withoutAwsKeys = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv =>
    s3CliEnv({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, ...extra });

  it('S3 without credentials (no AWS_* variables, the metadata service unreachable) names where they come from', async () => {
    const run = await runCli(s3Args(uniquePrefix('operr-nocred')), withoutAwsKeys());
    assert.equal(run.exitCode, 2, run.stderr);
    assertOneErrorLine(run, /no AWS credentials: the SDK looked in the environment \(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\), a profile \(AWS_PROFILE.*web identity \(AWS_WEB_IDENTITY_TOKEN_FILE.*the instance role from the metadata service, and found none it could use \(Could not load credentials from any providers\); give the instance a role/);
    assertNoRetries(run);
  });

  it('S3 with a web identity token file that does not exist names the file', async () => {
    const run = await runCli(s3Args(uniquePrefix('operr-webid')),
      withoutAwsKeys({ AWS_WEB_IDENTITY_TOKEN_FILE: '/nonexistent/token', AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/backup' }));
    assert.equal(run.exitCode, 2, run.stderr);
    assertOneErrorLine(run, /the AWS SDK could not read \/nonexistent\/token while looking for credentials \(ENOENT\)/);
    assertNoRetries(run);
  });

  it('S3 rejecting the credentials (a wrong secret key) fails at its first answer', async () => {
    const run = await runCli(s3Args(uniquePrefix('operr-badcred')), s3CliEnv({ AWS_SECRET_ACCESS_KEY: 'wrong-secret-0123456789' }));
    assert.equal(run.exitCode, 2, run.stderr);
    assertOneErrorLine(run, /SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied/);
    assertNoRetries(run);
    assert.ok(!run.stderr.includes('wrong-secret-0123456789'), 'the secret is not printed');
  });

  it('a region that is not one (REGION=not-a-region) is named, before any request', async () => {
    const run = await runCli(['incremental', '--data-dir', data.dataDir, '--dest', 's3://cbr-test/operr', '--node-id', 'node-operr'],
      s3CliEnv({ CASS_BACKUP_S3_ENDPOINT: undefined, REGION: 'not-a-region' }));
    assert.equal(run.exitCode, 2, run.stderr);
    assertOneErrorLine(run, /the AWS region "not-a-region" \(REGION, AWS_REGION or --region\) is not a region name/);
    assertNoRetries(run);
  });

  it('an endpoint host that does not resolve is named', async (t) => {
    const host = 'cbr-no-such-host.invalid';
    const answer = await lookup(host).then(() => 'an address', (err: NodeJS.ErrnoException) => err.code);
    if (answer !== 'ENOTFOUND') return t.skip(`this machine's resolver answers ${answer} for ${host}, not ENOTFOUND (RFC 6761)`);
    const run = await runCli(s3Args(uniquePrefix('operr-host')), s3CliEnv({ CASS_BACKUP_S3_ENDPOINT: `http://${host}:7070` }));
    assert.equal(run.exitCode, 2, run.stderr);
    assertOneErrorLine(run, /the S3 endpoint host "cbr-no-such-host\.invalid" does not resolve \(ENOTFOUND\): check the region .* and --s3-endpoint/);
    assertNoRetries(run);
  });

  // Google's service itself is not reachable from here, and need not be: credentials are looked up before the first
  // request, from the metadata server (a closed loopback port here) and the environment.
  it('GCS without credentials (Google\'s service, no --gcs-endpoint) names Application Default Credentials', async () => {
    const run = await runCli(['incremental', '--data-dir', data.dataDir, '--dest', 'gs://cbr-test/operr', '--node-id', 'node-operr'], env());
    assert.equal(run.exitCode, 2, run.stderr);
    assertOneErrorLine(run, /no Google Cloud credentials: Application Default Credentials look in GOOGLE_APPLICATION_CREDENTIALS .*service account of the instance/);
    assertNoRetries(run);
  });

  it('GCS with GOOGLE_APPLICATION_CREDENTIALS naming a file that does not exist names it', async () => {
    const run = await runCli(['incremental', '--data-dir', data.dataDir, '--dest', 'gs://cbr-test/operr', '--node-id', 'node-operr'],
      env({ GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent/key.json' }));
    assert.equal(run.exitCode, 2, run.stderr);
    assertOneErrorLine(run, /no Google Cloud credentials: .*\/nonexistent\/key\.json/);
  });

  // What the emulator cannot show: the library sends no credentials to a custom endpoint, and fake-gcs-server
  // checks none, so neither missing nor rejected credentials can be produced through it.
  it('the GCS emulator (--gcs-endpoint) is used without credentials, as the library does', async () => {
    const prefix = uniquePrefix('operr-emu');
    try {
      const run = await runCli(['incremental', '--data-dir', data.dataDir, '--dest', `gs://${requireEnv('CBR_GCS_BUCKET')}/${prefix}`,
        '--gcs-endpoint', requireEnv('CBR_GCS_ENDPOINT'), '--node-id', 'node-operr'], env());
      assert.equal(run.exitCode, 0, run.stderr);
    } finally {
      await gcsReader().deletePrefix(`${prefix}/`);
    }
  });
});

describe('local clean-up after a complete backup: exit 5', () => {
  it('--delete-uploaded that may not remove the files (not the owner of backups/): the backup is complete, one line says what is left', async (t) => {
    const data = syntheticData(3, 4 * KiB);
    const dest = tempDir('dest-operr');
    const e = env();
    let via: string[] = [];
    if (isRoot) {
      // Root removes any file; without CAP_DAC_OVERRIDE it is held to the directory's owner and mode like any user.
      if (spawnSync('setpriv', ['--version']).status !== 0) return t.skip('needs setpriv(1) to drop root\'s file-access override');
      chownSync(data.dir, 65534, 65534);
      chmodSync(data.dir, 0o755);
      via = ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--inh-caps=-dac_override,-dac_read_search', '--'];
    } else {
      chmodSync(data.dir, 0o555);
    }
    const args = ['incremental', '--delete-uploaded', '--data-dir', data.dataDir, '--dest', `file://${dest}`, '--node-id', 'node-operr'];
    const run = await runCli(args, e, 120_000, via);
    assert.equal(run.exitCode, 5, run.stderr);
    assertOneErrorLine(run, /^cass-backup-run: error: incremental backup incr-\S+ is complete \(manifest node-operr\/\.cass-backup-run\/manifests\/incr-\S+\.json\), but 3 of 3 uploaded files could not be removed from backups\/ \(first: .*nb-1-big-Data\.db: EACCES\); they are in this backup: run --delete-uploaded as the user that owns/);
    assert.equal(manifestsIn(dest, 'node-operr').length, 1, 'the manifest was written');
    assert.equal(readdirSync(data.dir).length, 3, 'the files are still there');
    chmodSync(data.dir, 0o755);
    // As the owner, the next run stores them in its manifest (reused) and removes them.
    const again = await runCli(args, e);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.deepEqual(readdirSync(data.dir), []);
  });

  it('a snapshot that cannot be cleared after a complete upload: the backup is complete, one line says how to clear it', async () => {
    // The real nodetool, but its clearsnapshot sent to a closed JMX port: it fails as it does when JMX is unreachable.
    const real = requireEnv('CBR_NODETOOL');
    const wrapper = join(tempDir('bin'), 'nodetool');
    writeFileSync(wrapper, `#!/bin/sh\nfor a in "$@"; do [ "$a" = clearsnapshot ] && exec '${real}' -p 9 "$@"; done\nexec '${real}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const dest = tempDir('dest-operr');
    const tag = `operr-clear-${Date.now()}`;
    try {
      const run = await runCli(['snapshot', '-t', tag, keyspace, '--dest', `file://${dest}`, '--node-id', 'node-operr', '--nodetool', wrapper], env());
      assert.equal(run.exitCode, 5, run.stderr);
      assertOneErrorLine(run, new RegExp(`^cass-backup-run: error: snapshot backup ${tag} is complete \\(manifest node-operr/\\.cass-backup-run/manifests/${tag}\\.json\\), ` +
        `but the snapshot could not be cleared \\(nodetool clearsnapshot exited with status \\d+.*\\); it holds disk space until cleared: nodetool clearsnapshot -t ${tag}$`));
      assert.deepEqual(manifestsIn(dest, 'node-operr'), [`${tag}.json`]);
      assert.ok(snapshotFiles(dataDirsFromEnv(), tag).size > 0, 'the snapshot is still there');
    } finally {
      nodetool('clearsnapshot', '-t', tag);
    }
  });
});

describe('a full state directory', () => {
  it('full before the run starts: exit 2, one line saying so, nothing stored', async (t) => {
    if (!isRoot) return t.skip('mounts a small tmpfs (root only)');
    const stateDir = tempDir('state-full-start');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', stateDir]);
    try {
      spawnSync('dd', ['if=/dev/zero', `of=${join(stateDir, 'fill')}`, 'bs=4k']); // until ENOSPC
      const data = syntheticData(3, 4 * KiB);
      const dest = tempDir('dest-operr');
      const run = await runCli(['incremental', '--data-dir', data.dataDir, '--dest', `file://${dest}`, '--node-id', 'node-full'],
        env({ CASS_BACKUP_STATE_DIR: stateDir }));
      assert.equal(run.exitCode, 2, run.stderr);
      assertNoStackTrace(run);
      assert.match(run.stderr, /cass-backup-run: error: state directory .* is full \(ENOSPC\): free space there, or set --state-dir/);
      assert.deepEqual(manifestsIn(dest, 'node-full'), []);
    } finally {
      execFileSync('umount', [stateDir]);
    }
  });

  it('a journal that cannot be written (ENOSPC) mid-run: one warning, and every stored file counts', async (t) => {
    if (!isRoot) return t.skip('mounts a small tmpfs (root only)');
    const stateDir = tempDir('state-full');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', stateDir]);
    try {
      // 40 journal lines need several pages: the first is written before the disk fills, the others cannot be.
      const data = syntheticData(40, 64 * KiB);
      const dest = tempDir('dest-operr');
      const run = startCli(['incremental', '--concurrency', '1', '--max-rate', '1MiB', '--data-dir', data.dataDir,
        '--dest', `file://${dest}`, '--node-id', 'node-full'], env({ CASS_BACKUP_STATE_DIR: stateDir }));
      const journal = join(stateDir, 'journal', 'node-full', 'incremental.jsonl');
      await waitFor('the first journal line', async () => existsSync(journal) && readFileSync(journal, 'utf8').includes('\n'), 60_000);
      spawnSync('dd', ['if=/dev/zero', `of=${join(stateDir, 'fill')}`, 'bs=4k']); // until ENOSPC
      const done = await run.done;
      assert.equal(done.exitCode, 0, done.stderr);
      assertNoStackTrace(done);
      const warnings = done.stderr.split('\n').filter((l) => /journal/.test(l));
      assert.equal(warnings.length, 1, done.stderr);
      // Not a terminal: the line starts with its UTC timestamp.
      assert.match(warnings[0] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ warning: cannot write the journal .*incremental\.jsonl \(ENOSPC: .*\); going on without it/);
      const [manifest] = manifestsIn(dest, 'node-full');
      assert.ok(manifest, 'the manifest was written');
      const stored = JSON.parse(readFileSync(join(dest, 'node-full', '.cass-backup-run', 'manifests', manifest), 'utf8')) as { files: unknown[] };
      assert.equal(stored.files.length, 40);
    } finally {
      execFileSync('umount', [stateDir]);
    }
  });

  it('a snapshot whose state directory fills up during the upload completes, clears its snapshot and warns', async (t) => {
    if (!isRoot) return t.skip('mounts a small tmpfs (root only)');
    const stateDir = tempDir('state-full');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', stateDir]);
    const tag = `operr-full-${Date.now()}`;
    try {
      const dest = tempDir('dest-operr');
      const run = startCli(['snapshot', '-t', tag, keyspace, '--concurrency', '1', '--max-rate', '2MiB', '--dest', `file://${dest}`,
        '--node-id', 'node-full'], env({ CASS_BACKUP_STATE_DIR: stateDir }));
      const journal = join(stateDir, 'journal', 'node-full', `snapshot-${tag}.jsonl`);
      await waitFor('the first journal line', async () => existsSync(journal) && readFileSync(journal, 'utf8').includes('\n'), 120_000);
      spawnSync('dd', ['if=/dev/zero', `of=${join(stateDir, 'fill')}`, 'bs=4k']); // until ENOSPC
      const done = await run.done;
      assert.equal(done.exitCode, 0, done.stderr);
      assertNoStackTrace(done);
      assert.deepEqual(errorLines(done.stderr), []);
      assert.equal(done.stderr.split('\n').filter((l) => /cannot write the journal/.test(l)).length, 1, done.stderr);
      assert.deepEqual(manifestsIn(dest, 'node-full'), [`${tag}.json`]);
      assert.equal(snapshotFiles(dataDirsFromEnv(), tag).size, 0, 'the snapshot was cleared');
    } finally {
      execFileSync('umount', [stateDir]);
      nodetool('clearsnapshot', '-t', tag); // in case the test failed before it was cleared
    }
  });
});

describe('a closed stdout (EPIPE): exit 141', () => {
  let dest = '';
  before(async () => {
    dest = tempDir('dest-operr');
    const data = syntheticData(3, 4 * KiB);
    for (let i = 0; i < 3; i++) {
      const run = await runCli(['incremental', '--data-dir', data.dataDir, '--dest', `file://${dest}`, '--node-id', 'node-pipe'], env());
      assert.equal(run.exitCode, 0, run.stderr);
    }
  });

  for (const json of [false, true]) {
    it(`list${json ? ' --json' : ''} whose reader went away exits quietly`, async () => {
      const run = await runWithClosedStdout(['list', '--dest', `file://${dest}`, '--node-id', 'node-pipe', ...(json ? ['--json'] : [])], env());
      assert.equal(run.exitCode, 141, run.stderr);
      assert.equal(run.stderr, '', 'nothing on stderr');
    });
  }

  it('a --json backup whose reader went away stops like an interrupted run: one line, no manifest, the lock released', async () => {
    const data = syntheticData(40, 64 * KiB);
    const backupDest = tempDir('dest-operr');
    const e = env();
    const run = await runWithClosedStdout(['incremental', '--json', '--concurrency', '1', '--max-rate', '1MiB', '--data-dir', data.dataDir,
      '--dest', `file://${backupDest}`, '--node-id', 'node-pipe'], e);
    assert.equal(run.exitCode, 141, run.stderr);
    assertOneErrorLine(run, /^cass-backup-run: error: stdout was closed \(EPIPE\), so the run stopped: \d+ of 40 files were not stored .*no manifest was written/);
    assert.deepEqual(manifestsIn(backupDest, 'node-pipe'), []);
    assert.ok(!existsSync(join(String(e.CASS_BACKUP_STATE_DIR), 'run.lock')), 'the lock is released');
    assert.equal(readdirSync(data.dir).length, 40, 'nothing was removed');
  });
});

describe('source files that vanish', () => {
  for (const store of ['s3', 'file'] as const) {
    it(`on ${store}://, a file removed mid-run is counted as vanished at once, and an incremental stores the others`, async () => {
      const data = syntheticData(12, 512 * KiB);
      const prefix = uniquePrefix('operr-vanish');
      const dest = store === 's3' ? s3Dest(prefix) : `file://${tempDir('dest-operr')}`;
      const e = store === 's3' ? s3CliEnv() : env();
      try {
        const run = startCli(['incremental', '--concurrency', '1', '--max-rate', '2MiB', '--data-dir', data.dataDir, '--dest', dest,
          '--node-id', 'node-vanish', '--json'], e);
        // nb-5 is the eighth of twelve (nb-1, nb-10, nb-11, nb-12, nb-2 …): removed once the first is stored.
        let stdout = '';
        run.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
        await waitFor('the first stored file', async () => /"action":"uploaded"/.test(stdout), 60_000);
        rmSync(join(data.dir, 'nb-5-big-Data.db'));
        const done = await run.done;
        assert.equal(done.exitCode, 0, done.stderr);
        const events = jsonEvents(done.stdout);
        assert.ok(events.some((ev) => ev.type === 'warning' && /nb-5-big-Data\.db disappeared before upload; skipped/.test(String(ev.message))), done.stdout);
        assert.deepEqual(events.filter((ev) => ev.type === 'retry'), [], 'no retries');
        const summary = events.find((ev) => ev.type === 'summary');
        assert.equal(summary?.files, 11, 'the eleven others are in the backup');
      } finally {
        if (store === 's3') await s3Reader().deletePrefix(`${prefix}/`);
      }
    });
  }

  it('a snapshot cleared by someone else during its upload: one line says so, no resume is offered', { timeout: 300_000 }, async () => {
    const dest = tempDir('dest-operr');
    const tag = `operr-gone-${Date.now()}`;
    const e = env();
    const run = startCli(['snapshot', '-t', tag, keyspace, '--concurrency', '1', '--max-rate', '512KiB', '--dest', `file://${dest}`,
      '--node-id', 'node-gone'], e);
    const journal = join(String(e.CASS_BACKUP_STATE_DIR), 'journal', 'node-gone', `snapshot-${tag}.jsonl`);
    try {
      await waitFor('the first stored file', async () => existsSync(journal) && readFileSync(journal, 'utf8').includes('\n'), 120_000);
      await promisify(execFile)(requireEnv('CBR_NODETOOL'), ['clearsnapshot', '-t', tag]); // as from another shell
      const done = await run.done;
      assert.equal(done.exitCode, 4, done.stderr);
      assertOneErrorLine(done, new RegExp(`^cass-backup-run: error: the snapshot "${tag}" was removed by someone else during the upload ` +
        '\\(nodetool clearsnapshot from another shell\\?\\): no manifest was written, and it cannot be resumed; take a new snapshot$'));
      assert.doesNotMatch(done.stderr, /resume with/);
      assertNoRetries(done);
      assert.deepEqual(manifestsIn(dest, 'node-gone'), []);
      assert.ok(!existsSync(journal), 'its journal is forgotten: nothing can resume it');
    } finally {
      run.child.kill('SIGKILL');
      await run.done;
      nodetool('clearsnapshot', '-t', tag); // in case the test failed before it was cleared
    }
  });
});
