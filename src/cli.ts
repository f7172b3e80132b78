// The command line: the only yargs user. Parses argv into a typed command; knows nothing of what commands do.
import yargs, { type Argv } from 'yargs';
import { globalOptions, type OptionSpec } from './config/options.ts';
import { exitCodeHelp } from './exit-codes.ts';
import { UsageError } from './errors.ts';
import { parseSlotKind, type SlotKind } from './cluster/slot.ts';
import { parseDuration } from './config/duration.ts';

export type ParsedCommand =
  | { readonly command: 'snapshot'; readonly raw: Raw; readonly nodetoolArgs: string[]; readonly resume: string | undefined;
      readonly keepSnapshot: boolean; readonly tagSlot: SlotKind | undefined; readonly clusterWaitMs: number | undefined;
      readonly slotTime: string | undefined }
  | { readonly command: 'repair'; readonly raw: Raw; readonly nodetoolArgs: string[]; readonly deleteUploaded: boolean }
  | { readonly command: 'incremental'; readonly raw: Raw; readonly deleteUploaded: boolean; readonly flush: boolean }
  | { readonly command: 'detect'; readonly raw: Raw }
  | { readonly command: 'list'; readonly raw: Raw; readonly allNodes: boolean; readonly cluster: string | true | undefined }
  | { readonly command: 'verify'; readonly raw: Raw; readonly backup: string; readonly deep: boolean; readonly cluster: boolean }
  | { readonly command: 'restore'; readonly raw: Raw; readonly backup: string; readonly to: string; readonly tables: string[];
      readonly until: string | undefined; readonly force: boolean }
  | { readonly command: 'purge'; readonly raw: Raw; readonly keepLast: number | undefined; readonly keepDays: number | undefined;
      readonly yes: boolean; readonly graceHours: number; readonly keepClusters: number | undefined };

export type CliOutcome =
  | { readonly kind: 'run'; readonly parsed: ParsedCommand }
  | { readonly kind: 'print'; readonly text: string; readonly exitCode: number };

type Raw = Record<string, unknown>;

const usage = `cass-backup-run: back up this Cassandra node to S3, GCS or a directory.

It runs nodetool itself, waits for it to finish, then uploads the files that command produced
(snapshots/<tag>/ or backups/ of every table in every data directory) under
<node-id>/<path relative to the data directory>, and writes a manifest last.

Usage: cass-backup-run <command> [options]`;

const epilog = `Environment: BUCKET_NAME and REGION work as in the old cass-backup; every option also has a
CASS_BACKUP_* variable (shown above). Credentials come from the cloud SDKs' default chains
(instance role / service account, environment, profiles).

${exitCodeHelp}`;

function addGlobalOptions(y: Argv): Argv {
  for (const [name, spec] of Object.entries(globalOptions) as [string, OptionSpec][]) {
    const envNote = spec.env?.length ? ` [env: ${spec.env.join(', ')}]` : '';
    const defNote = spec.default !== undefined ? ` [default: ${String(spec.default)}]` : '';
    y.option(name, {
      type: spec.type,
      describe: `${spec.describe}${envNote}${defNote}`,
      group: `${spec.group} options:`,
      ...(spec.choices ? { choices: [...spec.choices] } : {}),
      ...(spec.type === 'array' ? { string: true } : {}),
      hidden: spec.hidden ?? false,
    });
  }
  return y;
}

function buildParser(version: string): Argv {
  const y = yargs()
    .scriptName('cass-backup-run')
    .usage(usage)
    .parserConfiguration({ 'unknown-options-as-args': true, 'parse-positional-numbers': false, 'halt-at-non-option': false })
    .command('snapshot [nodetool-args..]', 'Run `nodetool snapshot [args…]`, upload snapshots/<tag>/, write the manifest, clear the snapshot', (c) =>
      c.positional('nodetool-args', { describe: 'Arguments for nodetool snapshot (-t TAG, -kt ks.t, keyspaces, …)', type: 'string', array: true })
        .option('resume', { type: 'string', describe: 'Upload the existing snapshot TAG kept by a failed run (no new snapshot)' })
        .option('keep-snapshot', { type: 'boolean', default: false, describe: 'Keep the local snapshot after a complete upload' })
        .option('tag-slot', { type: 'string', choices: ['daily', 'hourly'], describe: 'Take this node\'s part of the cluster backup of the current UTC day or hour: every node\'s cron names the same backup, <cluster>-daily-YYYYMMDD (no -t)' })
        .option('slot-time', { type: 'string', describe: 'With --tag-slot: the slot of this time (ISO 8601, UTC) instead of now, e.g. to take a node\'s part of a slot it missed' })
        .option('cluster-wait', { type: 'string', describe: 'With --tag-slot: wait up to this long (e.g. 10m) for the other nodes that are up to join before the snapshot' })
        .example('cass-backup-run snapshot', 'snapshot every keyspace with a generated tag')
        .example('cass-backup-run snapshot -t nightly -kt ks1.t1', 'snapshot one table with tag nightly'))
    .command('repair [nodetool-args..]', 'Run `nodetool repair [args…]`, then upload the incremental backups in backups/', (c) =>
      c.positional('nodetool-args', { describe: 'Arguments for nodetool repair (-pr, keyspace, tables, …)', type: 'string', array: true })
        .option('delete-uploaded', { type: 'boolean', default: false, describe: 'Remove each local backups/ file once its upload is confirmed' }))
    .command('incremental', 'Upload the files incremental_backups left in backups/ (no nodetool call)', (c) =>
      c.option('delete-uploaded', { type: 'boolean', default: false, describe: 'Remove each local backups/ file once its upload is confirmed' })
        .option('flush', { type: 'boolean', default: false, describe: 'Run `nodetool flush` first, so recent writes are included' }))
    .command('detect', 'Print the cloud, node id, data directories and destination a run would use; write nothing')
    .command('list', 'List the backups of this node (or of every node) from their manifests', (c) =>
      c.option('all-nodes', { type: 'boolean', default: false, describe: 'Every node under the destination, grouped by tag' })
        .option('cluster', { type: 'string', describe: 'Cluster backups (of this cluster name, or of every cluster when given no value): complete or not, members missing, skew' }))
    .command('verify <backup>', 'Check that every object a backup\'s manifest names is stored with its size and checksum', (c) =>
      c.positional('backup', { type: 'string', describe: 'Backup tag, or "latest"' })
        .option('deep', { type: 'boolean', default: false, describe: 'Download every object and re-hash it' })
        .option('cluster', { type: 'boolean', default: false, describe: 'BACKUP is a cluster backup id: verify every member\'s backup' }))
    .command('restore <backup>', 'Download a backup into a directory in Cassandra\'s layout (<ks>/<table>-<id>/…)', (c) =>
      c.positional('backup', { type: 'string', describe: 'Snapshot backup tag, or "latest"' })
        .option('to', { type: 'string', demandOption: true, describe: 'Directory to restore into' })
        .option('table', { type: 'string', array: true, default: [], describe: 'Only this keyspace or keyspace.table (repeatable)' })
        .option('until', { type: 'string', describe: 'Also apply the files of every incremental backup that finished after the snapshot started and started no later than this time (ISO 8601, or "now"); file times play no part' })
        .option('force', { type: 'boolean', default: false, describe: 'Restore into a directory that is not empty' }))
    .command('purge', 'Delete expired backups; shows what it would delete unless --yes (exits 75, deleting no data, while a backup of the node runs on any host)', (c) =>
      c.option('keep-last', { type: 'number', describe: 'Keep the N newest snapshot backups (the newest is always kept, and so are incrementals after the oldest kept snapshot)' })
        .option('keep-days', { type: 'number', describe: 'Keep backups younger than D days (a backup either rule keeps is kept)' })
        .option('yes', { type: 'boolean', default: false, describe: 'Really delete' })
        .option('grace-hours', { type: 'number', default: 24, describe: 'Never delete unreferenced objects younger than this (a backup may be in progress)' })
        .option('keep-clusters', { type: 'number', describe: 'Keep this node\'s parts of the N newest complete cluster backups [default: 1: the newest complete one is never broken]' }))
    .demandCommand(1, 'Name a command: snapshot, repair, incremental, detect, list, verify, restore or purge.')
    .epilog(epilog)
    .version(version)
    .help()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .exitProcess(false);
  return addGlobalOptions(y);
}

export async function parseCommandLine(args: readonly string[], version: string): Promise<CliOutcome> {
  const parser = buildParser(version);
  let output = '';
  let failure: Error | undefined;
  const argv = await new Promise<Raw | undefined>((resolve) => {
    parser.parse([...args], {}, (err: Error | undefined, parsed: Raw, text: string) => {
      output = text;
      failure = err ?? undefined;
      resolve(parsed);
    });
  });
  if (failure) throw new UsageError(failure.message.replace(/\s*\n\s*/g, ' ')); // one line, like every error
  if (output !== '') return { kind: 'print', text: output, exitCode: 0 };
  return { kind: 'run', parsed: toCommand(argv ?? {}) };
}

function toCommand(argv: Raw): ParsedCommand {
  const positional = ((argv._ as unknown[]) ?? []).map(String);
  const command = positional[0];
  const rest = [...positional.slice(1), ...((argv['nodetool-args'] as string[] | undefined) ?? [])];
  switch (command) {
    case 'snapshot':
      return { command, raw: argv, nodetoolArgs: rest, resume: argv.resume as string | undefined, keepSnapshot: Boolean(argv['keep-snapshot']),
        tagSlot: argv['tag-slot'] === undefined ? undefined : parseSlotKind(String(argv['tag-slot'])),
        clusterWaitMs: argv['cluster-wait'] === undefined ? undefined : parseDuration('cluster-wait', String(argv['cluster-wait'])),
        slotTime: argv['slot-time'] as string | undefined };
    case 'repair':
      return { command, raw: argv, nodetoolArgs: rest, deleteUploaded: Boolean(argv['delete-uploaded']) };
    case 'incremental':
      refuseExtra(command, rest);
      return { command, raw: argv, deleteUploaded: Boolean(argv['delete-uploaded']), flush: Boolean(argv.flush) };
    case 'detect':
      refuseExtra(command, rest);
      return { command, raw: argv };
    case 'list':
      refuseExtra(command, rest);
      return { command, raw: argv, allNodes: Boolean(argv['all-nodes']),
        cluster: argv.cluster === undefined ? undefined : String(argv.cluster) === '' ? true : String(argv.cluster) };
    case 'verify':
      refuseExtra(command, rest);
      return { command, raw: argv, backup: String(argv.backup), deep: Boolean(argv.deep), cluster: Boolean(argv.cluster) };
    case 'restore':
      refuseExtra(command, rest);
      return { command, raw: argv, backup: String(argv.backup), to: String(argv.to), tables: (argv.table as string[]).map(String),
        until: argv.until as string | undefined, force: Boolean(argv.force) };
    case 'purge':
      refuseExtra(command, rest);
      return { command, raw: argv, keepLast: optionalCount('keep-last', argv['keep-last']), keepDays: optionalCount('keep-days', argv['keep-days']),
        yes: Boolean(argv.yes), graceHours: Number(argv['grace-hours']), keepClusters: optionalCount('keep-clusters', argv['keep-clusters']) };
    default:
      throw new UsageError(`unknown command "${command ?? ''}"; run cass-backup-run --help`);
  }
}

function optionalCount(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number, got ${String(v)}`);
  return n;
}

function refuseExtra(command: string, rest: readonly string[]): void {
  if (rest.length > 0) throw new UsageError(`${command} takes no arguments, got: ${rest.join(' ')} (see cass-backup-run ${command} --help)`);
}
