// Interrupting a backup while a large file uploads to the real S3 server (versitygw): multipart, because it is above
// --multipart-threshold, and slowed by --max-rate. SIGINT (also to a run started with SIGINT ignored, as a
// background job of a script is), SIGTERM and SIGHUP each stop it with one error line and exit 4, abort the
// multipart upload on the server, write no manifest and release the lock; the next run completes the backup.
// With the server's answer to that abort held back (a fault proxy between the client and the server), a second
// signal ends the run at once, and a run that cannot stop is ended 30 s after the signal. A run whose terminal
// goes away (SIGHUP from the kernel) cleans up the same way.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { cliPath, requireEnv, runCli, startCli, tempDir, type CliResult } from '../support/run-cli.ts';
import { abortS3MultipartUploads, s3MultipartUploads, s3Reader } from '../support/stores.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { manifestKeyOf } from '../support/manifest.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';

const tag = 'interrupt-tag';
const nodeId = 'node-interrupt';
const dataDir = tempDir('data-interrupt');
const tableDir = join(dataDir, 'ks_interrupt', 'tbl-0123456789abcdef0123456789abcdef', 'snapshots', tag);
const MiB = 1024 * 1024;
/** Starts the program with SIGINT ignored, as a non-interactive shell starts a background job (`cmd &`). */
const SIGINT_IGNORED = ['sh', '-c', 'trap "" INT; exec "$0" "$@"'];

before(() => {
  mkdirSync(tableDir, { recursive: true });
  writeFileSync(join(tableDir, 'nb-1-big-Data.db'), randomBytes(24 * MiB)); // 12 s at 2 MiB/s
});

after(() => rmSync(dataDir, { recursive: true, force: true }));

function backupArgs(prefix: string): string[] {
  return ['snapshot', '--resume', tag, '--keep-snapshot', '--data-dir', dataDir, '--dest', s3Dest(prefix), '--node-id', nodeId,
    '--multipart-threshold', '8MiB'];
}

function slowBackup(prefix: string, env: NodeJS.ProcessEnv, via: readonly string[] = []): { child: ChildProcess; done: Promise<CliResult> } {
  return startCli([...backupArgs(prefix), '--max-rate', '2MiB'], env, via);
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`waited 60 s for ${what}`);
}

/** The run's result; a run still going after `seconds` is killed and the test fails (keeps the test bounded). */
async function ended(run: { child: ChildProcess; done: Promise<CliResult> }, seconds: number): Promise<CliResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      run.child.kill('SIGKILL');
      reject(new Error(`the run had not ended ${seconds} s after it was told to stop`));
    }, seconds * 1000);
  });
  try {
    return await Promise.race([run.done, late]);
  } finally {
    clearTimeout(timer);
  }
}

function assertOneLastErrorLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.filter((l) => l.startsWith('cass-backup-run: error:')).length, 1, stderr);
  assert.match(lines.at(-1) ?? '', pattern, stderr);
}

async function manifestCount(prefix: string): Promise<number> {
  return (await s3Reader().list(`${prefix}/${manifestKeyOf(nodeId, tag)}`)).size;
}

/** The next run on the same node is not refused (75): it completes the backup and writes its manifest. */
async function assertNextRunCompletes(prefix: string, stateDir: string): Promise<void> {
  const next = await runCli(backupArgs(prefix), s3CliEnv({ CASS_BACKUP_STATE_DIR: stateDir }), 120_000);
  assert.equal(next.exitCode, 0, next.stderr);
  assert.equal(await manifestCount(prefix), 1);
}

async function cleanUp(prefix: string): Promise<void> {
  await abortS3MultipartUploads(`${prefix}/`);
  await s3Reader().deletePrefix(`${prefix}/`);
}

const cases = [
  { name: 'SIGINT', signal: 'SIGINT' as const, via: [] },
  { name: 'SIGINT to a run started with SIGINT ignored (a background job of a script)', signal: 'SIGINT' as const, via: SIGINT_IGNORED },
  { name: 'SIGTERM', signal: 'SIGTERM' as const, via: [] },
  { name: 'SIGHUP', signal: 'SIGHUP' as const, via: [] },
];

describe('interrupting a backup', () => {
  it('the wrapper really starts the program with SIGINT ignored', () => {
    const status = spawnSync(SIGINT_IGNORED[0]!, [...SIGINT_IGNORED.slice(1), 'grep', '^SigIgn:', '/proc/self/status'], { encoding: 'utf8' });
    const mask = BigInt(`0x${status.stdout.split(/\s+/)[1] ?? '0'}`);
    assert.equal((mask >> 1n) & 1n, 1n, `SIGINT (2) ignored: ${status.stdout}`);
  });

  for (const c of cases) {
    it(`${c.name} during a multipart upload: one line, exit 4, the upload aborted, no manifest, the lock free`, { timeout: 180_000 }, async () => {
      const prefix = uniquePrefix(`interrupt-${c.signal.toLowerCase()}`);
      const stateDir = tempDir('state-interrupt');
      try {
        const run = slowBackup(prefix, s3CliEnv({ CASS_BACKUP_STATE_DIR: stateDir }), c.via);
        await waitFor('the multipart upload to start', async () => (await s3MultipartUploads(`${prefix}/`)).length > 0);
        run.child.kill(c.signal);
        const result = await ended(run, 60);
        assert.equal(result.exitCode, 4, result.stderr);
        assertOneLastErrorLine(result.stderr, new RegExp(`^cass-backup-run: error: interrupted by ${c.signal}; .*no manifest was written`));
        assert.deepEqual(await s3MultipartUploads(`${prefix}/`), [], 'the multipart upload was aborted on the server');
        assert.equal(await manifestCount(prefix), 0, 'no manifest');
        assert.ok(!existsSync(join(stateDir, 'run.lock')), 'the lock was released');
        await assertNextRunCompletes(prefix, stateDir);
      } finally {
        await cleanUp(prefix);
      }
    });
  }

  it('the terminal it runs in goes away (the kernel sends SIGHUP): the upload is aborted, no manifest, the lock free', { timeout: 180_000 }, async (t) => {
    if (spawnSync('script', ['--version']).status !== 0) return t.skip('needs script(1) from util-linux for a terminal');
    const prefix = uniquePrefix('interrupt-hangup');
    const stateDir = tempDir('state-interrupt');
    const lockFile = join(stateDir, 'run.lock');
    try {
      // script(1) gives the run a terminal of its own; killing script closes it, as a dropped ssh session does.
      const command = ['exec', process.execPath, cliPath, ...backupArgs(prefix), '--max-rate', '2MiB'].map(shellQuote).join(' ');
      const terminal = spawn('script', ['--quiet', '--flush', '--return', '--command', command, '/dev/null'],
        { env: s3CliEnv({ CASS_BACKUP_STATE_DIR: stateDir }), stdio: ['ignore', 'ignore', 'ignore'] });
      const exited = new Promise((resolve) => terminal.on('close', resolve));
      await waitFor('the multipart upload to start', async () => (await s3MultipartUploads(`${prefix}/`)).length > 0);
      const pid = (JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number }).pid;
      terminal.kill('SIGKILL');
      await exited;
      await waitFor(`the run (pid ${pid}) to end`, () => processGone(pid));
      assert.deepEqual(await s3MultipartUploads(`${prefix}/`), [], 'the multipart upload was aborted on the server');
      assert.equal(await manifestCount(prefix), 0, 'no manifest');
      assert.ok(!existsSync(lockFile), 'the lock was released');
      await assertNextRunCompletes(prefix, stateDir);
    } finally {
      await cleanUp(prefix);
    }
  });

  describe('when the store does not answer the abort', () => {
    let proxy: FaultProxy;
    before(async () => {
      proxy = await startFaultProxy(requireEnv('CBR_S3_ENDPOINT'), { flavour: 's3', stallMethod: 'DELETE' });
    });
    after(() => proxy.close());

    it('a second signal while it is stopping ends the run at once, with one line', { timeout: 180_000 }, async () => {
      const prefix = uniquePrefix('interrupt-twice');
      const stateDir = tempDir('state-interrupt');
      try {
        const run = slowBackup(prefix, s3CliEnv({ CASS_BACKUP_STATE_DIR: stateDir, CASS_BACKUP_S3_ENDPOINT: proxy.endpoint }));
        await waitFor('the multipart upload to start', async () => (await s3MultipartUploads(`${prefix}/`)).length > 0);
        const stallsBefore = proxy.counts.stalls;
        run.child.kill('SIGTERM');
        await waitFor('the abort of the upload to be held back', () => proxy.counts.stalls > stallsBefore);
        run.child.kill('SIGINT');
        const result = await ended(run, 20);
        assert.equal(result.exitCode, 4, result.stderr);
        assertOneLastErrorLine(result.stderr,
          /^cass-backup-run: error: interrupted by SIGTERM; SIGINT came while it was stopping, so it was ended without cleaning up: the run is incomplete/);
        assert.equal(await manifestCount(prefix), 0, 'no manifest');
        await assertNextRunCompletes(prefix, stateDir);
      } finally {
        await cleanUp(prefix);
      }
    });

    it('a run that has not stopped 30 s after the signal is ended, with one line', { timeout: 180_000 }, async () => {
      const prefix = uniquePrefix('interrupt-grace');
      const stateDir = tempDir('state-interrupt');
      try {
        const run = slowBackup(prefix, s3CliEnv({ CASS_BACKUP_STATE_DIR: stateDir, CASS_BACKUP_S3_ENDPOINT: proxy.endpoint }));
        await waitFor('the multipart upload to start', async () => (await s3MultipartUploads(`${prefix}/`)).length > 0);
        run.child.kill('SIGTERM');
        const result = await ended(run, 90);
        assert.equal(result.exitCode, 4, result.stderr);
        assertOneLastErrorLine(result.stderr,
          /^cass-backup-run: error: interrupted by SIGTERM; it had not stopped 30 s later, so it was ended without cleaning up/);
        assert.equal(await manifestCount(prefix), 0, 'no manifest');
        await assertNextRunCompletes(prefix, stateDir);
      } finally {
        await cleanUp(prefix);
      }
    });
  });
});

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Gone, or a zombie nobody has reaped yet (its parent, script(1), was killed). */
function processGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}
