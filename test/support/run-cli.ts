// Runs the built CLI (dist/entry.js, the package's bin) as a subprocess, the way an operator or cron would.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const cliPath = join(repoRoot, 'dist', 'entry.js');

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A loopback port nothing listens on: metadata probes aimed here fail at once. */
export const CLOSED_PORT_HOST = '127.0.0.1:9';

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run \`scripts/testenv.sh up\` and \`source .testenv/env.sh\` before the e2e tests`);
  }
  return value;
}

/**
 * The environment a test run gets: nothing from the developer's shell that could change the result (no AWS_*
 * or CASS_BACKUP_*), metadata probes pointed at closed loopback ports unless the test says otherwise, and a state
 * directory of its own (as root the default is the machine's /var/lib/cass-backup-run, whose remembered identity
 * would be shared by every test and developer).
 */
export function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: mkdtempSync(join(tmpdir(), 'cbr-home-')),
    LANG: 'C.UTF-8',
    AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${CLOSED_PORT_HOST}`,
    GCE_METADATA_HOST: CLOSED_PORT_HOST,
    AZURE_METADATA_ENDPOINT: `http://${CLOSED_PORT_HOST}`,
    CASS_BACKUP_METADATA_TIMEOUT_MS: '2000',
    CASS_BACKUP_RETRY_DELAY_MS: '50',
    CASS_BACKUP_STATE_DIR: tempDir('state'),
  };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * The program and arguments that run the CLI, optionally through a wrapper command given as its argv prefix (e.g.
 * `['sh', '-c', 'trap "" INT; exec "$0" "$@"']`, which starts it with SIGINT ignored like a background job).
 */
function cliCommand(args: readonly string[], via: readonly string[]): [string, string[]] {
  const [wrapper, ...wrapperArgs] = via;
  return wrapper === undefined ? [process.execPath, [cliPath, ...args]] : [wrapper, [...wrapperArgs, process.execPath, cliPath, ...args]];
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000, via: readonly string[] = []): Promise<CliResult> {
  const [program, argv] = cliCommand(args, via);
  return runProgram(program, argv, env, timeoutMs);
}

/** `sh -c` script for `unshare --uts`: set the namespace's hostname ($0), then become the command ("$@"). */
const AS_HOST = 'hostname "$0" && exec "$@"';

/**
 * Runs the CLI as if on a host named `hostname`: in a UTS namespace of its own (`unshare --uts`, which needs root),
 * where os.hostname() is `hostname` while the machine keeps its name.
 */
export function runCliAs(hostname: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000): Promise<CliResult> {
  return runCli(args, env, timeoutMs, ['unshare', '--uts', 'sh', '-c', AS_HOST, hostname]);
}

/** Fails, saying why, when this machine cannot give a process a hostname of its own (runCliAs needs that). */
export async function requireOwnHostnames(): Promise<void> {
  const name = 'cbr-uts-check.example.com';
  const run = await runProgram('unshare', ['--uts', 'sh', '-c', AS_HOST, name, 'hostname'], { PATH: process.env.PATH }, 30_000)
    .catch((err: unknown) => ({ exitCode: -1, stdout: '', stderr: err instanceof Error ? err.message : String(err) }));
  if (run.exitCode !== 0 || run.stdout.trim() !== name) {
    throw new Error(`this test runs the CLI under other hostnames with \`unshare --uts\` (root or CAP_SYS_ADMIN needed), ` +
      `which failed here (exit ${run.exitCode}): ${run.stderr.trim() || run.stdout.trim()}`);
  }
}

/** Runs any program (e.g. the single executable, or the CLI under another Node) to its end. */
export function runProgram(file: string, argv: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(file, argv, { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`cli did not finish: ${err.message}\n${stderr}`));
      resolve({ exitCode: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** Starts the CLI without waiting, for tests that need two runs at once. */
export function startCli(
  args: readonly string[], env: NodeJS.ProcessEnv, via: readonly string[] = [],
): { child: ChildProcess; done: Promise<CliResult> } {
  const [program, argv] = cliCommand(args, via);
  const child = spawn(program, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ exitCode: code ?? -1, stdout, stderr })));
  return { child, done };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `cbr-${prefix}-`));
}

/** The summary event of a --json run. */
export function jsonEvents(stdout: string): Record<string, unknown>[] {
  return stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}
