// Runs nodetool as a subprocess. The operator sees its output as it happens (on our stderr, since our stdout may
// carry --json); we keep only a bounded tail of it, because a repair can print for hours.
import type { Readable, Writable } from 'node:stream';
import { joinRing, parseKeyspaces, parsePartitioner, parseRingTokens, parseStatus, type KeyspaceReplication, type RingMember } from './ring.ts';
import { NodetoolError, UsageError } from '../errors.ts';
import { generateTag, validateTag } from './layout.ts';
import { parseGeneration, reusable, type ClusterFacts, type FactsCache } from './facts-cache.ts';

/** The options this module passes; execa accepts them as they are. */
export interface ExecOptions {
  readonly reject: false;
  readonly buffer: false;
  readonly stdin: 'ignore';
  readonly stdout: 'pipe';
  readonly stderr: 'pipe';
  readonly timeout?: number;
  readonly cancelSignal?: AbortSignal;
  readonly forceKillAfterDelay: number;
}

/** What the finished subprocess reports (a subset of execa's result, which it also has on failure). */
export interface ExecOutcome {
  readonly exitCode?: number;
  readonly signal?: string;
  readonly failed: boolean;
  readonly timedOut: boolean;
  readonly isCanceled: boolean;
  /** Node's error code when the process could not be spawned, e.g. ENOENT. */
  readonly code?: string;
}

export interface ExecChild extends PromiseLike<ExecOutcome> {
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
}

/** `execa` satisfies this; so can a test double, though tests here use execa with a fake script. */
export type ExecFn = (file: string, args: readonly string[], options: ExecOptions) => ExecChild;

export interface NodetoolConnection {
  readonly host?: string;
  readonly port?: number;
  readonly username?: string;
  /** A file holding the JMX password; the password itself never goes on a command line. */
  readonly passwordFile?: string;
}

export interface NodetoolDeps {
  readonly exec: ExecFn;
  /** The nodetool executable. */
  readonly path: string;
  readonly connection: NodetoolConnection;
  /** Copy nodetool's stdout and stderr to `output` as they arrive. */
  readonly passthrough: boolean;
  /** Where passthrough goes; the caller's stderr when omitted. */
  readonly output?: Writable;
  /** Kill nodetool after this long (none when omitted); queries made by info() use at most QUERY_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** Aborting kills the running nodetool (e.g. on SIGINT). */
  readonly signal?: AbortSignal;
  /** Lets info() reuse what describecluster said before, by the rule of facts-cache.ts; always read when omitted. */
  readonly factsCache?: FactsCache;
}

export interface RunOptions {
  /** Keep all of stdout (bounded by MAX_CAPTURE) and do not pass it through: for commands whose output we parse. */
  readonly capture?: boolean;
  readonly timeoutMs?: number;
}

export interface RunResult {
  /** The argv after the connection options, starting with the subcommand. */
  readonly args: string[];
  /** All of stdout when `capture` was set, else empty. */
  readonly stdout: string;
  /** The last lines nodetool printed (stdout and stderr, Java stack traces left out). */
  readonly outputTail: string;
}

export interface NodeInfo {
  readonly hostId?: string;
  readonly clusterName?: string;
  readonly version?: string;
  readonly tokens?: string[];
  readonly dataCenter?: string;
  readonly rack?: string;
  readonly partitioner?: string;
  /** Every keyspace's replication, as `nodetool describecluster` lists them. */
  readonly keyspaces?: KeyspaceReplication[];
}

export interface Nodetool {
  run(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Adds `-t <generated tag>` unless args name a tag; returns the tag and the argv that ran. */
  snapshot(args: readonly string[]): Promise<{ tag: string; args: string[] }>;
  clearSnapshot(tag: string, keyspaces?: readonly string[]): Promise<RunResult>;
  repair(args: readonly string[]): Promise<RunResult>;
  flush(keyspaces?: readonly string[]): Promise<RunResult>;
  /** Best effort: fields nodetool could not give are omitted; never throws. */
  info(): Promise<NodeInfo>;
  /** The ring as this node sees it (`nodetool status` and `nodetool ring`); throws when nodetool fails. */
  ring(): Promise<RingMember[]>;
}

export const TAIL_LINES = 10;
export const QUERY_TIMEOUT_MS = 60_000;
const MAX_CAPTURE = 1024 * 1024;
const FORCE_KILL_AFTER_MS = 5_000;

export function createNodetool(deps: NodetoolDeps): Nodetool {
  const run = (args: readonly string[], options: RunOptions = {}): Promise<RunResult> =>
    runNodetool(deps, [...args], options);
  return {
    run,
    snapshot: async (args) => {
      const { tag, args: withTag } = ensureSnapshotTag(args, () => generateTag(new Date()));
      const result = await run(['snapshot', ...withTag]);
      return { tag, args: result.args };
    },
    clearSnapshot: async (tag, keyspaces = []) => run(['clearsnapshot', '-t', validateTag(tag), ...keyspaces]),
    repair: (args) => run(['repair', ...args]),
    flush: (keyspaces = []) => run(['flush', ...keyspaces]),
    info: () => queryInfo(run, Math.min(deps.timeoutMs ?? QUERY_TIMEOUT_MS, QUERY_TIMEOUT_MS), deps.factsCache),
    ring: async () => {
      const timeoutMs = Math.min(deps.timeoutMs ?? QUERY_TIMEOUT_MS, QUERY_TIMEOUT_MS);
      const [status, ring] = await Promise.all([run(['status'], { capture: true, timeoutMs }), run(['ring'], { capture: true, timeoutMs })]);
      const members = joinRing(parseStatus(status.stdout), parseRingTokens(ring.stdout));
      if (members.length === 0) throw new NodetoolError('nodetool status listed no node: cannot tell the ring of this cluster');
      return members;
    },
  };
}

/** `-h H -p P -u U -pwf FILE`, only for what is set. */
export function connectionArgs(connection: NodetoolConnection): string[] {
  const args: string[] = [];
  if (connection.host !== undefined) args.push('-h', connection.host);
  if (connection.port !== undefined) args.push('-p', String(connection.port));
  if (connection.username !== undefined) args.push('-u', connection.username);
  if (connection.passwordFile !== undefined) args.push('-pwf', connection.passwordFile);
  return args;
}

/**
 * Finds the tag in `nodetool snapshot` args (`-t X`, `--tag X`, `-t=X`, `--tag=X`, before any `--`), or puts
 * `-t <generated>` in front. UsageError for a missing or unsafe tag value.
 */
export function ensureSnapshotTag(args: readonly string[], generate: () => string): { tag: string; args: string[] } {
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '--') break;
    if (arg === '-t' || arg === '--tag') {
      const value = args[i + 1];
      if (value === undefined || value === '--') throw new UsageError(`${arg} needs a snapshot tag`);
      return { tag: validateTag(value), args: [...args] };
    }
    const inline = /^(?:-t|--tag)=(.*)$/.exec(arg);
    if (inline) return { tag: validateTag(inline[1] ?? ''), args: [...args] };
  }
  const tag = generate();
  return { tag, args: ['-t', tag, ...args] };
}

async function runNodetool(deps: NodetoolDeps, args: string[], options: RunOptions): Promise<RunResult> {
  const collector = new OutputCollector(options.capture === true);
  const timeoutMs = options.timeoutMs ?? deps.timeoutMs;
  const child = deps.exec(deps.path, [...connectionArgs(deps.connection), ...args], execOptions(deps, timeoutMs));
  const output = deps.passthrough ? (deps.output ?? process.stderr) : undefined;
  follow(child.stdout, 'stdout', collector, options.capture === true ? undefined : output);
  follow(child.stderr, 'stderr', collector, output);
  const outcome = await child;
  const failure = describeFailure({ path: deps.path, command: subcommand(args), outcome, reason: collector.reason(), timeoutMs });
  if (failure !== undefined) {
    throw new NodetoolError(failure, { stderrTail: collector.tail(), ...exitCodeOf(outcome) });
  }
  return { args, stdout: collector.stdout(), outputTail: collector.tail() };
}

// Not execa's default buffering: we follow the streams ourselves and keep a bounded tail.
function execOptions(deps: NodetoolDeps, timeoutMs: number | undefined): ExecOptions {
  return {
    reject: false,
    buffer: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    forceKillAfterDelay: FORCE_KILL_AFTER_MS,
    ...(deps.signal !== undefined && { cancelSignal: deps.signal }),
    ...(timeoutMs !== undefined && { timeout: timeoutMs }),
  };
}

function exitCodeOf(outcome: ExecOutcome): { exitCode?: number } {
  return outcome.exitCode === undefined ? {} : { exitCode: outcome.exitCode };
}

function follow(stream: Readable | null, name: StreamName, collector: OutputCollector, output?: Writable): void {
  if (stream === null) return;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    collector.add(name, chunk);
    output?.write(chunk);
  });
}

// The first word that is not an option, e.g. `snapshot`, for messages.
function subcommand(args: readonly string[]): string {
  return args.find((a) => !a.startsWith('-')) ?? '';
}

export interface FailureFacts {
  readonly path: string;
  /** The nodetool subcommand, e.g. `snapshot`. */
  readonly command: string;
  readonly outcome: ExecOutcome;
  /** The first `error: …`/`nodetool: …` line nodetool printed. */
  readonly reason?: string | undefined;
  readonly timeoutMs?: number | undefined;
}

/** One line saying why nodetool failed, or undefined when it succeeded. */
export function describeFailure({ path, command, outcome, reason, timeoutMs }: FailureFacts): string | undefined {
  const what = command === '' ? 'nodetool' : `nodetool ${command}`;
  if (outcome.code === 'ENOENT') return `nodetool not found at ${path}`;
  if (outcome.code === 'EACCES') return `nodetool at ${path} is not executable`;
  if (outcome.timedOut) return `${what} timed out after ${formatSeconds(timeoutMs)} and was killed`;
  if (outcome.isCanceled) return `${what} was cancelled`;
  if (outcome.signal !== undefined) return `${what} was killed by ${outcome.signal}`;
  if (outcome.exitCode === undefined) {
    return outcome.failed ? `${what} could not be run (${outcome.code ?? 'unknown error'})` : undefined;
  }
  if (outcome.exitCode === 0) return undefined;
  return `${what} exited with status ${outcome.exitCode}${reason === undefined ? '' : `: ${reason}`}`;
}

function formatSeconds(ms: number | undefined): string {
  return ms === undefined ? 'its time limit' : `${Math.round(ms / 100) / 10} s`;
}

type StreamName = 'stdout' | 'stderr';

/**
 * Keeps the last TAIL_LINES lines of both streams in arrival order, leaving out Java stack traces (nodetool prints
 * `-- StackTrace --` and then the trace to stderr, which would push the real error out of the tail), the first
 * `error: …`/`nodetool: …` line as the reason, and optionally all of stdout.
 */
class OutputCollector {
  private readonly lines: string[] = [];
  private readonly partial: Record<StreamName, string> = { stdout: '', stderr: '' };
  private readonly inTrace: Record<StreamName, boolean> = { stdout: false, stderr: false };
  private firstReason: string | undefined;
  private captured = '';
  private readonly capture: boolean;

  constructor(capture: boolean) {
    this.capture = capture;
  }

  add(stream: StreamName, chunk: string): void {
    if (stream === 'stdout' && this.capture && this.captured.length < MAX_CAPTURE) this.captured += chunk;
    const pieces = (this.partial[stream] + chunk).split(/\r?\n/);
    this.partial[stream] = pieces.pop() ?? '';
    for (const line of pieces) this.addLine(stream, line);
  }

  private addLine(stream: StreamName, line: string): void {
    if (line.trim() === '-- StackTrace --') this.inTrace[stream] = true;
    if (this.inTrace[stream] || line.trim() === '') return;
    this.firstReason ??= /^(?:error|nodetool): (.+)$/.exec(line)?.[1]?.trim();
    this.lines.push(line);
    if (this.lines.length > TAIL_LINES) this.lines.shift();
  }

  tail(): string {
    const rest = (['stdout', 'stderr'] as const).map((s) => (this.inTrace[s] ? '' : this.partial[s])).filter((p) => p.trim() !== '');
    return [...this.lines, ...rest].slice(-TAIL_LINES).join('\n');
  }

  reason(): string | undefined {
    return this.firstReason;
  }

  stdout(): string {
    return this.captured;
  }
}

type Run = (args: readonly string[], options?: RunOptions) => Promise<RunResult>;

async function queryInfo(run: Run, timeoutMs: number, cache: FactsCache | undefined): Promise<NodeInfo> {
  const query = async (args: string[]): Promise<string> => {
    try {
      return (await run(args, { capture: true, timeoutMs })).stdout;
    } catch {
      return ''; // best effort: the manifest simply lacks what nodetool could not tell
    }
  };
  // Each nodetool call is a JVM start (over a CPU-second). info -T always runs (host id, tokens, DC, rack, and the
  // gossip generation). describecluster runs with it, in parallel, unless the state directory remembers its facts
  // for this very schema on disk; they are then reused if info confirms the same host id and generation.
  const infoText = query(['info', '-T']);
  const recalled = await (cache?.recall() ?? Promise.resolve(undefined)).catch(() => undefined);
  const candidate = recalled?.remembered !== undefined && recalled.remembered.schema === recalled.schema ? recalled.remembered : undefined;
  const cluster = candidate === undefined ? query(['describecluster']) : undefined;
  const text = await infoText;
  const local = parseInfo(text);
  const key = { hostId: local.hostId, generation: parseGeneration(text), schema: recalled?.schema };
  if (reusable(candidate, key)) return { ...local, ...candidate.facts };
  const facts = await clusterFacts(await (cluster ?? query(['describecluster'])), query);
  if (cache !== undefined && key.hostId !== undefined && key.generation !== undefined && key.schema !== undefined &&
    facts.keyspaces !== undefined && facts.version !== undefined) {
    await cache.remember({ hostId: key.hostId, generation: key.generation, schema: key.schema, facts });
  }
  return { ...local, ...facts };
}

/**
 * describecluster's facts. It also names the release when the cluster runs one, so `nodetool version` runs only
 * during a mixed-version (rolling upgrade) window.
 */
async function clusterFacts(described: string, query: (args: string[]) => Promise<string>): Promise<ClusterFacts> {
  const facts = parseDescribeCluster(described);
  return facts.version !== undefined ? facts : { ...facts, ...parseVersion(await query(['version'])) };
}

/** Parses `nodetool info -T` (`Key   : value` lines; one `Token : t` line per token). */
export function parseInfo(text: string): Pick<NodeInfo, 'hostId' | 'tokens' | 'dataCenter' | 'rack'> {
  const fields = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z][\w ()-]*?)\s*:\s*(.*?)\s*$/.exec(line);
    if (m?.[1] === undefined || m[2] === undefined || m[2] === '') continue;
    fields.set(m[1], [...(fields.get(m[1]) ?? []), m[2]]);
  }
  // Without -T, or with many tokens, nodetool prints "(invoke with -T/--tokens to see all N tokens)" instead.
  const tokens = (fields.get('Token') ?? []).filter((t) => !t.startsWith('('));
  return {
    ...optional('hostId', fields.get('ID')?.[0]),
    ...(tokens.length > 0 && { tokens }),
    ...optional('dataCenter', fields.get('Data Center')?.[0]),
    ...optional('rack', fields.get('Rack')?.[0]),
  };
}

/**
 * The cluster's name (`Name: <cluster>`), partitioner and keyspaces of `nodetool describecluster`, and the release
 * when `Database versions:` lists only one (every node, this one included, runs it).
 */
export function parseDescribeCluster(text: string): Pick<NodeInfo, 'clusterName' | 'partitioner' | 'keyspaces' | 'version'> {
  const keyspaces = parseKeyspaces(text);
  const versions = /^\s*Database versions:[ \t]*\n((?:[ \t]+\S+: \[[^\]]*\][ \t]*(?:\n|$))+)/m.exec(text)?.[1]?.trim().split('\n') ?? [];
  const only = versions.length === 1 ? /^\s*(\S+?):/.exec(versions[0] ?? '')?.[1] : undefined;
  return {
    ...optional('version', only),
    ...optional('clusterName', /^\s*Name:\s*(.+?)\s*$/m.exec(text)?.[1]),
    ...optional('partitioner', parsePartitioner(text)),
    ...(keyspaces.length > 0 ? { keyspaces } : {}),
  };
}

/** Parses `ReleaseVersion: 5.0.8`. */
export function parseVersion(text: string): Pick<NodeInfo, 'version'> {
  return optional('version', /^\s*ReleaseVersion:\s*(\S+)/m.exec(text)?.[1]);
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined || value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}
