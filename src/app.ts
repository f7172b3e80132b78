// Wiring: turns parsed options into the real ports (cloud, node id, data dirs, backend, nodetool, lock) and
// dispatches to a command. Everything process-specific arrives in `AppIo` from main.ts.
import { join } from 'node:path';
import { CleanupIncompleteError, UsageError } from './errors.ts';
import { exitCodeFor } from './exit-codes.ts';
import type { RunEvent } from './report.ts';
import { recordRun } from './output/prometheus.ts';
import { lowerPriority } from './priority.ts';
import { fileSnapshotRegistry } from './snapshot-registry.ts';
import { fileHostIdMemory } from './remembered-host-id.ts';
import { usableStateDir } from './state-dir-check.ts';
import { readBootId } from './boot-id.ts';
import { hostIdPath, nodeFactsPath } from './state-dir.ts';
import { fileFactsCache } from './cassandra/facts-cache.ts';
import { assertFreeSpace, parseFreeSpaceRule } from './disk-space.ts';
import { createRateLimiter, throttle } from './upload/throttle.ts';
import { parseSize } from './config/options.ts';
import type { LocalFilesPort } from './commands/context.ts';
import { homedir } from 'node:os';
import { Writable, pipeline } from 'node:stream';
import { parseCommandLine, type ParsedCommand } from './cli.ts';
import type { GlobalOptions } from './config/options.ts';
import { effectiveOptions, type EffectiveOptions } from './config/effective-options.ts';
import { resolveDestination, describeDestination, parseDestination, type Destination } from './config/destination.ts';
import { shortHostname } from './cloud/node-id.ts';
import { identifyMachine, identifyNode } from './node-identity.ts';
import { readCassandraYamlFacts, type CassandraYamlFacts } from './cassandra/data-dirs.ts';
import { createNodetool, type ExecFn } from './cassandra/nodetool.ts';
import { enumerateBackups, enumerateSnapshot, hasTableDirectories, snapshotExists } from './cassandra/enumerate.ts';
import { openBackend, type OpenBackendOptions } from './storage/open.ts';
import { backendOptionsFor } from './storage/backend-options.ts';
import type { CatalogContext } from './commands/catalog-context.ts';
import type { Backend } from './storage/backend.ts';
import { dispatchCatalog, isCatalogCommand } from './commands/catalog-dispatch.ts';
import type { ClusterRestoreTools } from './commands/cluster-restore.ts';
import { createLocalFiles } from './local-files.ts';
import { acquireLock, type Lock } from './lock.ts';
import { createRunOutput } from './output/run-output.ts';
import { silentReporter, type Reporter } from './report.ts';
import type { BackupContext } from './commands/context.ts';
import { snapshotCommand } from './commands/snapshot.ts';
import { repairCommand } from './commands/repair.ts';
import { incrementalCommand } from './commands/incremental.ts';
import { formatDetectReport, optionSources } from './commands/detect.ts';
import { connectionFromArgs } from './cassandra/connection-args.ts';
import { resumeCommand } from './config/resume-command.ts';
import { encryptionOption } from './crypto/crypto-options.ts';
import { archiveCommitLog, commitLogsWiring } from './commands/commitlog-wiring.ts';
import { inspectArchiving } from './commitlog/archiving-setup.ts';
import { globalOptions } from './config/options.ts';

export interface AppIo {
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stderrIsTty: boolean;
  readonly hostname: string;
  readonly pid: number;
  readonly ppid?: number;
  readonly isRoot: boolean;
  readonly exec: ExecFn;
  readonly signal: AbortSignal;
  readonly version: string;
  readonly now: () => Date;
}

/** What main.ts needs to render a failure: the reporter (for --json) once options are known. */
export interface AppState {
  reporter?: Reporter;
  json: boolean;
}

export async function runApp(io: AppIo, state: AppState): Promise<void> {
  const outcome = await parseCommandLine(io.args, io.version);
  if (outcome.kind === 'print') {
    io.stdout(outcome.text.endsWith('\n') ? outcome.text : `${outcome.text}\n`);
    return;
  }
  // Before any configuration is read: archive_command must depend on nothing but the segment and the staging directory.
  if (outcome.parsed.command === 'archive-commitlog') {
    const raw = outcome.parsed.raw;
    return archiveCommitLog(outcome.parsed, io, async (bounded) => {
      const { options } = await effectiveOptions(raw, bounded.env);
      return { options, catalog: await buildCatalogContext(options, bounded, silentReporter) };
    });
  }
  const effective = await effectiveOptions(outcome.parsed.raw, io.env);
  const { options: opts } = effective;
  state.json = opts.json;
  const output = createRunOutput(opts, io);
  // A signal: no more redraws (each later line, and close() below, clears the live line first).
  io.signal.addEventListener('abort', () => output.stop(), { once: true });
  const runIo: AppIo = { ...io, stderr: output.stderr };
  const summaries = capturingSummary(output.reporter);
  state.reporter = summaries.reporter;
  try {
    if (opts.lowPriority) await applyLowPriority(runIo, state.reporter);
    const started = io.now();
    try {
      await dispatch(outcome.parsed, effective, runIo, state.reporter);
      await recordMetrics(opts, runIo, outcome.parsed.command, started, summaries.last(), undefined);
    } catch (err) {
      await recordMetrics(opts, runIo, outcome.parsed.command, started, undefined, err);
      throw err;
    }
  } finally {
    output.close(); // before main prints the outcome
  }
}

type Summary = Extract<RunEvent, { type: 'summary' }>;

/** Passes events through and remembers the last summary (for the metrics file). */
function capturingSummary(inner: Reporter): { reporter: Reporter; last: () => Summary | undefined } {
  let last: Summary | undefined;
  return {
    reporter: { emit: (e) => { if (e.type === 'summary') last = e; inner.emit(e); }, ...(inner.live ? { live: inner.live } : {}) },
    last: () => last,
  };
}

async function applyLowPriority(io: AppIo, reporter: Reporter): Promise<void> {
  const got = await lowerPriority(io.pid, io.exec);
  const parts = [got.nice ? 'nice 19' : 'nice not permitted', got.ioIdle ? 'idle I/O class' : 'ionice unavailable'];
  reporter.emit({ type: 'info', message: `low priority: ${parts.join(', ')}` });
}

const BACKUP_COMMANDS = new Set(['snapshot', 'repair', 'incremental', 'commitlogs']);

async function recordMetrics(
  opts: GlobalOptions, io: AppIo, command: string, started: Date, summary: Summary | undefined, err: unknown,
): Promise<void> {
  if (!opts.prometheusFile || !BACKUP_COMMANDS.has(command) || opts.dryRun) return;
  const finishedAt = io.now();
  try {
    await recordRun(opts.prometheusFile, {
      // Not the derived node id: a run refused for its identity must land in the same series as its successes.
      command, node: opts.nodeId ?? shortHostname(io.hostname), ok: err === undefined, backupStored: err instanceof CleanupIncompleteError,
      exitCode: err === undefined ? 0 : exitCodeFor(err), finishedAt, seconds: (finishedAt.getTime() - started.getTime()) / 1000,
      bytes: summary?.bytes ?? 0, uploadedBytes: summary?.uploadedBytes ?? 0, files: summary?.files ?? 0,
    });
  } catch (metricsError) {
    // The run's own outcome matters more than its metrics: report, never replace it.
    const reason = metricsError instanceof Error ? metricsError.message : String(metricsError);
    io.stderr(`cass-backup-run: warning: could not update ${opts.prometheusFile}: ${reason}\n`);
  }
}

async function dispatch(parsed: ParsedCommand, effective: EffectiveOptions, io: AppIo, reporter: Reporter): Promise<void> {
  const { options: opts } = effective;
  if (parsed.command === 'detect') return detect(effective, io);
  if (parsed.command === 'commitlogs') {
    const catalog = await buildCatalogContext(opts, io, reporter);
    return closing(catalog.backend, () => commitLogsWiring(opts, io, catalog));
  }
  if (isCatalogCommand(parsed)) {
    const catalog = await buildCatalogContext(opts, io, reporter);
    return closing(catalog.backend, () => dispatchCatalog(parsed, catalog, () => clusterRestoreTools(opts, io)));
  }
  const passthrough = 'nodetoolArgs' in parsed ? connectionFromArgs(parsed.nodetoolArgs) : { args: [], connection: {} };
  const ctx = await buildContext(opts, io, reporter, passthrough.connection, parsed.raw);
  return closing(ctx.backend, () => runBackupCommand(parsed, passthrough.args, ctx));
}

/** Closing a backend finishes its clean-up (e.g. aborting a multipart upload the store refused to abort earlier). */
async function closing(backend: Backend, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } finally {
    await backend.close();
  }
}

async function runBackupCommand(parsed: ParsedCommand, nodetoolArgs: string[], ctx: BackupContext): Promise<void> {
  switch (parsed.command) {
    case 'snapshot':
      await snapshotCommand({ nodetoolArgs, resumeTag: parsed.resume, keepSnapshot: parsed.keepSnapshot, tagSlot: parsed.tagSlot,
        clusterWaitMs: parsed.clusterWaitMs, slotTime: parsed.slotTime }, ctx);
      return;
    case 'repair':
      await repairCommand({ nodetoolArgs, deleteUploaded: parsed.deleteUploaded }, ctx);
      return;
    case 'incremental':
      await incrementalCommand({ deleteUploaded: parsed.deleteUploaded, flush: parsed.flush }, ctx);
      return;
  }
}

/** Catalog commands need the destination and the node id, but neither Cassandra nor its data directories. */
async function buildCatalogContext(opts: GlobalOptions, io: AppIo, reporter: Reporter): Promise<CatalogContext> {
  if (opts.dest) parseDestination(opts.dest);
  const stateDir = opts.stateDir ?? defaultStateDir(io);
  const warn = opts.json ? stderrWarning(io) : reporterWarning(reporter); // --json: stdout is the result alone
  const { cloud, nodeId } = await identifyMachine({ options: opts, machine: io, stateDir, remember: opts.dryRun ? 'read-only' : 'best-effort', warn });
  const destination = resolveDestination({ dest: opts.dest, bucket: opts.bucket, cloud: cloud.cloud, azureAccount: opts.azureAccount });
  return {
    nodeId, reporter, out: io.stdout, json: opts.json, stateDir,
    concurrency: opts.concurrency, now: io.now, signal: io.signal, dryRun: opts.dryRun,
    hostname: io.hostname, pid: io.pid, bootId: await readBootId(), toolVersion: io.version, leaseTimeoutMs: opts.leaseTimeoutMs,
    lock: async (what) => runLock(await usableStateDir(stateDir, io.pid), what, io),
    backend: await openBackend(destination, backendOptions(destination, opts, cloud.projectId, io, reporter)),
  };
}

function backendOptions(dest: Destination, opts: GlobalOptions, projectId: string | undefined, io: AppIo, reporter: Reporter): OpenBackendOptions {
  return backendOptionsFor(dest, opts, { projectId, env: io.env,
    onRetry: (what, attempt, err) => reporter.emit({ type: 'retry', what, attempt, error: err instanceof Error ? err.message : String(err) }) });
}

function dataDirsInput(opts: GlobalOptions, io: AppIo) {
  return { flags: opts.dataDirs, ...(opts.cassandraYaml ? { cassandraYaml: opts.cassandraYaml } : {}), env: io.env };
}

/** Cassandra's tools and this node's listen_address, for restore --cluster. */
async function clusterRestoreTools(opts: GlobalOptions, io: AppIo): Promise<ClusterRestoreTools> {
  const yamlPath = opts.cassandraYaml ?? (io.env.CASSANDRA_CONF ? join(io.env.CASSANDRA_CONF, 'cassandra.yaml') : undefined);
  const facts = yamlPath === undefined ? {} : await readCassandraYamlFacts(yamlPath);
  return { exec: io.exec, nodetool: opts.nodetool, toolOutput: opts.quiet ? undefined : stderrStream(io), listenAddress: facts.listenAddress };
}

const reporterWarning = (reporter: Reporter) => (message: string) => reporter.emit({ type: 'warning', message });
const stderrWarning = (io: AppIo) => (message: string) => io.stderr(`cass-backup-run: warning: ${message}\n`);

/** One lock per node's state directory, shared by every command that changes the node or its backups. */
function runLock(stateDir: string, what: string, io: AppIo): Promise<Lock> {
  return acquireLock(join(stateDir, 'run.lock'), what, { pid: io.pid, hostname: io.hostname, now: io.now });
}

async function buildContext(
  opts: GlobalOptions, io: AppIo, reporter: Reporter, extraConnection: ConnectionOverrides, raw: Readonly<Record<string, unknown>>,
): Promise<BackupContext> {
  if (opts.dest) parseDestination(opts.dest); // a malformed --dest is reported before anything slower
  const stateDir = await usableStateDir(opts.stateDir ?? defaultStateDir(io), io.pid);
  const { cloud, dataDirs, hostname, nodeId } = await identifyNode({ options: opts, machine: io, stateDir,
    remember: opts.dryRun ? 'read-only' : 'required', warn: reporterWarning(reporter) }, dataDirsInput(opts, io));
  const destination = resolveDestination({ dest: opts.dest, bucket: opts.bucket, cloud: cloud.cloud, azureAccount: opts.azureAccount });
  const backend = await openBackend(destination, backendOptions(destination, opts, cloud.projectId, io, reporter));
  const registry = fileSnapshotRegistry(join(stateDir, 'snapshots.json'));
  const minFree = parseFreeSpaceRule(opts.minFreeDisk, parseSize);
  const files = throttledFiles(createLocalFiles(), opts.maxRate);
  const yamlFacts: CassandraYamlFacts = dataDirs.yamlPath ? await readCassandraYamlFacts(dataDirs.yamlPath).catch(() => ({})) : {};
  return {
    nodeId, hostname, cloud, dataDirs: dataDirs.dirs, dataDirsGiven: dataDirs.source === 'flag',
    clusterNameFromYaml: yamlFacts.clusterName,
    backend, reporter, stateDir, toolVersion: io.version, concurrency: opts.concurrency, layout: opts.layout, dryRun: opts.dryRun,
    nodetool: createNodetool({
      exec: io.exec, path: opts.nodetool, passthrough: opts.json || !opts.quiet, output: stderrStream(io), signal: io.signal,
      connection: { ...connectionOf(opts), ...extraConnection },
      ...(opts.dryRun ? {} : { factsCache: fileFactsCache(nodeFactsPath(stateDir), dataDirs.dirs) }),
    }),
    enumerate: {
      snapshot: (dirs, tag) => enumerateSnapshot(dirs, tag),
      backups: (dirs) => enumerateBackups(dirs),
      snapshotExists: (dirs, tag) => snapshotExists(dirs, tag),
      hasTables: (dirs) => hasTableDirectories(dirs),
    },
    files, registry, staleSnapshotAgeHours: opts.staleSnapshotAgeHours,
    checkFreeSpace: () => assertFreeSpace(dataDirs.dirs, minFree),
    now: io.now,
    lock: (what) => runLock(stateDir, what, io),
    pid: io.pid, bootId: await readBootId(), leaseTimeoutMs: opts.leaseTimeoutMs, allowHostIdChange: opts.allowHostIdChange,
    ...await encryptionOption(opts),
    hostIds: fileHostIdMemory(hostIdPath(stateDir, nodeId)),
    resumeCommand: (tag) => resumeCommand(raw, tag),
    signal: io.signal,
  };
}

type ConnectionOverrides = ReturnType<typeof connectionFromArgs>['connection'];

function connectionOf(opts: GlobalOptions): ConnectionOverrides {
  return {
    ...(opts.nodetoolHost ? { host: opts.nodetoolHost } : {}),
    ...(opts.nodetoolPort ? { port: opts.nodetoolPort } : {}),
    ...(opts.nodetoolUser ? { username: opts.nodetoolUser } : {}),
    ...(opts.nodetoolPasswordFile ? { passwordFile: opts.nodetoolPasswordFile } : {}),
  };
}

/** Uploads read through one shared rate limiter when --max-rate is set. */
function throttledFiles(files: LocalFilesPort, maxRate: number | undefined): LocalFilesPort {
  if (maxRate === undefined) return files;
  const limiter = createRateLimiter(maxRate);
  return {
    ...files,
    openSource: (file) => {
      const inner = files.openSource(file);
      // pipeline, not pipe: a read error (the file vanished) must reach the consumer, not crash the process
      return { size: inner.size, open: (start, end) => pipeline(inner.open(start, end), throttle(limiter), () => {}) };
    },
  };
}

function defaultStateDir(io: AppIo): string {
  if (io.isRoot) return '/var/lib/cass-backup-run';
  const base = io.env.XDG_STATE_HOME || join(io.env.HOME || homedir(), '.local', 'state');
  return join(base, 'cass-backup-run');
}

function stderrStream(io: AppIo): Writable {
  return new Writable({ write(chunk: Buffer, _enc, done) { io.stderr(chunk.toString()); done(); } });
}

async function detect({ options: opts, configFile, values }: EffectiveOptions, io: AppIo): Promise<void> {
  const stateDir = opts.stateDir ?? defaultStateDir(io);
  const node = await identifyNode({ options: opts, machine: io, stateDir, remember: 'read-only', warn: stderrWarning(io) },
    dataDirsInput(opts, io));
  let destination: string;
  try {
    destination = describeDestination(resolveDestination({ dest: opts.dest, bucket: opts.bucket, cloud: node.cloud.cloud, azureAccount: opts.azureAccount }));
  } catch (err) {
    destination = `none (${err instanceof Error ? err.message : String(err)})`;
  }
  const report = {
    cloud: node.cloud, nodeId: node.nodeId, hostname: node.hostname, dataDirs: node.dataDirs.dirs,
    dataDirsSource: node.dataDirs.yamlPath ?? node.dataDirs.source, destination, nodetool: opts.nodetool,
    remembered: node.remembered ?? null, rememberedPath: node.rememberedPath, configFile: configFile ?? null, options: optionSources(values),
    commitLogArchiving: await inspectArchiving(node.dataDirs.yamlPath, opts.commitlogStaging, String(globalOptions['commitlog-staging'].default)),
  };
  io.stdout(opts.json ? `${JSON.stringify(report)}\n` : formatDetectReport(report));
}

