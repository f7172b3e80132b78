// The command line: the only yargs user. Parses argv into a typed command; knows nothing of what commands do.
// What is ours and what is nodetool's is decided first (config/command-line.ts); yargs then reads only ours.
import yargs, { type Argv } from 'yargs';
import { globalOptions, DEFAULT_CONFIG_PATH, type OptionSpec } from './config/options.ts';
import { commands, commandNames, type CommandName, type CommandSpec } from './config/commands.ts';
import { splitArguments } from './config/command-line.ts';
import { nonNegativeNumber, wholeNumber } from './config/values.ts';
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
  | { readonly command: 'list'; readonly raw: Raw; readonly allNodes: boolean; readonly cluster: string | true | undefined; readonly pitr: boolean }
  | { readonly command: 'verify'; readonly raw: Raw; readonly backup: string; readonly deep: boolean; readonly cluster: boolean;
      readonly identity: string | undefined }
  | { readonly command: 'restore'; readonly raw: Raw; readonly backup: string; readonly to: string | undefined; readonly tables: string[];
      readonly until: string | undefined; readonly force: boolean; readonly cluster: ClusterRestoreArgs | undefined;
      readonly identity: string | undefined; readonly pointInTime: string | undefined }
  | { readonly command: 'purge'; readonly raw: Raw; readonly keepLast: number | undefined; readonly keepDays: number | undefined;
      readonly yes: boolean; readonly graceHours: number; readonly keepClusters: number | undefined }
  | { readonly command: 'archive-commitlog'; readonly raw: Raw; readonly path: string; readonly name: string;
      readonly uploadWithinMs: number | undefined }
  | { readonly command: 'commitlogs'; readonly raw: Raw };

/** `restore --cluster`'s own options (src/commands/cluster-restore.ts reads them). */
export interface ClusterRestoreArgs {
  readonly plan: boolean;
  readonly as: string | undefined;
  readonly targets: string[];
  readonly load: boolean;
  readonly share: string | undefined;
  readonly loadHosts: string[];
  readonly cqlPort: number | undefined;
  readonly storagePort: number | undefined;
  readonly sstableloader: string | undefined;
  readonly cqlsh: string | undefined;
  readonly createSchema: boolean;
}

export type CliOutcome =
  | { readonly kind: 'run'; readonly parsed: ParsedCommand }
  | { readonly kind: 'print'; readonly text: string; readonly exitCode: number };

type Raw = Record<string, unknown>;

const usage = 'Usage: cass-backup-run <command> [options]\n\n`cass-backup-run <command> --help` shows that command\'s own options and examples.';

// One line per paragraph: yargs wraps each line of an epilog to the terminal's width.
const about = 'cass-backup-run backs up this Cassandra node to S3, GCS or a directory. It runs nodetool itself, waits for it to ' +
  'finish, then uploads the files that command produced (snapshots/<tag>/ or backups/ of every table in every data directory) ' +
  'under <node-id>/<path relative to the data directory>, and writes a manifest last.';

const epilog = [
  `Configuration file: every global option can also be set in a YAML file under its flag's name (dest: s3://b/p, ` +
    `data-dir: [/a, /b], max-rate: 50MiB), read from --config PATH, CASS_BACKUP_CONFIG, or ${DEFAULT_CONFIG_PATH} when present. ` +
    'A flag overrides its environment variable, which overrides the file. `cass-backup-run detect` shows each value and where it came from.',
  'Environment: BUCKET_NAME and REGION work as in the old cass-backup; every option also has a CASS_BACKUP_* variable (shown with it). ' +
    'Credentials come from the cloud SDKs\' default chains (instance role / service account, environment, profiles), never from options.',
  '',
  exitCodeHelp,
].join('\n');

function notes(spec: OptionSpec): string {
  return [
    spec.type === 'number' ? ' [number]' : '',
    spec.choices ? ` [choices: ${spec.choices.join(', ')}]` : '',
    spec.env?.length ? ` [env: ${spec.env.join(', ')}]` : '',
    spec.default !== undefined ? ` [default: ${String(spec.default)}]` : '',
  ].join('');
}

/** Numbers are left as text for config/values.ts to check and name (yargs would make "abc" NaN). */
function yargsType(type: OptionSpec['type']): { type?: 'boolean' | 'array' | 'string'; string?: true } {
  return type === 'boolean' ? { type: 'boolean' } : type === 'array' ? { type: 'array', string: true } : type === 'string' ? { type: 'string' } : {};
}

/** yargs gets no defaults or choices: values are checked by config/options.ts, one rule for flag, environment and file. */
function addGlobalOptions(y: Argv): Argv {
  for (const [name, spec] of Object.entries(globalOptions) as [string, OptionSpec][]) {
    y.option(name, {
      ...yargsType(spec.type),
      describe: `${spec.describe}${notes(spec)}`,
      group: `${spec.group} options:`,
      hidden: spec.hidden ?? false,
    });
  }
  return y;
}

function commandHelp(spec: CommandSpec): string {
  const examples = spec.examples.map(([cmd, what]) => `# ${what}\ncass-backup-run ${cmd}`).join('\n');
  return [`Usage: cass-backup-run ${spec.usage}`, `${spec.describe}.${spec.details ? ` ${spec.details}` : ''}`,
    `Examples:\n${examples}`, 'Global options (below) work before or after the command.'].join('\n\n');
}

function addCommand(y: Argv, name: CommandName): Argv {
  const spec = commands[name];
  return y.command(spec.yargs, spec.describe, (c) => {
    c.usage(commandHelp(spec)).epilog(exitCodeHelp);
    if (spec.positional) c.positional(spec.positional.name, { type: 'string', describe: spec.positional.describe });
    for (const [option, o] of Object.entries(spec.options)) {
      c.option(option, {
        ...yargsType(o.type),
        describe: `${o.describe}${o.type === 'number' ? ' [number]' : ''}`,
        group: `Options of ${name}:`,
        ...(o.default !== undefined ? { default: o.default } : {}),
        ...(o.required ? { demandOption: true } : {}),
      });
    }
    return c;
  });
}

function buildParser(version: string): Argv {
  let y = yargs()
    .scriptName('cass-backup-run')
    .usage(usage)
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false, 'halt-at-non-option': false })
    .demandCommand(1, `Name a command: ${commandNames.join(', ')}.`)
    .epilog(`${about}\n\n${epilog}`)
    .version(version)
    .alias('V', 'version')
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .exitProcess(false);
  for (const name of commandNames) y = addCommand(y, name);
  return addGlobalOptions(y);
}

export async function parseCommandLine(args: readonly string[], version: string): Promise<CliOutcome> {
  const split = splitArguments(args);
  const parser = buildParser(version);
  let output = '';
  let failure: Error | undefined;
  const argv = await new Promise<Raw | undefined>((resolve) => {
    parser.parse(split.ours, {}, (err: Error | undefined, parsed: Raw, text: string) => {
      output = text;
      failure = err ?? undefined;
      resolve(parsed);
    });
  });
  if (failure) throw new UsageError(failure.message.replace(/\s*\n\s*/g, ' ')); // one line, like every error
  if (output !== '') return { kind: 'print', text: output, exitCode: 0 };
  return { kind: 'run', parsed: toCommand(argv ?? {}, split.nodetool) };
}

function toCommand(argv: Raw, nodetoolArgs: string[]): ParsedCommand {
  const positional = ((argv._ as unknown[]) ?? []).map(String);
  const command = positional[0];
  const rest = positional.slice(1);
  switch (command) {
    case 'snapshot':
      return { command, raw: argv, nodetoolArgs, resume: argv.resume as string | undefined, keepSnapshot: Boolean(argv['keep-snapshot']),
        tagSlot: argv['tag-slot'] === undefined ? undefined : parseSlotKind(String(argv['tag-slot'])),
        clusterWaitMs: argv['cluster-wait'] === undefined ? undefined : parseDuration('cluster-wait', String(argv['cluster-wait'])),
        slotTime: argv['slot-time'] as string | undefined };
    case 'repair':
      return { command, raw: argv, nodetoolArgs, deleteUploaded: Boolean(argv['delete-uploaded']) };
    case 'incremental':
      refuseExtra(command, rest);
      return { command, raw: argv, deleteUploaded: Boolean(argv['delete-uploaded']), flush: Boolean(argv.flush) };
    case 'detect':
      refuseExtra(command, rest);
      return { command, raw: argv };
    case 'list':
      refuseExtra(command, rest);
      return { command, raw: argv, allNodes: Boolean(argv['all-nodes']),
        cluster: argv['cluster-name'] !== undefined ? String(argv['cluster-name']) : argv.cluster === true ? true : undefined,
        pitr: Boolean(argv.pitr) };
    case 'verify':
      refuseExtra(command, rest);
      return { command, raw: argv, backup: String(argv.backup), deep: Boolean(argv.deep), cluster: Boolean(argv.cluster),
        identity: argv.identity as string | undefined };
    case 'restore':
      refuseExtra(command, rest);
      return { command, raw: argv, backup: String(argv.backup), to: argv.to === undefined ? undefined : String(argv.to),
        tables: (argv.table as string[]).map(String), until: argv.until as string | undefined, force: Boolean(argv.force),
        cluster: argv.cluster === true ? clusterRestoreArgs(argv) : refuseClusterOnly(argv), identity: argv.identity as string | undefined,
        pointInTime: argv['point-in-time'] as string | undefined };
    case 'purge':
      refuseExtra(command, rest);
      return { command, raw: argv, keepLast: optionalCount('keep-last', argv['keep-last']), keepDays: optionalCount('keep-days', argv['keep-days']),
        yes: Boolean(argv.yes), graceHours: nonNegativeNumber('--grace-hours', argv['grace-hours']),
        keepClusters: optionalCount('keep-clusters', argv['keep-clusters']) };
    case 'archive-commitlog':
      refuseExtra(command, rest);
      return { command, raw: argv, path: String(argv.path), name: String(argv.name),
        uploadWithinMs: argv['upload-within'] === undefined ? undefined : parseDuration('upload-within', String(argv['upload-within'])) };
    case 'commitlogs':
      refuseExtra(command, rest);
      return { command, raw: argv };
    default:
      throw new UsageError(`unknown command "${command ?? ''}"; run cass-backup-run --help`);
  }
}

function clusterRestoreArgs(argv: Raw): ClusterRestoreArgs {
  const list = (v: unknown) => ((v as unknown[] | undefined) ?? []).map(String).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
  const port = (name: string) => (argv[name] === undefined ? undefined : wholeNumber(`--${name}`, argv[name]));
  return {
    plan: Boolean(argv.plan), as: argv.as as string | undefined, targets: list(argv.targets), load: Boolean(argv.load),
    share: argv.share as string | undefined, loadHosts: list(argv['load-hosts']), cqlPort: port('cql-port'), storagePort: port('storage-port'),
    sstableloader: argv.sstableloader as string | undefined, cqlsh: argv.cqlsh as string | undefined, createSchema: Boolean(argv['create-schema']),
  };
}

/** The options of a cluster restore mean nothing without --cluster: say so rather than ignore them. */
function refuseClusterOnly(argv: Raw): undefined {
  const given = ['plan', 'as', 'load', 'share', 'load-hosts', 'cql-port', 'storage-port', 'sstableloader', 'cqlsh', 'create-schema', 'targets']
    .filter((o) => { const v = argv[o]; return v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0); });
  if (given.length > 0) throw new UsageError(`--${given[0]} needs --cluster (restore --cluster ID …)`);
  if (argv.to === undefined) throw new UsageError('restore needs --to DIR');
  return undefined;
}

function optionalCount(name: string, v: unknown): number | undefined {
  return v === undefined ? undefined : wholeNumber(`--${name}`, v);
}

function refuseExtra(command: string, rest: readonly string[]): void {
  if (rest.length > 0) throw new UsageError(`${command} takes no arguments, got: ${rest.join(' ')} (see cass-backup-run ${command} --help)`);
}
