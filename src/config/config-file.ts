// The configuration file: YAML, the global options under their flags' names (`dest: s3://b/p`,
// `data-dir: [/a, /b]`, `max-rate: 50MiB`). Every key and value is checked when the file is read, with the rule a
// flag's value gets, and a mistake is reported with the file and line: a bad file must not lie in wait for the
// night a flag that overrides it is left out. It holds no secrets: none of our options is one.
import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { DEFAULT_CONFIG_PATH, checkOptionValue, globalOptions, type FileValues, type GlobalOptionName, type OptionSpec, type OptionValue } from './options.ts';
import { commandsWithOption } from './commands.ts';
import { closestMatch } from './suggest.ts';
import { UsageError } from '../errors.ts';

/** Which file to read, and who named it (a file named explicitly must exist). */
export interface ConfigChoice {
  readonly path: string;
  /** '--config' or 'CASS_BACKUP_CONFIG'; undefined for the default path, which may be absent. */
  readonly namedBy: '--config' | 'CASS_BACKUP_CONFIG' | undefined;
}

export function chooseConfigFile(argv: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv, defaultPath = DEFAULT_CONFIG_PATH): ConfigChoice {
  const flag = argv.config;
  if (typeof flag === 'string' && flag !== '') return { path: flag, namedBy: '--config' };
  const fromEnv = env.CASS_BACKUP_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, namedBy: 'CASS_BACKUP_CONFIG' };
  return { path: defaultPath, namedBy: undefined };
}

export type ReadText = (path: string) => Promise<string>;

const readText: ReadText = (path) => readFile(path, 'utf8');

/** The file's checked values; undefined when the default file does not exist. */
export async function loadConfigFile(choice: ConfigChoice, read: ReadText = readText): Promise<FileValues | undefined> {
  let text: string;
  try {
    text = await read(choice.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && choice.namedBy === undefined) return undefined;
    const named = choice.namedBy === undefined ? `configuration file ${choice.path}` : choice.namedBy === '--config'
      ? `--config ${choice.path}` : `CASS_BACKUP_CONFIG=${choice.path}`;
    throw new UsageError(`${named}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(err)})`}`);
  }
  return parseConfigFile(choice.path, text);
}

const SECRET_LIKE = /secret|passw|token|credential|access.?key|private.?key/i;

/** Parses and checks a configuration file's text; `path` is for the messages. */
export function parseConfigFile(path: string, text: string): FileValues {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const lineOf = (node: Node | null | undefined): number => lines.linePos(node?.range?.[0] ?? 0).line;
  const problem = doc.errors[0];
  if (problem !== undefined) {
    const line = lines.linePos(problem.pos[0]).line;
    throw new UsageError(`${path}:${line}: not valid YAML: ${problem.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const values = new Map<GlobalOptionName, { value: OptionValue; line: number }>();
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return { path, values };
  if (!isMap(doc.contents)) {
    throw new UsageError(`${path}:${lineOf(doc.contents)}: expected option names and values (e.g. "dest: s3://bucket/prefix"), got ${isSeq(doc.contents) ? 'a list' : 'a single value'}`);
  }
  for (const pair of doc.contents.items) {
    const key = pair.key as Node | null;
    const line = lineOf(key);
    const name = isScalar(key) ? String(key.value) : undefined;
    if (name === undefined) throw new UsageError(`${path}:${line}: expected an option name as the key`);
    const option = fileOption(path, line, name);
    const raw = plainValue(globalOptions[option], pair.value as Node | null);
    if (raw === null || raw === '') throw new UsageError(`${path}:${line}: ${name}: has no value (remove the line to use the default)`);
    values.set(option, { value: checkOptionValue(option, raw, `${path}:${line}: ${name}`), line });
  }
  return { path, values };
}

/** The option a key names, or a UsageError saying why it is not one. */
function fileOption(path: string, line: number, key: string): GlobalOptionName {
  const settable = (Object.keys(globalOptions) as GlobalOptionName[]).filter((n) => !(globalOptions[n] as OptionSpec).notInFile);
  if ((settable as string[]).includes(key)) return key as GlobalOptionName;
  const at = `${path}:${line}`;
  if (Object.hasOwn(globalOptions, key)) throw new UsageError(`${at}: "${key}" cannot be set in a configuration file`);
  if (SECRET_LIKE.test(key)) {
    throw new UsageError(`${at}: "${key}" looks like a secret, and secrets have no place in the configuration file: credentials come from ` +
      `the cloud SDKs' default chains, a JMX password from the file named by nodetool-password-file`);
  }
  const owners = commandsWithOption(key);
  if (owners.length > 0) {
    throw new UsageError(`${at}: "${key}" is an option of the ${owners.join(' and ')} command${owners.length > 1 ? 's' : ''}, not a global option: give it on the command line`);
  }
  const kebab = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/_/g, '-');
  const match = (settable as string[]).includes(kebab) ? kebab : closestMatch(key, settable);
  throw new UsageError(`${at}: unknown option "${key}"${match === undefined ? '' : `; did you mean "${match}"?`}`);
}

/**
 * The JavaScript value of a YAML node, or null when there is none. A number given for a string option keeps the
 * text as written: `node-id: 0123` is the node "0123", not 123.
 */
function plainValue(spec: OptionSpec, node: Node | null): unknown {
  if (node === null) return null;
  const scalar = (n: unknown): unknown => {
    if (!isScalar(n)) return isSeq(n) ? [] : {}; // nested lists and mappings are reported as the wrong type
    if (typeof n.value === 'number' && spec.type !== 'number' && typeof n.source === 'string') return n.source;
    return n.value;
  };
  if (isSeq(node)) return node.items.length === 0 && spec.type === 'array' ? null : node.items.map(scalar);
  return scalar(node);
}
