// Runs the real nodetool of the test environment directly (set-up and clean-up in tests).
import { execFileSync } from 'node:child_process';
import { requireEnv } from './run-cli.ts';

export function nodetool(...args: string[]): string {
  return execFileSync(requireEnv('CBR_NODETOOL'), args, { encoding: 'utf8', timeout: 300_000 });
}
