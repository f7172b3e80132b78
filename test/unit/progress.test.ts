// Live progress, with an injected clock and timers: the meter's arithmetic (done, in flight, rate over a sliding
// window, ETA), the line's formatting, the log writer (live line, timestamps), the output levels, the JSON
// progress events, and that every JSON event is in the documented schema and every documented field described.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createProgressMeter, etaOf, percentOf } from '../../src/output/progress.ts';
import { formatBytes, formatDuration, formatProgressLine, formatRate } from '../../src/output/format.ts';
import { createLogWriter, logTimestamp } from '../../src/output/log-writer.ts';
import { createHumanReporter, type OutputLevel } from '../../src/output/human.ts';
import { createJsonReporter } from '../../src/output/json.ts';
import { createRunOutput, outputLevel } from '../../src/output/run-output.ts';
import type { ProgressEvent, RunEvent } from '../../src/report.ts';
import { UsageError } from '../../src/errors.ts';
import { loadEventsSchema, validate } from '../support/json-schema.ts';
import { repoRoot } from '../support/run-cli.ts';

const MiB = 1024 * 1024;
const start = (files: number, bytes: number): Extract<RunEvent, { type: 'start' }> =>
  ({ type: 'start', command: 'snapshot', tag: 't1', destination: 's3://b/p', files, bytes });

/** A clock the test moves, and timers it fires. */
function fakeTime() {
  let t = 0;
  const ticks = new Map<number, () => void>();
  let next = 0;
  return {
    now: () => t,
    date: () => new Date(Date.UTC(2026, 11, 1, 3, 15, 2) + t),
    every: (_ms: number, tick: () => void) => {
      const id = next++;
      ticks.set(id, tick);
      return () => void ticks.delete(id);
    },
    advance(ms: number): void {
      t += ms;
      for (const tick of [...ticks.values()]) tick();
    },
    running: () => ticks.size,
  };
}

describe('progress meter', () => {
  it('counts bytes of files in flight as they move, and finished files by their size', () => {
    const time = fakeTime();
    const meter = createProgressMeter(time.now);
    meter.start(start(3, 300 * MiB));
    const big = meter.track('big', 200 * MiB);
    big.add(50 * MiB);
    let f = meter.figures();
    assert.equal(f.doneBytes, 50 * MiB);
    assert.equal(f.inFlightFiles, 1);
    assert.equal(f.doneFiles, 0);
    assert.equal(f.percent, 16.6);
    meter.fileDone({ type: 'file', path: 'small', key: 'k', action: 'reused', bytes: 0, size: 100 * MiB });
    f = meter.figures();
    assert.deepEqual([f.doneFiles, f.reusedFiles, f.doneBytes, f.transferredBytes], [1, 1, 150 * MiB, 50 * MiB],
      'a reused file is done without bytes moved');
    big.add(150 * MiB);
    meter.fileDone({ type: 'file', path: 'big', key: 'k2', action: 'uploaded', bytes: 200 * MiB, size: 200 * MiB });
    big.end(); // after its file event: its bytes are not counted twice
    f = meter.figures(true);
    assert.deepEqual([f.doneFiles, f.inFlightFiles, f.doneBytes, f.percent, f.final], [2, 0, 300 * MiB, 99.9, true],
      'all bytes, one file still missing: not 100%');
  });

  it('a retried upload never counts more than the file as done, but its bytes count for the rate', () => {
    const time = fakeTime();
    const meter = createProgressMeter(time.now);
    meter.start(start(1, 10 * MiB));
    const f = meter.track('a', 10 * MiB);
    f.add(8 * MiB);
    f.add(10 * MiB); // the retry sends it all again
    const figures = meter.figures();
    assert.equal(figures.doneBytes, 10 * MiB);
    assert.equal(figures.transferredBytes, 18 * MiB);
    f.end(); // it failed after all
    assert.equal(meter.figures().doneBytes, 0, 'a failed file no longer counts');
  });

  it('measures the rate over a sliding window of the recent past, and the ETA from it', () => {
    const time = fakeTime();
    const meter = createProgressMeter(time.now, { windowMs: 10_000 });
    meter.start(start(1, 1000 * MiB));
    const f = meter.track('a', 1000 * MiB);
    assert.equal(meter.figures().bytesPerSecond, null, 'no rate before anything was measured');
    assert.equal(meter.figures().etaSeconds, null);
    for (let s = 1; s <= 10; s++) {
      time.advance(1000);
      f.add(10 * MiB); // 10 MiB/s for 10 s
      meter.figures();
    }
    let figures = meter.figures();
    assert.equal(figures.bytesPerSecond, 10 * MiB);
    assert.equal(figures.etaSeconds, 90, '900 MiB left at 10 MiB/s');
    for (let s = 1; s <= 10; s++) {
      time.advance(1000);
      f.add(40 * MiB); // then 40 MiB/s
      meter.figures();
    }
    figures = meter.figures();
    assert.equal(figures.bytesPerSecond, 40 * MiB, 'the slow start has left the window');
    assert.equal(figures.etaSeconds, 13, '500 MiB left at 40 MiB/s: 12.5 s, rounded up');
    assert.equal(figures.elapsedSeconds, 20);
    time.advance(10_000);
    figures = meter.figures();
    assert.ok(figures.bytesPerSecond !== null && figures.bytesPerSecond < 40 * MiB, 'a stall brings the rate down');
  });

  it('counts a file sent again after it was counted as reused only once', () => {
    const meter = createProgressMeter(fakeTime().now);
    meter.start(start(2, 20));
    meter.fileDone({ type: 'file', path: 'a', key: 'k', action: 'reused', bytes: 0, size: 10 });
    meter.fileDone({ type: 'file', path: 'b', key: 'k', action: 'reused', bytes: 0, size: 10 });
    meter.track('a', 10).add(10);
    meter.fileDone({ type: 'file', path: 'a', key: 'k', action: 'uploaded', bytes: 10, size: 10, resent: true });
    const f = meter.figures();
    assert.deepEqual([f.doneFiles, f.reusedFiles, f.doneBytes, f.inFlightFiles, f.percent], [2, 1, 20, 0, 100]);
  });

  it('percent and ETA at the edges', () => {
    assert.equal(percentOf(0, 0, 0, 0), 100, 'nothing to do is done');
    assert.equal(percentOf(0, 0, 1, 4), 25, 'empty files go by count');
    assert.equal(percentOf(999, 1000, 0, 1), 99.9);
    assert.equal(etaOf(0, null), 0);
    assert.equal(etaOf(100, 0), null);
    assert.equal(etaOf(100, 30), 4);
  });
});

describe('progress formatting', () => {
  it('IEC units, durations, and the live line', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(117.2 * MiB), '117.2 MiB');
    assert.equal(formatRate(20 * MiB), '20.0 MiB/s');
    assert.equal(formatRate(null), '-- /s');
    assert.deepEqual([0, 42, 245, 3 * 3600 + 7 * 60].map(formatDuration), ['0s', '42s', '4m05s', '3h07m']);
    const p: ProgressEvent = {
      type: 'progress', command: 'snapshot', tag: 't', totalFiles: 19, doneFiles: 12, reusedFiles: 3, inFlightFiles: 2,
      totalBytes: 200 * MiB, doneBytes: 117.2 * MiB, transferredBytes: 117.2 * MiB, percent: 58.6, bytesPerSecond: 20 * MiB,
      etaSeconds: 4, elapsedSeconds: 6, final: false,
    };
    assert.equal(formatProgressLine(p), '58.6% 117.2 MiB / 200.0 MiB, 20.0 MiB/s, ETA 4s, 12/19 files (3 reused), 2 in flight');
    assert.equal(formatProgressLine({ ...p, command: 'restore' }), '58.6% 117.2 MiB / 200.0 MiB, 20.0 MiB/s, ETA 4s, 12/19 files (3 already present), 2 in flight');
    assert.equal(formatProgressLine({ ...p, reusedFiles: 0, bytesPerSecond: null, etaSeconds: null }),
      '58.6% 117.2 MiB / 200.0 MiB, -- /s, ETA --, 12/19 files, 2 in flight');
  });
});

describe('log writer', () => {
  const at = new Date(Date.UTC(2026, 11, 1, 3, 15, 2, 345));

  it('on a terminal: a warning goes on its own line and the live line is drawn again below it', () => {
    let out = '';
    const log = createLogWriter({ write: (s) => (out += s), isTty: true, now: () => at });
    log.live('10%');
    log.live('20%');
    log.print('warning: something\n');
    log.clearLive();
    log.print('done\n');
    assert.equal(out, '\r\x1b[K\x1b[?7l10%\x1b[?7h\r\x1b[K\x1b[?7l20%\x1b[?7h' +
      '\r\x1b[Kwarning: something\n\r\x1b[K\x1b[?7l20%\x1b[?7h' + '\r\x1b[K' + 'done\n');
  });

  it('on a terminal: no live line is drawn into the middle of another program\'s unfinished line', () => {
    let out = '';
    const log = createLogWriter({ write: (s) => (out += s), isTty: true, now: () => at });
    log.print('Requested creating');
    log.live('5%');
    log.print(' snapshot(s)\n');
    assert.equal(out, 'Requested creating snapshot(s)\n\r\x1b[K\x1b[?7l5%\x1b[?7h');
  });

  it('elsewhere: no live line, and every line starts with its UTC time, also lines that arrive in pieces', () => {
    let out = '';
    const log = createLogWriter({ write: (s) => (out += s), isTty: false, now: () => at });
    log.live('10%');
    log.print('first\nsecond\n');
    log.print('Requested ');
    log.print('creating\nnext');
    log.print(' line\n');
    assert.equal(logTimestamp(at), '2026-12-01T03:15:02Z');
    assert.equal(out, '2026-12-01T03:15:02Z first\n2026-12-01T03:15:02Z second\n2026-12-01T03:15:02Z Requested creating\n' +
      '2026-12-01T03:15:02Z next line\n');
  });
});

describe('output levels', () => {
  const events: RunEvent[] = [
    start(2, 3),
    { type: 'info', message: 'an info line' },
    { type: 'retry', what: 'put k', attempt: 1, error: 'reset' },
    { type: 'file', path: 'ks/t/a', key: 'n/ks/t/a', action: 'uploaded', bytes: 2, size: 2 },
    { type: 'file', path: 'ks/t/b', key: 'n/ks/t/b', action: 'reused', bytes: 0, size: 1 },
    { type: 'warning', message: 'a warning' },
    { type: 'summary', command: 'snapshot', tag: 't1', ok: true, files: 2, uploadedFiles: 1, reusedFiles: 1, copiedFiles: 0, bytes: 3,
      uploadedBytes: 2, seconds: 2, mbPerSecond: 0, manifest: 'm', failures: [] },
  ];
  const render = (level: OutputLevel): string[] => {
    let out = '';
    const time = fakeTime();
    const log = createLogWriter({ write: (s) => (out += s), isTty: false, now: time.date });
    const r = createHumanReporter({ log, level, isTty: false, now: time.now, every: time.every });
    for (const e of events) r.emit(e);
    return out.split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+Z /, ''));
  };

  it('quiet: warnings and the summary; normal: also start and info; verbose: also files and retries', () => {
    const summary = 'snapshot t1 complete: 2 files, 3 B (1 uploaded, 2 B; 0 copied in the store; 1 already stored) in 2.0 s, 1 B/s; manifest m';
    assert.deepEqual(render('quiet'), ['warning: a warning', summary]);
    assert.deepEqual(render('normal'), ['snapshot t1: 2 files, 3 B → s3://b/p', 'an info line', 'warning: a warning', summary]);
    assert.deepEqual(render('verbose'), ['snapshot t1: 2 files, 3 B → s3://b/p', 'an info line', 'retrying put k (attempt 2): reset',
      'uploaded ks/t/a (2 B)', 'reused ks/t/b (1 B, already stored)', 'warning: a warning', summary]);
  });

  it('--quiet with --verbose is a usage error; --json says everything', () => {
    assert.throws(() => outputLevel({ json: false, quiet: true, verbose: true }), UsageError);
    assert.throws(() => outputLevel({ json: true, quiet: true, verbose: true }), UsageError);
    assert.equal(outputLevel({ json: true, quiet: true, verbose: false }), 'verbose');
    assert.equal(outputLevel({ json: false, quiet: false, verbose: false }), 'normal');
  });

  it('quiet on a terminal draws no live line', () => {
    let out = '';
    const time = fakeTime();
    const log = createLogWriter({ write: (s) => (out += s), isTty: true, now: time.date });
    const r = createHumanReporter({ log, level: 'quiet', isTty: true, now: time.now, every: time.every });
    r.emit(start(1, 10));
    r.live.track('a', 10).add(5);
    time.advance(1000);
    assert.equal(out, '');
    assert.equal(time.running(), 0);
  });

  it('on a terminal the live line changes while one large file moves, and is gone when the transfer ends', () => {
    let out = '';
    const time = fakeTime();
    const log = createLogWriter({ write: (s) => (out += s), isTty: true, now: time.date });
    const r = createHumanReporter({ log, level: 'normal', isTty: true, now: time.now, every: time.every });
    r.emit(start(1, 200 * MiB));
    const f = r.live.track('big', 200 * MiB);
    for (let i = 0; i < 4; i++) {
      f.add(20 * MiB);
      time.advance(1000);
    }
    const drawn = [...out.matchAll(/\x1b\[\?7l([^\x1b]*)\x1b\[\?7h/g)].map((m) => m[1]);
    assert.deepEqual(drawn.slice(-4).map((l) => l?.split(',')[0]), ['10% 20.0 MiB / 200.0 MiB', '20% 40.0 MiB / 200.0 MiB',
      '30% 60.0 MiB / 200.0 MiB', '40% 80.0 MiB / 200.0 MiB']);
    assert.match(drawn.at(-1) ?? '', /, 20\.0 MiB\/s, ETA 6s, 0\/1 files, 1 in flight$/);
    r.live.end();
    assert.ok(out.endsWith('\x1b[?7h\r\x1b[K'), 'cleared at the end');
    assert.equal(time.running(), 0, 'no timer left');
  });
});

describe('after a signal', () => {
  it('the live line is neither redrawn nor cleared (the terminal may be gone) until the next line or the end', () => {
    let out = '';
    const time = fakeTime();
    const log = createLogWriter({ write: (s) => (out += s), isTty: true, now: time.date });
    const r = createHumanReporter({ log, level: 'normal', isTty: true, now: time.now, every: time.every });
    r.emit(start(1, 10));
    r.live.track('a', 10).add(5);
    time.advance(1000);
    const drawn = out;
    r.stop();
    time.advance(5000);
    r.live.end(); // the upload's clean-up ends the transfer
    assert.equal(out, drawn, 'nothing written after the signal');
    assert.equal(time.running(), 0);
    r.emit({ type: 'warning', message: 'stopping' });
    assert.equal(out.slice(drawn.length), '\r\x1b[Kwarning: stopping\n', 'the next line clears it, and it is not drawn again');
    r.close();
    assert.equal(out.slice(drawn.length), '\r\x1b[Kwarning: stopping\n');
  });
});

describe('JSON progress events', () => {
  const run = () => {
    const lines: Record<string, unknown>[] = [];
    const time = fakeTime();
    const r = createJsonReporter({ write: (s) => lines.push(JSON.parse(s) as Record<string, unknown>), now: time.date, clock: time.now, every: time.every });
    return { r, lines, time };
  };

  it('about once a second while a transfer runs, then one final one before the summary', () => {
    const { r, lines, time } = run();
    r.emit(start(1, 30 * MiB));
    const f = r.live.track('big', 30 * MiB);
    for (let i = 0; i < 3; i++) {
      f.add(10 * MiB);
      time.advance(1000);
    }
    r.emit({ type: 'file', path: 'big', key: 'k', action: 'uploaded', bytes: 30 * MiB, size: 30 * MiB });
    f.end();
    r.emit({ type: 'summary', command: 'snapshot', tag: 't1', ok: true, files: 1, uploadedFiles: 1, reusedFiles: 0, copiedFiles: 0,
      bytes: 30 * MiB, uploadedBytes: 30 * MiB, seconds: 3, mbPerSecond: 10.5, manifest: 'm', failures: [] });
    assert.deepEqual(lines.map((l) => l.type), ['start', 'progress', 'progress', 'progress', 'file', 'progress', 'summary']);
    const progress = lines.filter((l) => l.type === 'progress');
    assert.deepEqual(progress.map((p) => p.doneBytes), [10 * MiB, 20 * MiB, 30 * MiB, 30 * MiB]);
    assert.deepEqual(progress.map((p) => p.final), [false, false, false, true]);
    assert.deepEqual(progress.at(-1), { ...progress.at(-1), doneFiles: 1, totalFiles: 1, percent: 100, etaSeconds: 0, bytesPerSecond: 10 * MiB });
    assert.equal(time.running(), 0);
  });

  it('a transfer ended without a summary (restore, verify, a failure) still gets its final event; close writes nothing', () => {
    const { r, lines, time } = run();
    r.emit({ type: 'start', command: 'restore', tag: 't1', source: 's3://b/p', destination: '/r', files: 2, bytes: 2 });
    r.live.end();
    r.live.end();
    r.close();
    time.advance(5000);
    assert.deepEqual(lines.map((l) => [l.type, l.final]), [['start', undefined], ['progress', true]]);
  });

  it('every event a reporter writes is in the documented schema', () => {
    const { r, lines, time } = run();
    const schema = loadEventsSchema();
    r.emit(start(2, 20));
    r.emit({ type: 'start', command: 'verify', tag: 't1', source: 's3://b/p', files: 2, bytes: 20 });
    r.live.track('a', 10).add(4);
    time.advance(1000);
    r.emit({ type: 'file', path: 'a', key: 'k', action: 'copied', bytes: 0, size: 10 });
    r.emit({ type: 'file', path: 'a', key: 'k', action: 'uploaded', bytes: 10, size: 10, resent: true });
    r.emit({ type: 'retry', what: 'put k', attempt: 1, error: 'socket hang up' });
    r.emit({ type: 'info', message: 'i' });
    r.emit({ type: 'warning', message: 'w' });
    r.emit({ type: 'summary', command: 'snapshot', tag: 't1', ok: true, files: 1, uploadedFiles: 1, reusedFiles: 0, copiedFiles: 0,
      bytes: 1, uploadedBytes: 1, seconds: 1, mbPerSecond: 0, manifest: 'm', failures: [] });
    assert.ok(lines.length >= 10);
    for (const line of lines) assert.deepEqual(validate(schema, line), [], JSON.stringify(line));
    assert.notDeepEqual(validate(schema, { ...lines[0], undocumented: 1 }), [], 'an undocumented field fails');
    assert.notDeepEqual(validate(schema, { ...lines[0], files: 'two' }), [], 'a field of the wrong type fails');
  });

  it('createRunOutput picks the JSON reporter for --json, and sends other stderr text through the log writer', () => {
    let stdout = '';
    let stderr = '';
    const time = fakeTime();
    const output = createRunOutput({ json: true, quiet: true, verbose: false },
      { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), stderrIsTty: false, now: time.date }, time.every);
    output.reporter.emit({ type: 'info', message: 'hello' });
    output.stderr('Requested creating snapshot(s)\n');
    output.close();
    assert.match(stdout, /^\{"time":"2026-12-01T03:15:02\.000Z","type":"info","message":"hello"\}\n$/);
    assert.equal(stderr, '2026-12-01T03:15:02Z Requested creating snapshot(s)\n');
  });
});

describe('the event document', () => {
  it('describes every field the schema names, under its event or document', () => {
    const schema = loadEventsSchema() as { $defs: Record<string, { properties?: Record<string, unknown> }> };
    const text = readFileSync(join(repoRoot, 'docs', 'events.md'), 'utf8');
    const sections = new Map<string, string>();
    for (const part of text.split(/^### /m).slice(1)) sections.set(part.split('\n')[0]?.trim() ?? '', part);
    const heading: Record<string, string> = { restoreDryRun: '`restore --dry-run`', listPitr: '`list --pitr`' };
    const missing: string[] = [];
    for (const [name, def] of Object.entries(schema.$defs)) {
      if (def.properties === undefined || name === 'run') continue;
      const section = sections.get(heading[name] ?? `\`${name}\``);
      if (section === undefined) {
        missing.push(`no section for ${name}`);
        continue;
      }
      for (const field of Object.keys(def.properties)) {
        if (field === 'time' || field === 'type') continue; // described once for every event
        if (!section.includes(`\`${field}\``)) missing.push(`${name}.${field}`);
      }
    }
    for (const field of Object.keys(schema.$defs.run?.properties ?? {})) {
      if (!sections.get('`purge`')?.includes(`\`${field}\``)) missing.push(`run.${field}`);
    }
    assert.deepEqual(missing, []);
  });
});
