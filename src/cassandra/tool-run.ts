// Runs one of Cassandra's own tools other than nodetool (the bulk loader, cqlsh) as a subprocess: its output goes
// to our stderr as it happens (stdout may carry --json), a bounded tail is kept for the error message, and a failure
// is a NodetoolError (exit 3: a Cassandra tool failed) naming the tool and its last lines.
import type { Writable } from 'node:stream';
import { NodetoolError } from '../errors.ts';
import type { ExecFn } from './nodetool.ts';

export interface ToolDeps {
  readonly exec: ExecFn;
  /** Where the tool's output is shown; undefined keeps it quiet (the tail is still kept). */
  readonly output: Writable | undefined;
  readonly signal: AbortSignal;
}

const TAIL = 8;

export async function runCassandraTool(deps: ToolDeps, name: string, path: string, args: readonly string[]): Promise<{ tail: string[] }> {
  const child = deps.exec(path, args, {
    reject: false, buffer: false, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', forceKillAfterDelay: 5_000, cancelSignal: deps.signal,
  });
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    stream.setEncoding('utf8');
    let partial = '';
    stream.on('data', (chunk: string) => {
      deps.output?.write(chunk);
      const lines = (partial + chunk).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '' && !/^\s+at /.test(line)) tail.push(line);
      tail.splice(0, Math.max(0, tail.length - TAIL));
    });
  }
  const outcome = await child;
  const last = tail.at(-1);
  if (outcome.code === 'ENOENT') throw new NodetoolError(`${name} not found at ${path}: pass its path (it ships in Cassandra's bin/ directory)`);
  if (outcome.code === 'EACCES') throw new NodetoolError(`${name} at ${path} is not executable`);
  if (outcome.isCanceled) throw new NodetoolError(`${name} was cancelled`);
  if (outcome.signal !== undefined) throw new NodetoolError(`${name} was killed by ${outcome.signal}`);
  if (outcome.exitCode !== 0) {
    throw new NodetoolError(`${name} exited with status ${outcome.exitCode ?? '?'}${last === undefined ? '' : `: ${last}`}`,
      { stderrTail: tail.join('\n'), ...(outcome.exitCode !== undefined && { exitCode: outcome.exitCode }) });
  }
  return { tail };
}

/** A sibling of the nodetool executable (Cassandra's bin/ holds them together), else the bare name for PATH. */
export function besideNodetool(nodetool: string, tool: string): string {
  const slash = nodetool.lastIndexOf('/');
  return slash < 0 ? tool : `${nodetool.slice(0, slash + 1)}${tool}`;
}
