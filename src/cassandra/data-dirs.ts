// Which data directories to enumerate: `--data-dir` flags, else cassandra.yaml, else the packages' default.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../errors.ts';

export const DEFAULT_DATA_DIR = '/var/lib/cassandra/data';
/** Where the Debian and RPM packages install cassandra.yaml; read only when it exists. */
export const PACKAGE_CASSANDRA_YAML = '/etc/cassandra/cassandra.yaml';

export interface ResolveDataDirsInput {
  /** Values of `--data-dir`, in order. */
  readonly flags: readonly string[];
  /** `--cassandra-yaml`. */
  readonly cassandraYaml?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Files tried when neither the option nor CASSANDRA_CONF names one; tests pass []. */
  readonly fallbackYamlPaths?: readonly string[];
}

export interface ResolvedDataDirs {
  /** Absolute, existing directories, without duplicates. */
  readonly dirs: string[];
  readonly source: 'flag' | 'cassandra.yaml' | 'default';
  /** The cassandra.yaml that was read, if any. */
  readonly yamlPath?: string;
}

export interface CassandraYamlFacts {
  readonly clusterName?: string;
  readonly dataFileDirectories?: string[];
  readonly localSystemDataFileDirectory?: string;
  /** The address this node listens on for other nodes (a restore onto new nodes maps members by it). */
  readonly listenAddress?: string;
}

export async function resolveDataDirs(input: ResolveDataDirsInput): Promise<ResolvedDataDirs> {
  if (input.flags.length > 0) {
    const dirs = unique(input.flags.map((d) => path.resolve(d)));
    await assertDirectories(dirs, '--data-dir');
    return { dirs, source: 'flag' };
  }
  const yamlPath = await chooseYamlPath(input);
  if (yamlPath === undefined) {
    await assertDirectories([DEFAULT_DATA_DIR], 'the default; no cassandra.yaml found, use --data-dir or --cassandra-yaml');
    return { dirs: [DEFAULT_DATA_DIR], source: 'default' };
  }
  const facts = await readCassandraYamlFacts(yamlPath);
  const dirs = unique(dirsFromFacts(facts, yamlPath, input.env));
  await assertDirectories(dirs, yamlPath);
  return { dirs, source: 'cassandra.yaml', yamlPath };
}

// An explicitly named file must exist (readCassandraYamlFacts says so); a fallback is used only if present.
async function chooseYamlPath(input: ResolveDataDirsInput): Promise<string | undefined> {
  if (input.cassandraYaml !== undefined && input.cassandraYaml !== '') return path.resolve(input.cassandraYaml);
  const conf = input.env['CASSANDRA_CONF'];
  if (conf !== undefined && conf !== '') return path.resolve(conf, 'cassandra.yaml');
  for (const candidate of input.fallbackYamlPaths ?? [PACKAGE_CASSANDRA_YAML]) {
    if (await isFile(candidate)) return candidate;
  }
  return undefined;
}

// Without data_file_directories Cassandra uses $CASSANDRA_HOME/data/data (tarball installs).
function dirsFromFacts(facts: CassandraYamlFacts, yamlPath: string, env: ResolveDataDirsInput['env']): string[] {
  const home = env['CASSANDRA_HOME'];
  const dirs = [...(facts.dataFileDirectories ?? [home ? path.join(home, 'data', 'data') : DEFAULT_DATA_DIR])];
  if (facts.localSystemDataFileDirectory !== undefined) dirs.push(facts.localSystemDataFileDirectory);
  for (const dir of dirs) {
    // Cassandra would resolve a relative path against its own working directory, which we cannot know.
    if (!path.isAbsolute(dir)) {
      throw new UsageError(`data directory '${dir}' in ${yamlPath} is relative: pass --data-dir with the absolute path`);
    }
  }
  return dirs.map((d) => path.normalize(d));
}

/** Reads what the manifest and data-directory resolution need from cassandra.yaml. UsageError when unusable. */
export async function readCassandraYamlFacts(yamlPath: string): Promise<CassandraYamlFacts> {
  const doc = parseYamlMapping(await readYamlText(yamlPath), yamlPath);
  const clusterName = optionalString(doc, 'cluster_name', yamlPath);
  const dataFileDirectories = optionalStringList(doc, 'data_file_directories', yamlPath);
  const localSystemDataFileDirectory = optionalString(doc, 'local_system_data_file_directory', yamlPath);
  const listenAddress = optionalString(doc, 'listen_address', yamlPath);
  return {
    ...(listenAddress !== undefined && { listenAddress }),
    ...(clusterName !== undefined && { clusterName }),
    ...(dataFileDirectories !== undefined && { dataFileDirectories }),
    ...(localSystemDataFileDirectory !== undefined && { localSystemDataFileDirectory }),
  };
}

async function readYamlText(yamlPath: string): Promise<string> {
  try {
    return await readFile(yamlPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`;
    throw new UsageError(`cassandra.yaml ${yamlPath} ${reason}: pass --cassandra-yaml or --data-dir`, { cause: error });
  }
}

function parseYamlMapping(text: string, yamlPath: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    const first = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new UsageError(`cassandra.yaml ${yamlPath} is not valid YAML: ${first}`, { cause: error });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UsageError(`cassandra.yaml ${yamlPath} is not a YAML mapping of settings`);
  }
  return doc as Record<string, unknown>;
}

// An explicitly empty setting (`key:` or `key: ""`) is treated as unset, as Cassandra does.
function optionalString(doc: Record<string, unknown>, key: string, yamlPath: string): string | undefined {
  const value = doc[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new UsageError(`cassandra.yaml ${yamlPath}: ${key} must be a string`);
  return value;
}

function optionalStringList(doc: Record<string, unknown>, key: string, yamlPath: string): string[] | undefined {
  const value = doc[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v !== '')) {
    throw new UsageError(`cassandra.yaml ${yamlPath}: ${key} must be a non-empty list of paths`);
  }
  return value as string[];
}

async function assertDirectories(dirs: readonly string[], origin: string): Promise<void> {
  for (const dir of dirs) {
    let isDir: boolean;
    try {
      isDir = (await stat(dir)).isDirectory();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`;
      throw new UsageError(`data directory ${dir} (from ${origin}) ${reason}`, { cause: error });
    }
    if (!isDir) throw new UsageError(`data directory ${dir} (from ${origin}) is not a directory`);
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}
