// Waits for what a running CLI (started with startCli and --json) or the bucket shows, for tests that act in the
// middle of a run: the first event that matches, or an object appearing. Bounded: a wait that times out fails.
import type { ChildProcess } from 'node:child_process';

export function waitForEvent(child: ChildProcess, matches: (event: Record<string, unknown>) => boolean,
  timeoutMs = 120_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => finish(new Error(`no matching event within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const event = JSON.parse(line) as Record<string, unknown>;
        if (matches(event)) return finish(undefined, event);
      }
    };
    const onExit = (): void => finish(new Error('the run ended before the event'));
    const finish = (err: Error | undefined, event?: Record<string, unknown>): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(event ?? {});
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
