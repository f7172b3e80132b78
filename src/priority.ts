// --low-priority: the node keeps serving while a backup runs. CPU: nice 19; disk: the idle I/O class (ionice -c3),
// which, like `nice`, child processes (nodetool) inherit.
import { setPriority } from 'node:os';
import type { ExecFn } from './cassandra/nodetool.ts';

export interface PriorityResult {
  readonly nice: boolean;
  readonly ioIdle: boolean;
}

export async function lowerPriority(pid: number, exec: ExecFn): Promise<PriorityResult> {
  let nice = false;
  try {
    setPriority(pid, 19);
    nice = true;
  } catch {
    // not permitted here; the backup still runs
  }
  const outcome = await exec('ionice', ['-c', '3', '-p', String(pid)], {
    reject: false, buffer: false, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', timeout: 5000, forceKillAfterDelay: 1000,
  });
  return { nice, ioIdle: !outcome.failed && outcome.exitCode === 0 };
}
