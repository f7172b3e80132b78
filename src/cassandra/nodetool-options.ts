// The options nodetool accepts for the two commands whose arguments we pass through (`snapshot`, `repair`), so
// that our own options can be told from nodetool's and a typo is refused before nodetool runs. Pure.
//
// Where the list comes from: `nodetool help snapshot` and `nodetool help repair` of Apache Cassandra 5.0.8 (the
// real nodetool of the test environment, scripts/testenv.sh). nodetool's connection options (-h -p -pp -pw -pwf
// -u) belong to nodetool itself and are accepted by every command. A newer Cassandra's additional option is
// refused until it is added here.

export type PassThroughCommand = 'snapshot' | 'repair';

export interface NodetoolOption {
  /** Every spelling nodetool accepts, e.g. ['-t', '--tag']. */
  readonly names: readonly string[];
  /** Takes the next argument (or `=VALUE`) as its value. */
  readonly takesValue: boolean;
}

const option = (takesValue: boolean, ...names: string[]): NodetoolOption => ({ names, takesValue });

const CONNECTION: readonly NodetoolOption[] = [
  option(true, '-h', '--host'),
  option(true, '-p', '--port'),
  option(false, '-pp', '--print-port'),
  option(true, '-pw', '--password'),
  option(true, '-pwf', '--password-file'),
  option(true, '-u', '--username'),
];

const SNAPSHOT: readonly NodetoolOption[] = [
  option(true, '-cf', '--column-family', '--table'),
  option(true, '-kt', '--kt-list', '-kc', '--kc.list'),
  option(false, '-sf', '--skip-flush'),
  option(true, '-t', '--tag'),
  option(true, '--ttl'),
];

const REPAIR: readonly NodetoolOption[] = [
  option(true, '-dc', '--in-dc'),
  option(false, '-dcpar', '--dc-parallel'),
  option(true, '-et', '--end-token'),
  option(false, '-force', '--force'),
  option(false, '-full', '--full'),
  option(true, '-hosts', '--in-hosts'),
  option(false, '-iuk', '--ignore-unreplicated-keyspaces'),
  option(true, '-j', '--job-threads'),
  option(false, '-local', '--in-local-dc'),
  option(false, '-os', '--optimise-streams'),
  option(false, '-paxos-only', '--paxos-only'),
  option(false, '-pl', '--pull'),
  option(false, '-pr', '--partitioner-range'),
  option(false, '-prv', '--preview'),
  option(false, '-seq', '--sequential'),
  option(false, '-skip-paxos', '--skip-paxos'),
  option(true, '-st', '--start-token'),
  option(false, '-tr', '--trace'),
  option(false, '-vd', '--validate'),
];

const BY_COMMAND: Record<PassThroughCommand, readonly NodetoolOption[]> = {
  snapshot: [...SNAPSHOT, ...CONNECTION],
  repair: [...REPAIR, ...CONNECTION],
};

/** The options `nodetool <command>` accepts. */
export function nodetoolOptions(command: PassThroughCommand): readonly NodetoolOption[] {
  return BY_COMMAND[command];
}

/** The option a token names (`-t`, `--tag`, `--tag=x`), or undefined. */
export function findNodetoolOption(command: PassThroughCommand, token: string): NodetoolOption | undefined {
  const name = token.includes('=') ? token.slice(0, token.indexOf('=')) : token;
  return BY_COMMAND[command].find((o) => o.names.includes(name));
}

/** Every spelling of every option of `nodetool <command>` (for suggestions). */
export function nodetoolOptionNames(command: PassThroughCommand): string[] {
  return BY_COMMAND[command].flatMap((o) => o.names);
}
