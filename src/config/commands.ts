// The commands and their own options, declared once: the parser (src/cli.ts), the split of the command line
// into ours and nodetool's (command-line.ts), the configuration file's messages and the help all read this. Pure.
import type { PassThroughCommand } from '../cassandra/nodetool-options.ts';

export type CommandName = 'snapshot' | 'repair' | 'incremental' | 'detect' | 'list' | 'verify' | 'restore' | 'purge' | 'archive-commitlog' | 'commitlogs';

export interface CommandOptionSpec {
  readonly type: 'string' | 'number' | 'boolean' | 'array';
  readonly describe: string;
  readonly default?: string | number | boolean | readonly string[];
  readonly required?: boolean;
}

export interface CommandSpec {
  /** yargs' command string: the name and its positionals (`verify <backup>`). */
  readonly yargs: string;
  /** The usage line shown in the command's help (after `cass-backup-run `). */
  readonly usage: string;
  /** One line, for the list of commands. */
  readonly describe: string;
  /** More, for the command's own help. */
  readonly details?: string;
  readonly positional?: { readonly name: string; readonly describe: string };
  /** Arguments that are not ours go to `nodetool <this>`, checked against what it accepts. */
  readonly nodetool?: PassThroughCommand;
  readonly options: Readonly<Record<string, CommandOptionSpec>>;
  readonly examples: readonly (readonly [command: string, what: string])[];
}

const deleteUploaded: CommandOptionSpec = { type: 'boolean', default: false, describe: 'Remove each local backups/ file once its upload is confirmed' };

export const commands: Readonly<Record<CommandName, CommandSpec>> = {
  snapshot: {
    yargs: 'snapshot', usage: 'snapshot [options] [nodetool snapshot options] [keyspace…]', nodetool: 'snapshot',
    describe: 'Run `nodetool snapshot [args…]`, upload snapshots/<tag>/, write the manifest, clear the snapshot',
    details: 'Arguments that are not options of ours go to nodetool snapshot (-t TAG, -kt ks.t, -cf TABLE, -sf, --ttl TTL, keyspaces, ' +
      'and -h HOST, -p PORT, -u USER, -pwf FILE); an option that Cassandra 5.0\'s nodetool snapshot does not accept is refused before anything runs.',
    options: {
      resume: { type: 'string', describe: 'Upload the existing snapshot TAG kept by a failed run (no new snapshot)' },
      'keep-snapshot': { type: 'boolean', default: false, describe: 'Keep the local snapshot after a complete upload' },
      'tag-slot': { type: 'string', describe: 'daily or hourly: take this node\'s part of the cluster backup of the current UTC day or hour; every node\'s cron names the same backup, <cluster>-daily-YYYYMMDD (no -t)' },
      'slot-time': { type: 'string', describe: 'With --tag-slot: the slot of this time (ISO 8601, UTC) instead of now, e.g. to take a node\'s part of a slot it missed' },
      'cluster-wait': { type: 'string', describe: 'With --tag-slot: wait up to this long (e.g. 10m) for the other nodes that are up to join before the snapshot' },
    },
    examples: [
      ['snapshot', 'snapshot every keyspace with a generated tag'],
      ['snapshot -t nightly -kt ks1.t1', 'snapshot one table with tag nightly'],
      ['snapshot --resume nightly', 'upload the snapshot a failed run kept'],
      ['snapshot --tag-slot daily --cluster-wait 10m', 'this node\'s part of today\'s cluster backup (the same line on every node\'s cron)'],
    ],
  },
  repair: {
    yargs: 'repair', usage: 'repair [options] [nodetool repair options] [keyspace [table…]]', nodetool: 'repair',
    describe: 'Run `nodetool repair [args…]`, then upload the incremental backups in backups/',
    details: 'Arguments that are not options of ours go to nodetool repair (-pr, -full, -seq, -dc DC, -st/-et TOKEN, keyspace, tables, ' +
      'and -h HOST, -p PORT, -u USER, -pwf FILE); an option that Cassandra 5.0\'s nodetool repair does not accept is refused before anything runs.',
    options: { 'delete-uploaded': deleteUploaded },
    examples: [['repair -pr ks1', 'repair the primary range of ks1, then upload backups/']],
  },
  incremental: {
    yargs: 'incremental', usage: 'incremental [options]',
    describe: 'Upload the files incremental_backups left in backups/ (no nodetool call)',
    options: {
      'delete-uploaded': deleteUploaded,
      flush: { type: 'boolean', default: false, describe: 'Run `nodetool flush` first, so recent writes are included' },
    },
    examples: [['incremental --delete-uploaded', 'upload backups/ and remove what was stored, e.g. hourly from cron']],
  },
  detect: {
    yargs: 'detect', usage: 'detect [options]',
    describe: 'Print the cloud, node id, data directories and destination a run would use; write nothing',
    details: 'Also every option\'s value and where it came from: flag, env VARIABLE, config FILE:LINE or default.',
    options: {},
    examples: [['detect --json', 'the same as one JSON object']],
  },
  list: {
    yargs: 'list', usage: 'list [options]',
    describe: 'List the backups of this node (or of every node) from their manifests',
    options: {
      'all-nodes': { type: 'boolean', default: false, describe: 'Every node under the destination, grouped by tag' },
      cluster: { type: 'boolean', default: false, describe: 'Cluster backups: complete or not, the members missing, skew, files and bytes' },
      'cluster-name': { type: 'string', describe: 'With --cluster: only this cluster\'s backups' },
      pitr: { type: 'boolean', default: false, describe: 'The point-in-time window the archived commit log covers, per node (with --all-nodes, every node), and its gaps' },
    },
    examples: [
      ['list --all-nodes', 'every node\'s backups; a tag present on several nodes reads as one cluster backup'],
      ['list --cluster', 'cluster backups: complete or not, and which members are missing'],
    ],
  },
  verify: {
    yargs: 'verify <backup>', usage: 'verify <backup> [options]',
    describe: 'Check that every object a backup\'s manifest names is stored with its size and checksum. The check ' +
      'lists the directories the backup uses (a request per 1,000 objects, not one per object) and compares each ' +
      'object\'s presence, size and the checksum or identity the listing gives (S3 ETag, GCS CRC32C, file:// size ' +
      'and modification time); an object the listing finds missing, different, or shows by size alone is then ' +
      'looked up on its own. It proves the objects are there as stored, not that their bytes are still intact: --deep does that',
    positional: { name: 'backup', describe: 'Backup tag, or "latest"' },
    options: {
      deep: { type: 'boolean', default: false, describe: 'Also download every object and recompute its CRC32C (finds bytes changed in place, e.g. bit rot)' },
      cluster: { type: 'boolean', default: false, describe: 'BACKUP is a cluster backup id: verify every member\'s backup (exit 4 when one is missing)' },
      identity: { type: 'string', describe: 'age identity file (AGE-SECRET-KEY-1…) with --deep: decrypt an encrypted backup\'s objects and check their plaintext; never stored' },
    },
    examples: [
      ['verify latest --deep', 'download and re-hash every object of the newest backup'],
      ['verify --cluster prod-daily-20261201', 'every member of a cluster backup'],
    ],
  },
  restore: {
    yargs: 'restore <backup>', usage: 'restore <backup> --to DIR [options] | restore --cluster ID --plan | --as MEMBER --to DIR | --load --to DIR',
    describe: 'Download a backup into a directory in Cassandra\'s layout (<ks>/<table>-<id>/…), or restore a whole cluster backup',
    details: 'With --cluster, BACKUP is a cluster backup id (see list --cluster). --plan prints what each target node restores. ' +
      'Same shape (as many new nodes as members): on each new node, before its first start, --as MEMBER (or auto) --to <its data directory> ' +
      'writes that member\'s files and prints the token settings to start with. Another size: --load --share K/N --to STAGING on each of N ' +
      'target nodes loads a disjoint share of a covering set of members through Cassandra\'s bulk loader (about one copy of the data); ' +
      '--create-schema first, on one node, recreates the schema from the cluster backup with cqlsh.',
    positional: { name: 'backup', describe: 'Snapshot backup tag, or "latest"; with --cluster, a cluster backup id' },
    options: {
      to: { type: 'string', describe: 'Directory to restore into (with --load: the staging directory); required except for --plan and --create-schema alone' },
      table: { type: 'array', default: [], describe: 'Only this keyspace or keyspace.table (one per flag; repeat the flag for more)' },
      until: { type: 'string', describe: 'Also apply the files of every incremental backup that finished after the snapshot started and started no later than this time (ISO 8601, or "now"); file times play no part' },
      force: { type: 'boolean', default: false, describe: 'Restore into a directory that is not empty' },
      cluster: { type: 'boolean', default: false, describe: 'BACKUP is a cluster backup id: restore (a part of) a whole cluster' },
      plan: { type: 'boolean', default: false, describe: 'With --cluster: print the plan for every target node (sources, files, bytes, tokens, schema, time); write nothing' },
      as: { type: 'string', describe: 'With --cluster: restore this member (address, host id or node id; "auto": the one this node\'s listen_address maps to)' },
      targets: { type: 'array', default: [], describe: 'With --cluster: the new nodes, ADDRESS[@RACK] or ADDRESS=SOURCE, comma-separated or repeated (default: the members\' own addresses)' },
      load: { type: 'boolean', default: false, describe: 'With --cluster: load through Cassandra\'s bulk loader (sstableloader), onto a cluster of any size' },
      share: { type: 'string', describe: 'With --load: K/N, this node loads share K of N disjoint shares (default 1/1)' },
      'load-hosts': { type: 'array', default: [], describe: 'With --load or --create-schema: contact points of the target cluster (default: this node\'s listen_address, else 127.0.0.1)' },
      'cql-port': { type: 'number', describe: 'With --load or --create-schema: the target cluster\'s native transport port (default 9042)' },
      'storage-port': { type: 'number', describe: 'With --load: the target cluster\'s storage (internode) port (default 7000)' },
      sstableloader: { type: 'string', describe: 'With --load: the bulk loader of the Cassandra installation (default: sstableloader beside --nodetool)' },
      cqlsh: { type: 'string', describe: 'With --create-schema: cqlsh (default: cqlsh beside --nodetool)' },
      'create-schema': { type: 'boolean', default: false, describe: 'With --cluster: first recreate the cluster backup\'s schema (keyspaces, tables) with cqlsh; run it on one node' },
      identity: { type: 'string', describe: 'age identity file (AGE-SECRET-KEY-1…) to decrypt an encrypted backup with; never stored' },
      'point-in-time': { type: 'string', describe: 'Restore to this time (ISO 8601, UTC without a zone): the newest snapshot before it (with "latest"), its incrementals, and the archived commit-log segments Cassandra replays up to it; refused (exit 4) when the archive does not cover it' },
    },
    examples: [
      ['restore latest --to /var/restore --table ks1.users', 'one table of the newest snapshot'],
      ['restore nightly --to /var/restore --until now', 'a snapshot and every incremental backup after it'],
      ['restore --cluster prod-daily-20261201 --plan', 'what every new node of a whole-cluster restore will restore'],
      ['restore --cluster prod-daily-20261201 --as auto --to /var/lib/cassandra/data', 'a new node of the same shape, before its first start'],
      ['restore --cluster prod-daily-20261201 --load --share 2/4 --to /var/restore', 'share 2 of 4 onto a cluster of another size'],
      ['restore latest --to /var/restore --point-in-time 2026-12-01T14:05:00Z', 'the node as it was at that second (commit-log replay)'],
    ],
  },
  purge: {
    yargs: 'purge', usage: 'purge --keep-last N | --keep-days D [--yes] [options]',
    describe: 'Delete expired backups; shows what it would delete unless --yes (exits 75, deleting no data, while a backup of the node runs on any host)',
    options: {
      'keep-last': { type: 'number', describe: 'Keep the N newest snapshot backups (the newest is always kept, and so are incrementals after the oldest kept snapshot)' },
      'keep-days': { type: 'number', describe: 'Keep backups younger than D days (a backup either rule keeps is kept)' },
      yes: { type: 'boolean', default: false, describe: 'Really delete' },
      'grace-hours': { type: 'number', default: 24, describe: 'Never delete unreferenced objects younger than this (a backup may be in progress)' },
      'keep-clusters': { type: 'number', describe: 'Keep this node\'s parts of the N newest complete cluster backups (default 1: the newest complete one is never broken)' },
    },
    examples: [['purge --keep-last 7 --yes', 'keep the 7 newest snapshots (and what --until restores of them need)']],
  },
  'archive-commitlog': {
    yargs: 'archive-commitlog <path> <name>', usage: 'archive-commitlog [--commitlog-staging DIR] <path> <name>',
    describe: 'Cassandra\'s archive_command (… %path %name): hard-link or copy a closed commit-log segment into the staging directory, fsync, exit 0',
    details: 'Fast and local: no network, no lock, no configuration file (only --commitlog-staging from the command line, else its default). ' +
      'Any failure exits non-zero with one line, and Cassandra keeps the segment. `commitlogs` uploads what is staged.',
    options: {
      'upload-within': { type: 'string', describe: 'After staging, also upload what is staged (as commitlogs, reading the configuration) for at most this long (e.g. 20s); the segment stays staged, and the exit is 0, if that does not finish' },
    },
    examples: [['archive-commitlog --commitlog-staging /var/lib/cass-backup-run/commitlog-staging %path %name',
      'the archive_command line of conf/commitlog_archiving.properties'],
    ['archive-commitlog --upload-within 20s %path %name', 'stage, then upload synchronously, bounded']],
  },
  commitlogs: {
    yargs: 'commitlogs', usage: 'commitlogs [options]',
    describe: 'Upload the staged commit-log segments (create-only, confirmed), write a commit-log manifest, then remove them from staging',
    details: 'A segment that could not be stored stays staged and the run exits 4. From cron, e.g. every 5 minutes, or after incremental.',
    options: {},
    examples: [['commitlogs --prometheus-file /var/lib/node_exporter/textfile/cass_backup.prom', 'upload, and record the age of the newest archived segment']],
  },
};

export const commandNames = Object.keys(commands) as CommandName[];

export function isCommandName(word: string): word is CommandName {
  return Object.hasOwn(commands, word);
}

/** The commands that have an option of this name. */
export function commandsWithOption(name: string): CommandName[] {
  return commandNames.filter((c) => Object.hasOwn(commands[c].options, name));
}
