// Cron-ready behaviour end to end: metrics file, low priority, stale snapshots cleared, free-disk refusal, dry run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { baseEnv, runCli, startCli, requireEnv, tempDir } from '../support/run-cli.ts';
import { sampleKeyspaceForFile } from '../support/cql.ts';
import { snapshotFiles, dataDirsFromEnv } from '../support/fs-walk.ts';

const keyspace = sampleKeyspaceForFile('cbr_ops', 30);

function env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return baseEnv({
    CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'),
    CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'), CASS_BACKUP_STATE_DIR: tempDir('state'),
    CASS_BACKUP_NODE_ID: 'node-ops', ...extra,
  });
}



describe('operations', () => {
  it('--prometheus-file records the last success, and a failure without losing it', async () => {
    const prom = join(tempDir('prom'), 'cass_backup.prom');
    const e = env({ CASS_BACKUP_PROMETHEUS_FILE: prom });
    const ok = await runCli(['snapshot', keyspace, '--dest', `file://${tempDir('dest')}`], e);
    assert.equal(ok.exitCode, 0, ok.stderr);
    const first = readFileSync(prom, 'utf8');
    const success = /cass_backup_run_last_success_timestamp_seconds\{command="snapshot",node="node-ops"\} (\d+(\.\d+)?)/.exec(first)?.[1];
    assert.ok(success, first);
    assert.match(first, /cass_backup_run_last_files\{command="snapshot",node="node-ops"\} [1-9]\d*/);
    const bad = await runCli(['snapshot', 'no_such_keyspace', '--dest', `file://${tempDir('dest')}`], e);
    assert.equal(bad.exitCode, 3);
    const second = readFileSync(prom, 'utf8');
    assert.match(second, new RegExp(`cass_backup_run_last_success_timestamp_seconds\\{command="snapshot",node="node-ops"\\} ${success}`));
    assert.match(second, /cass_backup_run_last_run_success\{command="snapshot",node="node-ops"\} 0/);
    assert.match(second, /cass_backup_run_failures_total\{command="snapshot",node="node-ops"\} 1/);
    assert.match(second, /cass_backup_run_last_exit_code\{command="snapshot",node="node-ops"\} 3/);
  });

  it('--low-priority runs at nice 19 in the idle I/O class', async () => {
    const slow = join(tempDir('bin'), 'slow-nodetool');
    writeFileSync(slow, `#!/bin/sh\nsleep 3\nexec '${requireEnv('CBR_NODETOOL')}' "$@"\n`);
    chmodSync(slow, 0o755);
    const run = startCli(['snapshot', keyspace, '--low-priority', '--nodetool', slow, '--dest', `file://${tempDir('dest')}`], env());
    const pid = run.child.pid!;
    // The tool sets nice first and then runs ionice: wait for both, not only the first.
    let nice: string | undefined;
    let io = '';
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      nice = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16];
      io = execFileSync('ionice', ['-p', String(pid)], { encoding: 'utf8' }).trim();
      if (nice === '19' && io === 'idle') break;
    }
    assert.equal(nice, '19', 'nice value of the running tool');
    assert.equal(io, 'idle');
    const done = await run.done;
    assert.equal(done.exitCode, 0, done.stderr);
    assert.match(done.stderr, /low priority: nice 19, idle I\/O class/);
  });

  it('a snapshot left behind by a failed run is cleared by a later run once older than --stale-snapshot-age', async () => {
    const dest = tempDir('dest');
    mkdirSync(join(dest, 'node-ops'), { recursive: true });
    writeFileSync(join(dest, 'node-ops', keyspace), 'in the way'); // makes the upload of this keyspace fail
    const e = env();
    const tag = `stale-${Date.now()}`;
    const failed = await runCli(['snapshot', '-t', tag, keyspace, '--dest', `file://${dest}`], e);
    assert.equal(failed.exitCode, 4, failed.stderr);
    assert.ok(snapshotFiles(dataDirsFromEnv(), tag).size > 0, 'kept for resuming');
    const young = await runCli(['snapshot', keyspace, '--dest', `file://${tempDir('dest')}`], e);
    assert.equal(young.exitCode, 0, young.stderr);
    assert.ok(snapshotFiles(dataDirsFromEnv(), tag).size > 0, 'not cleared while younger than the age');
    await new Promise((r) => setTimeout(r, 1500));
    const later = await runCli(['snapshot', keyspace, '--dest', `file://${tempDir('dest')}`, '--stale-snapshot-age', '0.0003'], e);
    assert.equal(later.exitCode, 0, later.stderr);
    assert.match(later.stderr, new RegExp(`cleared stale snapshot "${tag}"`));
    assert.equal(snapshotFiles(dataDirsFromEnv(), tag).size, 0);
  });

  it('refuses to snapshot when free disk is below --min-free-disk, before taking it', async () => {
    const run = await runCli(['snapshot', keyspace, '--dest', `file://${tempDir('dest')}`, '--min-free-disk', '100%'], env());
    assert.equal(run.exitCode, 2);
    assert.match(run.stderr, /refusing to snapshot: only \d+ bytes \([\d.]+%\) free on the disk of .*below --min-free-disk 100%/);
    assert.doesNotMatch(run.stderr, /Requested creating snapshot/);
  });

  it('--dry-run takes no snapshot and writes nothing', async () => {
    const dest = tempDir('dest');
    const run = await runCli(['snapshot', keyspace, '--dest', `file://${dest}`, '--dry-run'], env());
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, /dry run: would run: nodetool snapshot/);
    assert.deepEqual(readdirSync(dest), []);
    const incr = await runCli(['incremental', '--dest', `file://${dest}`, '--dry-run'], env());
    assert.equal(incr.exitCode, 0, incr.stderr);
    assert.match(incr.stderr, /dry run: would upload up to \d+ files/);
    assert.ok(!existsSync(join(dest, 'node-ops')));
  });
});
