// Operational pieces: the rate limiter, the Prometheus textfile, the free-space rule, the snapshot registry and
// the terminal progress line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRateLimiter, type Clock } from '../../src/upload/throttle.ts';
import { recordRun, type RunSample } from '../../src/output/prometheus.ts';
import { assertFreeSpace, parseFreeSpaceRule } from '../../src/disk-space.ts';
import { parseSize } from '../../src/config/options.ts';
import { fileSnapshotRegistry } from '../../src/snapshot-registry.ts';
import { createHumanReporter } from '../../src/output/human.ts';
import { createLogWriter } from '../../src/output/log-writer.ts';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'cbr-ops-'));

function fakeClock(): Clock & { t: number } {
  const c = { t: 0, now: () => c.t, sleep: async (ms: number) => { c.t += ms; } };
  return c;
}

describe('rate limiter', () => {
  it('holds the average rate to the limit over many chunks from several streams', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter(10 * 1024 * 1024, clock);
    const chunk = 256 * 1024;
    let sent = 0;
    await Promise.all([0, 1, 2, 3].map(async () => {
      for (let i = 0; i < 100; i++) {
        await limiter.take(chunk);
        sent += chunk;
      }
    }));
    const seconds = clock.t / 1000;
    const rate = sent / seconds;
    assert.ok(Math.abs(rate - 10 * 1024 * 1024) / (10 * 1024 * 1024) < 0.1, `rate ${rate} within 10% of the limit`);
  });
});

describe('prometheus textfile', () => {
  const sample = (over: Partial<RunSample>): RunSample => ({
    command: 'snapshot', node: 'n1', ok: true, exitCode: 0, finishedAt: new Date('2026-01-01T00:00:00Z'), seconds: 12.5,
    bytes: 1000, uploadedBytes: 800, files: 10, ...over,
  });

  it('records success, keeps the last success time across a failure, and counts failures', async () => {
    const path = join(tmp(), 'cass_backup.prom');
    await recordRun(path, sample({}));
    await recordRun(path, sample({ ok: false, exitCode: 4, finishedAt: new Date('2026-01-02T00:00:00Z'), bytes: 0 }));
    await recordRun(path, sample({ command: 'incremental', finishedAt: new Date('2026-01-03T00:00:00Z') }));
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^# TYPE cass_backup_run_last_success_timestamp_seconds gauge$/m);
    assert.match(text, /^cass_backup_run_last_success_timestamp_seconds\{command="snapshot",node="n1"\} 1767225600$/m);
    assert.match(text, /^cass_backup_run_last_run_timestamp_seconds\{command="snapshot",node="n1"\} 1767312000$/m);
    assert.match(text, /^cass_backup_run_last_run_success\{command="snapshot",node="n1"\} 0$/m);
    assert.match(text, /^cass_backup_run_failures_total\{command="snapshot",node="n1"\} 1$/m);
    assert.match(text, /^cass_backup_run_last_bytes\{command="snapshot",node="n1"\} 1000$/m);
    assert.match(text, /^cass_backup_run_last_exit_code\{command="snapshot",node="n1"\} 4$/m);
    assert.match(text, /^cass_backup_run_last_success_timestamp_seconds\{command="incremental",node="n1"\} 1767398400$/m);
  });

  it('a complete backup whose local clean-up failed (exit 5) refreshes the backup\'s age, and still counts as a failed run', async () => {
    const path = join(tmp(), 'cass_backup.prom');
    await recordRun(path, sample({}));
    await recordRun(path, sample({ ok: false, backupStored: true, exitCode: 5, finishedAt: new Date('2026-01-02T00:00:00Z') }));
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^cass_backup_run_last_success_timestamp_seconds\{command="snapshot",node="n1"\} 1767312000$/m);
    assert.match(text, /^cass_backup_run_last_run_success\{command="snapshot",node="n1"\} 0$/m);
    assert.match(text, /^cass_backup_run_failures_total\{command="snapshot",node="n1"\} 1$/m);
    assert.match(text, /^cass_backup_run_last_exit_code\{command="snapshot",node="n1"\} 5$/m);
  });
});

describe('free disk rule', () => {
  const usage = async () => ({ freeBytes: 40, totalBytes: 1000 });
  it('refuses below a percentage or a size, and passes above', async () => {
    await assert.rejects(assertFreeSpace(['/d'], parseFreeSpaceRule('5%', parseSize), usage), /only 40 bytes \(4\.0%\) free on the disk of \/d/);
    await assert.rejects(assertFreeSpace(['/d'], parseFreeSpaceRule('100', parseSize), usage), /below --min-free-disk 100 bytes/);
    await assertFreeSpace(['/d'], parseFreeSpaceRule('3%', parseSize), usage);
    assert.throws(() => parseFreeSpaceRule('150%', parseSize), /at most 100%/);
  });
});

describe('snapshot registry', () => {
  it('remembers tags with their time and forgets removed ones', async () => {
    const reg = fileSnapshotRegistry(join(tmp(), 'snapshots.json'));
    await reg.add('old', new Date('2026-01-01T00:00:00Z'));
    await reg.add('new', new Date('2026-01-05T00:00:00Z'));
    assert.deepEqual(await reg.olderThan(new Date('2026-01-03T00:00:00Z')), ['old']);
    await reg.remove('old');
    assert.deepEqual(await reg.olderThan(new Date('2027-01-01T00:00:00Z')), ['new']);
  });
});

describe('human reporter', () => {
  const reporter = (isTty: boolean) => {
    let out = '';
    let tick: (() => void) | undefined;
    let t = 0;
    const log = createLogWriter({ write: (s) => (out += s), isTty, now: () => new Date(Date.UTC(2026, 11, 1, 3, 15, 2)) });
    const r = createHumanReporter({ log, level: 'normal', isTty, now: () => t, every: (_ms, fn) => { tick = fn; return () => { tick = undefined; }; } });
    return { r, out: () => out, advance: (ms: number) => { t += ms; tick?.(); } };
  };

  it('draws a progress line in place on a terminal, and prints the summary on its own line', () => {
    const { r, out, advance } = reporter(true);
    r.emit({ type: 'start', command: 'snapshot', tag: 't', destination: 'file:///x', files: 2, bytes: 2048 });
    const tracker = r.live.track('a', 1024);
    tracker.add(512);
    advance(1000);
    assert.match(out(), /\r\x1b\[K\x1b\[\?7l25% 512 B \/ 2\.0 KiB, 512 B\/s, ETA 3s, 0\/2 files, 1 in flight\x1b\[\?7h/);
    r.emit({ type: 'file', path: 'a', key: 'k', action: 'uploaded', bytes: 1024, size: 1024 });
    r.emit({ type: 'summary', command: 'snapshot', tag: 't', ok: true, files: 2, uploadedFiles: 2, reusedFiles: 0, copiedFiles: 0,
      bytes: 2048, uploadedBytes: 2048, seconds: 1, mbPerSecond: 0.002, manifest: 'm', failures: [] });
    assert.match(out(), /\r\x1b\[Ksnapshot t complete: 2 files, 2\.0 KiB .* in 1\.0 s, 2\.0 KiB\/s; manifest m\n$/);
  });

  it('prints no progress line when not on a terminal, and stamps each line with the time', () => {
    const { r, out, advance } = reporter(false);
    r.emit({ type: 'start', command: 'snapshot', tag: 't', destination: 'file:///x', files: 1, bytes: 1 });
    r.live.track('a', 1).add(1);
    advance(1000);
    r.emit({ type: 'file', path: 'a', key: 'k', action: 'uploaded', bytes: 1, size: 1 });
    assert.equal(out(), '2026-12-01T03:15:02Z snapshot t: 1 files, 1 B → file:///x\n');
  });
});
