// The program, loaded by src/entry.ts once the Node version is known to be good, and the only module that touches
// `process`: argv, env, stdio, signals and the exit code.
// A signal stops the run as src/interrupt.ts describes; whatever happens, the run ends with at most one error line.
import { hostname } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { execa } from 'execa';
import { runApp, type AppState } from './app.ts';
import { ExitCode, exitCodeFor } from './exit-codes.ts';
import {
  CleanupIncompleteError, IncompleteError, LockedError, NodetoolError, SourceReadError, StorageError, UnsafePathError, UsageError,
} from './errors.ts';
import { redact } from './redact.ts';
import { interruptedMessage, watchInterrupts, type InterruptSignal } from './interrupt.ts';
import { batchedWriter } from './output/batched-writer.ts';
import { packageVersion } from './version.ts';
import { brokenPipeMessage, watchBrokenPipes } from './broken-pipe.ts';

// Bounded memory on big machines: V8 sizes its heap to the machine (a 24 GiB host lets the young generation grow
// to tens of MiB and the old one to ~4x its live data), so the per-file garbage of a 100,000-file backup showed as
// 451 MiB RSS. Keeping the young generation at its initial size and growing the old one by 30 % per collection
// brought that to 237 MiB at the same speed (bench/README.md, Memory). Set before any real work starts.
setFlagsFromString('--semi-space-growth-factor=1');
setFlagsFromString('--heap-growing-percent=30');
const pipes = watchBrokenPipes({ stdout: process.stdout, stderr: process.stderr });
const stdout = batchedWriter((t) => void (pipes.writable('stdout') && process.stdout.write(t)));
const writeStderr = (t: string): void => void (pipes.writable('stderr') && process.stderr.write(t));

const appState: AppState = { json: false };

async function main(): Promise<number> {
  const version = packageVersion();
  const state = appState;
  const abort = new AbortController();
  const interrupts = watchInterrupts({
    listen: (sig, onSignal) => void process.on(sig, onSignal),
    abort: (reason) => abort.abort(reason),
    startTimer: (onTimeout, ms) => void setTimeout(onTimeout, ms).unref(),
    exitNow: (message) => exitAfterOutput(reportLine(ExitCode.incomplete, message, [], state)),
  });
  try {
    await runApp({
      args: process.argv.slice(2), env: process.env, version, hostname: hostname(), pid: process.pid, ppid: process.ppid,
      isRoot: process.getuid?.() === 0, exec: execa, signal: AbortSignal.any([abort.signal, pipes.signal]), now: () => new Date(),
      stdout: (t) => stdout.write(t), stderr: writeStderr,
      stderrIsTty: Boolean(process.stderr.isTTY),
    }, state);
  } catch (err) {
    return reportFailure(err, state, interrupts.received());
  }
  if (pipes.closed() !== undefined) return ExitCode.brokenPipe; // the output was cut short: quietly, as `… | head` expects
  const signal = interrupts.received();
  return signal === undefined ? ExitCode.ok : reportLine(ExitCode.incomplete, interruptedMessage(signal, undefined), [], state);
}

/** An interrupted run's failure is one line (the signal, then the run's message); others may add details. */
function reportFailure(err: unknown, state: AppState, signal: InterruptSignal | undefined): number {
  const code = exitCodeFor(err);
  const message = redact(err instanceof Error ? err.message : String(err), process.env);
  const closed = pipes.closed();
  if (closed !== undefined) {
    // Quiet when stopping was all there was to it; otherwise one line says what the stopped run left undone.
    return pipes.isOwnAbort(err) ? ExitCode.brokenPipe : reportLine(ExitCode.brokenPipe, brokenPipeMessage(closed, message), [], state, err);
  }
  if (signal !== undefined) return reportLine(code, interruptedMessage(signal, message), [], state, err);
  const details: string[] = [];
  if (err instanceof IncompleteError) details.push(...err.failures.slice(0, 20).map((f) => `  - ${redact(f, process.env)}`));
  if (!(err instanceof Error) || !knownError(err)) details.push(...stackOf(err));
  return reportLine(code, message, details, state, err);
}

/** The exit code of the first outcome reported: a run ends with exactly one error line, whatever else arrives. */
let reported: number | undefined;

function reportLine(code: number, message: string, details: readonly string[], state: AppState, err?: unknown): number {
  if (reported !== undefined) return reported;
  reported = code;
  stdout.flush();
  if (state.json && pipes.writable('stdout')) {
    // nodetool's own output already went to stderr as it ran; JSON consumers get its tail here.
    const tail = err instanceof NodetoolError && err.stderrTail ? { nodetoolOutputTail: redact(err.stderrTail, process.env) } : {};
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), type: 'error', exitCode: code, message, details, ...tail })}\n`);
  }
  writeStderr(`cass-backup-run: error: ${message}\n${details.map((d) => `${redact(d, process.env)}\n`).join('')}`);
  return code;
}

function knownError(err: Error): boolean {
  return [UsageError, UnsafePathError, NodetoolError, LockedError, StorageError, IncompleteError, CleanupIncompleteError, SourceReadError]
    .some((c) => err instanceof c);
}

function stackOf(err: unknown): string[] {
  return err instanceof Error && err.stack ? err.stack.split('\n').slice(1, 6) : [];
}

// Exit once output is flushed, not when every handle is gone: a library may keep an abandoned request (e.g. a
// stalled upload that was retried elsewhere) open for minutes, and cron must not wait for it.
// A reader that went away while the last output was on its way is known only then (its 'error' event follows the
// failed write by a tick): the exit code is chosen after that, as 141 if a pipe was closed.
function exitAfterOutput(code: number): void {
  stdout.flush();
  const exit = (): void => void setImmediate(() => process.exit(pipes.closed() === undefined ? code : ExitCode.brokenPipe));
  const afterStderr = (): void => void (pipes.writable('stderr') ? process.stderr.write('', exit) : exit());
  if (pipes.writable('stdout')) process.stdout.write('', afterStderr);
  else afterStderr();
}

// A command whose work stopped without settling (a stream that never ended) would let the event loop run dry, and
// Node would exit 0: success that is not true. If that happens, the run fails as incomplete, in one line.
let settled = false;
process.once('beforeExit', () => {
  if (settled) return;
  exitAfterOutput(reportLine(ExitCode.incomplete, 'internal error: the command stopped before it finished (nothing it did not ' +
    'report is complete); run it again, and report this with --verbose output', [], appState));
});

// Not a top-level await: the single executable's bundle is CommonJS (scripts/binary/bundle.ts).
void main().then((code) => {
  settled = true;
  exitAfterOutput(code);
});
