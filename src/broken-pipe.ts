// A reader that goes away (`list | head -1`, `--json … | true`, a log shipper that died) closes the pipe, and writes
// to it fail with EPIPE (Node ignores SIGPIPE, which would otherwise end the process). As a shell expects of a program
// whose reader went away, the run stops (a backup as if interrupted: multipart uploads aborted, lock and lease
// released, no manifest), nothing more is written to the closed stream, and the exit code is 141 (128 + SIGPIPE).
// Other write errors on a standard stream (a full log disk) lose that stream's output but do not stop the run.

export type StdStreamName = 'stdout' | 'stderr';

/** What is needed of process.stdout / process.stderr. */
export interface StdStream {
  on(event: 'error', listener: (err: Error) => void): unknown;
}

export interface BrokenPipes {
  /** Aborted when a reader closes stdout or stderr. */
  readonly signal: AbortSignal;
  /** The first stream whose reader went away, if any. */
  closed(): StdStreamName | undefined;
  /** Whether the stream may still be written to. */
  writable(name: StdStreamName): boolean;
  /** Whether err is only this module's abort (the run had nothing else to say). */
  isOwnAbort(err: unknown): boolean;
}

export function watchBrokenPipes(streams: Readonly<Record<StdStreamName, StdStream>>): BrokenPipes {
  const stop = new AbortController();
  const failed = new Set<StdStreamName>();
  let first: StdStreamName | undefined;
  for (const name of ['stdout', 'stderr'] as const) {
    streams[name].on('error', (err) => {
      failed.add(name);
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE' || first !== undefined) return;
      first = name;
      stop.abort(new Error(`${name} was closed (EPIPE)`));
    });
  }
  return {
    signal: stop.signal,
    closed: () => first,
    writable: (name) => !failed.has(name),
    isOwnAbort: (err) => err === stop.signal.reason || (stop.signal.aborted && err instanceof Error && err.name === 'AbortError'),
  };
}

/** The final line of a run stopped by a closed stream: which one, then what the run said as it stopped. */
export function brokenPipeMessage(name: StdStreamName, runMessage: string): string {
  return `${name} was closed (EPIPE), so the run stopped: ${runMessage.replace(/^(stdout|stderr) was closed \(EPIPE\)[.;:,]?\s*/, '')}`;
}
