// Splits the command line into our arguments and nodetool's before anything is parsed, so that nothing of ours
// reaches nodetool and nothing unknown is guessed at. Pure.
//
// - Global options work before and after the command; a command's own options after it (or before, if they are
//   that command's). Every option of ours takes exactly one value per flag (`--data-dir a --data-dir b`), so an
//   option never swallows the command or nodetool's arguments.
// - `-h` is `--help` and `-V` is `--version`; but after snapshot or repair, `-h HOST` is nodetool's JMX host, as in
//   `nodetool -h HOST snapshot`. A `-h VALUE` anywhere else is refused rather than read as a request for help,
//   which would exit 0 without a backup.
// - After snapshot and repair, what is not ours must be an option of that nodetool command (with its value) or a
//   positional (keyspace, tables); anything else is a usage error with the nearest spelling.
import { globalOptions, type OptionSpec } from './options.ts';
import { commands, commandNames, commandsWithOption, isCommandName, type CommandName } from './commands.ts';
import { findNodetoolOption, nodetoolOptionNames, nodetoolOptions, type PassThroughCommand } from '../cassandra/nodetool-options.ts';
import { closestMatch, didYouMean } from './suggest.ts';
import { booleanValue } from './values.ts';
import { UsageError } from '../errors.ts';

export interface SplitArguments {
  readonly command: CommandName | undefined;
  /** Ours, written out for the parser: the command, its positionals, then `--name=value` for each option. */
  readonly ours: string[];
  /** The arguments for `nodetool <command>`, in the order given (empty for commands without pass-through). */
  readonly nodetool: string[];
}

type Arity = 'flag' | 'value' | 'list';

const arity = (type: OptionSpec['type']): Arity => (type === 'boolean' ? 'flag' : type === 'array' ? 'list' : 'value');

function globalArity(name: string): Arity | undefined {
  return Object.hasOwn(globalOptions, name) ? arity((globalOptions as Record<string, OptionSpec>)[name]!.type) : undefined;
}

/** A command option's arity: of `command`, or (before the command is known) of any command that has it. */
function commandArity(name: string, command: CommandName | undefined): Arity | undefined {
  const owner = command ?? commandsWithOption(name)[0];
  const spec = owner === undefined ? undefined : commands[owner].options[name];
  return spec === undefined ? undefined : arity(spec.type);
}

export function splitArguments(args: readonly string[]): SplitArguments {
  const state: SplitState = { command: undefined, options: [], positionals: [], nodetool: [], seen: new Set(), beforeCommand: [], help: false, version: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      takeRest(state, args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') takePositional(state, arg);
    else i += takeOption(state, arg, args[i + 1]);
  }
  const { command, options, positionals, nodetool, help, version } = state;
  for (const name of state.beforeCommand) {
    if (command === undefined || commandArity(name, command) === undefined) throw notOptionOf(name, command);
  }
  const dashed = positionals.find((p) => p.startsWith('-'));
  if (dashed !== undefined) throw new UsageError(`${command ?? 'cass-backup-run'} takes no argument that starts with "-" (got "${dashed}")`);
  const flags = [...(help ? ['--help'] : []), ...(version ? ['--version'] : [])];
  return { command, ours: [...(command === undefined ? [] : [command]), ...positionals, ...options, ...flags], nodetool };
}

interface SplitState {
  command: CommandName | undefined;
  readonly options: string[];
  readonly positionals: string[];
  readonly nodetool: string[];
  /** Options given once already (a repeatable option is not recorded). */
  readonly seen: Set<string>;
  /** Command options given before the command: checked once it is known. */
  readonly beforeCommand: string[];
  help: boolean;
  version: boolean;
}

const passThrough = (state: SplitState): PassThroughCommand | undefined => (state.command === undefined ? undefined : commands[state.command].nodetool);

function takeCommand(state: SplitState, word: string): void {
  if (!isCommandName(word)) {
    const match = closestMatch(word, commandNames);
    throw new UsageError(`unknown command "${word}"${match === undefined ? '' : ` (did you mean ${match}?)`}; run cass-backup-run --help`);
  }
  state.command = word;
}

function takePositional(state: SplitState, word: string): void {
  if (state.command === undefined) takeCommand(state, word);
  else if (passThrough(state)) state.nodetool.push(word);
  else state.positionals.push(word);
}

/** After `--`: positionals only (nodetool gets the `--` too, so that a name starting with "-" stays a name). */
function takeRest(state: SplitState, rest: string[]): void {
  if (state.command === undefined && rest.length > 0) takeCommand(state, rest.shift() ?? '');
  if (passThrough(state)) state.nodetool.push('--', ...rest);
  else state.positionals.push(...rest);
}

/** Takes one option (and its value, if it takes the next argument); returns how many further arguments it used. */
function takeOption(state: SplitState, arg: string, next: string | undefined): number {
  if (arg === '-h') return takeDashH(state, next);
  if (arg === '--help') {
    state.help = true;
    return 0;
  }
  if (arg === '-V' || arg === '--version') {
    state.version = true;
    return 0;
  }
  const ours = ourOption(arg, state.command);
  if (ours !== undefined) return takeOurs(state, ours, next);
  const owner = passThrough(state);
  const theirs = owner === undefined ? undefined : findNodetoolOption(owner, arg);
  if (owner === undefined || theirs === undefined || (!theirs.takesValue && arg.includes('='))) throw unknownOption(arg, state.command);
  if (!theirs.takesValue || arg.includes('=')) {
    state.nodetool.push(arg);
    return 0;
  }
  if (next === undefined) throw new UsageError(`nodetool ${owner} option ${arg} needs a value`);
  state.nodetool.push(arg, next);
  return 1;
}

function takeDashH(state: SplitState, next: string | undefined): number {
  if (next === undefined || next.startsWith('-') || (state.command === undefined && isCommandName(next))) {
    state.help = true;
    return 0;
  }
  if (passThrough(state) !== undefined) {
    state.nodetool.push('-h', next);
    return 1;
  }
  throw new UsageError(`-h means --help here, not "-h ${next}": nodetool's JMX host is --nodetool-host HOST (or -h HOST after snapshot or repair)`);
}

function takeOurs(state: SplitState, ours: OurOption, next: string | undefined): number {
  if (ours.arity !== 'list') {
    if (state.seen.has(ours.name)) throw new UsageError(`--${ours.name} is given more than once`);
    state.seen.add(ours.name);
  }
  if (state.command === undefined && globalArity(ours.name) === undefined) state.beforeCommand.push(ours.name);
  if (ours.arity === 'flag') {
    const value = ours.negated ? false : ours.inline === undefined ? true : booleanValue(`--${ours.name}`, ours.inline);
    state.options.push(`--${ours.name}=${String(value)}`);
    return 0;
  }
  if (ours.inline !== undefined) {
    state.options.push(`--${ours.name}=${ours.inline}`);
    return 0;
  }
  if (next === undefined || /^--./.test(next) || next === '-h' || next === '-V') {
    throw new UsageError(`--${ours.name} needs a value (write --${ours.name}=VALUE for a value that starts with --)`);
  }
  state.options.push(`--${ours.name}=${next}`);
  return 1;
}

interface OurOption {
  readonly name: string;
  readonly arity: Arity;
  readonly inline: string | undefined;
  /** `--no-NAME` of a boolean option. */
  readonly negated: boolean;
}

function ourOption(arg: string, command: CommandName | undefined): OurOption | undefined {
  if (!arg.startsWith('--')) return undefined;
  const eq = arg.indexOf('=');
  const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
  const inline = eq < 0 ? undefined : arg.slice(eq + 1);
  const found = globalArity(name) ?? commandArity(name, command);
  if (found !== undefined) return { name, arity: found, inline, negated: false };
  if (name.startsWith('no-') && inline === undefined) {
    const positive = name.slice(3);
    if ((globalArity(positive) ?? commandArity(positive, command)) === 'flag') return { name: positive, arity: 'flag', inline, negated: true };
  }
  return undefined;
}

function ourNames(command: CommandName | undefined): string[] {
  const own = command === undefined ? commandNames.flatMap((c) => Object.keys(commands[c].options)) : Object.keys(commands[command].options);
  return [...own, ...Object.keys(globalOptions)].map((n) => `--${n}`).concat(['--help', '-h', '--version', '-V']);
}

function notOptionOf(name: string, command: CommandName | undefined): UsageError {
  const owners = commandsWithOption(name);
  return new UsageError(`--${name} is an option of ${owners.join(' and ')}${command === undefined ? '' : `, not of ${command}`} ` +
    `(see cass-backup-run ${command ?? owners[0] ?? ''} --help)`);
}

function unknownOption(arg: string, command: CommandName | undefined): UsageError {
  const name = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
  const bare = name.replace(/^-+/, '');
  const see = `(see cass-backup-run ${command === undefined ? '' : `${command} `}--help)`;
  if (commandsWithOption(bare).length > 0 && name.startsWith('--')) return notOptionOf(bare, command);
  const owner = command === undefined ? undefined : commands[command].nodetool;
  if (command === undefined) {
    const nodetoolCommand = (['snapshot', 'repair'] as const).find((c) => findNodetoolOption(c, name) !== undefined);
    if (nodetoolCommand !== undefined) {
      return new UsageError(`${name} is an option of nodetool ${nodetoolCommand}: put it after the command ` +
        `(cass-backup-run ${nodetoolCommand} ${name} …) ${see}`);
    }
  }
  const otherCommand = owner === undefined ? undefined : (['snapshot', 'repair'] as const).find((c) => c !== owner && findNodetoolOption(c, name) !== undefined);
  if (owner !== undefined && otherCommand !== undefined && findNodetoolOption(owner, name) === undefined) {
    return new UsageError(`${name} is an option of nodetool ${otherCommand}, not of nodetool ${owner} ${see}`);
  }
  const suggestion = didYouMean(name, [...ourNames(command), ...(owner === undefined ? [] : nodetoolOptionNames(owner))]);
  const attached = owner === undefined || suggestion !== '' ? undefined : attachedValue(owner, arg);
  const hint = attached === undefined ? suggestion : `; write the option and its value apart: ${attached.option} ${attached.value}`;
  const where = owner !== undefined
    ? `neither an option of cass-backup-run ${command ?? ''} nor of nodetool ${owner} (Cassandra 5.0)`
    : `not an option of cass-backup-run${command === undefined ? '' : ` ${command}`}`;
  return new UsageError(`unknown option ${name}: ${where}${hint} ${see}`);
}

/** `-tfoo`: nodetool's own parser reads a value glued to a short option; ours does not (the tag must be seen). */
function attachedValue(command: PassThroughCommand, arg: string): { option: string; value: string } | undefined {
  const candidates = nodetoolOptions(command).filter((o) => o.takesValue).flatMap((o) => o.names).filter((n) => !n.startsWith('--'));
  const option = candidates.filter((n) => arg.startsWith(n) && arg.length > n.length).sort((a, b) => b.length - a.length)[0];
  return option === undefined ? undefined : { option, value: arg.slice(option.length) };
}
