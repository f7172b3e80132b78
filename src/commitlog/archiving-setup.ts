// `detect`'s commit-log part: is archive_command set (conf/commitlog_archiving.properties beside cassandra.yaml),
// does it run archive-commitlog into the staging directory commitlogs uploads from, and can the Cassandra user
// (the owner of the commit-log directory) write there. Reads only.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface ArchivingSetup {
  readonly propertiesFile: string | null;
  /** archive_command's value, null when unset or empty. */
  readonly archiveCommand: string | null;
  readonly usesArchiveCommitlog: boolean;
  /** The staging directory archive_command names (its --commitlog-staging, else the default). */
  readonly commandStaging: string | null;
  readonly staging: string;
  readonly cassandraUser: { readonly uid: number; readonly from: string } | null;
  /** Whether the Cassandra user can create files in the staging directory (null: not known). */
  readonly stagingWritable: boolean | null;
  readonly problems: string[];
}

export async function inspectArchiving(yamlPath: string | undefined, staging: string, defaultStaging: string): Promise<ArchivingSetup> {
  const problems: string[] = [];
  const propertiesFile = yamlPath === undefined ? null : join(dirname(yamlPath), 'commitlog_archiving.properties');
  const props = propertiesFile === null ? undefined : await readFile(propertiesFile, 'utf8').catch(() => undefined);
  const archiveCommand = props === undefined ? null : (/^\s*archive_command\s*[=:]\s*(.*?)\s*$/m.exec(props)?.[1] || null);
  const usesArchiveCommitlog = archiveCommand !== null && /\barchive-commitlog\b/.test(archiveCommand);
  const named = archiveCommand === null ? undefined : /--commitlog-staging[= ](\S+)/.exec(archiveCommand)?.[1];
  const commandStaging = usesArchiveCommitlog ? named ?? defaultStaging : null;
  if (archiveCommand === null) problems.push(`commit-log archiving is off: no archive_command in ${propertiesFile ?? 'commitlog_archiving.properties (cassandra.yaml not found)'}`);
  else if (!usesArchiveCommitlog) problems.push('archive_command does not run cass-backup-run archive-commitlog');
  else if (!/%path\b/.test(archiveCommand) || !/%name\b/.test(archiveCommand)) problems.push('archive_command must pass %path %name');
  if (commandStaging !== null && commandStaging !== staging) problems.push(`archive_command stages into ${commandStaging}, but commitlogs uploads from ${staging}`);
  const yaml = yamlPath === undefined ? undefined : await readFile(yamlPath, 'utf8').catch(() => undefined);
  const commitlogDir = yaml === undefined ? undefined : /^commitlog_directory:\s*["']?([^"'\s]+)/m.exec(yaml)?.[1];
  const owner = commitlogDir === undefined ? undefined : await stat(commitlogDir).catch(() => undefined);
  const cassandraUser = owner === undefined || commitlogDir === undefined ? null : { uid: owner.uid, from: commitlogDir };
  const stagingWritable = cassandraUser === null ? null : await writableBy(cassandraUser.uid, commandStaging ?? staging);
  if (stagingWritable === false) problems.push(`the Cassandra user (uid ${cassandraUser!.uid}, owner of ${cassandraUser!.from}) cannot write to ${commandStaging ?? staging}`);
  return { propertiesFile, archiveCommand, usesArchiveCommitlog, commandStaging, staging, cassandraUser, stagingWritable, problems };
}

/** Whether uid may create entries in dir (or, when dir does not exist yet, in its nearest existing parent). */
async function writableBy(uid: number, dir: string): Promise<boolean | null> {
  let d = dir;
  for (;;) {
    const st = await stat(d).catch(() => undefined);
    if (st !== undefined) {
      if (uid === 0) return true;
      const mode = st.mode;
      if (st.uid === uid) return (mode & 0o300) === 0o300;
      if ((await groupsOf(uid)).has(st.gid)) return (mode & 0o030) === 0o030;
      return (mode & 0o003) === 0o003;
    }
    const up = dirname(d);
    if (up === d) return null;
    d = up;
  }
}

async function groupsOf(uid: number): Promise<Set<number>> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const entry = passwd.split('\n').map((l) => l.split(':')).find((f) => Number(f[2]) === uid);
  const out = new Set<number>();
  if (!entry) return out;
  out.add(Number(entry[3]));
  const group = await readFile('/etc/group', 'utf8').catch(() => '');
  for (const line of group.split('\n')) {
    const f = line.split(':');
    if ((f[3] ?? '').split(',').includes(entry[0] ?? '')) out.add(Number(f[2]));
  }
  return out;
}

export function archivingLines(a: ArchivingSetup): string[] {
  return [
    `commit logs:  ${a.archiveCommand === null ? 'not archived' : `archive_command=${a.archiveCommand}`} (${a.propertiesFile ?? 'no cassandra.yaml'})`,
    `  staging:    ${a.commandStaging ?? a.staging}${a.stagingWritable === null ? '' : a.stagingWritable ? ', writable by the Cassandra user' : ', NOT writable by the Cassandra user'}` +
      `${a.cassandraUser ? ` (uid ${a.cassandraUser.uid})` : ''}`,
    ...a.problems.map((p) => `  warning:    ${p}`),
  ];
}
