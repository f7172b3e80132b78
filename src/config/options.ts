// The global options: one table for the flags, their environment variables, the configuration file and the help,
// and the one place that decides which of those gives each value (flag > environment > file > default).
import { booleanValue, nonNegativeNumber, oneOf, portNumber, positiveInteger, rateValue, sizeValue, shown } from './values.ts';
import { parseFreeSpaceRule } from '../disk-space.ts';
import { UsageError } from '../errors.ts';
import type { ServerSideOptions } from '../storage/server-side.ts';

export { parseSize } from './values.ts';

export type OptionType = 'string' | 'number' | 'boolean' | 'array';

/** What a value must be beyond its type; the same check whoever gave it. */
export type ValueCheck = 'positive-integer' | 'non-negative' | 'port' | 'size' | 'rate' | 'free-space';

export interface OptionSpec {
  readonly type: OptionType;
  readonly env?: readonly string[];
  readonly default?: string | number | boolean | readonly string[];
  readonly choices?: readonly string[];
  readonly check?: ValueCheck;
  readonly describe: string;
  readonly group: 'Configuration' | 'Destination' | 'Cassandra' | 'Run' | 'Output';
  readonly hidden?: boolean;
  /** Not accepted in the configuration file (the file's own path). */
  readonly notInFile?: boolean;
}

/** Where the configuration file is read from when neither --config nor CASS_BACKUP_CONFIG names one. */
export const DEFAULT_CONFIG_PATH = '/etc/cass-backup-run/config.yaml';

export const globalOptions = {
  config: { type: 'string', env: ['CASS_BACKUP_CONFIG'], group: 'Configuration', notInFile: true,
    describe: `YAML file of global options under the flags' names (e.g. dest: s3://b/p, data-dir: [/a, /b]); flags and environment variables override it. Default: ${DEFAULT_CONFIG_PATH} when present` },
  dest: { type: 'string', env: ['CASS_BACKUP_DEST'], group: 'Destination',
    describe: 'Where to store backups: s3://bucket/prefix, gs://bucket/prefix, az://account/container/prefix or file:///path. Default: the bucket BUCKET_NAME in the detected cloud' },
  bucket: { type: 'string', env: ['BUCKET_NAME'], group: 'Destination',
    describe: 'Bucket in the detected cloud (used when --dest is not given)' },
  cloud: { type: 'string', env: ['CASS_BACKUP_CLOUD'], default: 'auto', choices: ['auto', 'aws', 'gcp', 'azure', 'none'], group: 'Destination',
    describe: 'Cloud to assume; auto probes the AWS, GCE and Azure instance metadata services' },
  region: { type: 'string', env: ['REGION', 'AWS_REGION'], default: 'us-east-1', group: 'Destination',
    describe: 'AWS region of the bucket (the client also follows region redirects)' },
  's3-endpoint': { type: 'string', env: ['CASS_BACKUP_S3_ENDPOINT'], group: 'Destination',
    describe: 'Endpoint URL of an S3-compatible store (implies path-style addressing unless --no-s3-path-style)' },
  's3-path-style': { type: 'boolean', env: ['CASS_BACKUP_S3_PATH_STYLE'], group: 'Destination',
    describe: 'Use path-style S3 URLs (default: on with --s3-endpoint, off otherwise)' },
  's3-checksum': { type: 'string', env: ['CASS_BACKUP_S3_CHECKSUM'], default: 'when_supported', choices: ['when_supported', 'when_required'], group: 'Destination',
    describe: 'S3 request checksums: when_supported (SDK default) or when_required for stores that reject them' },
  'gcs-endpoint': { type: 'string', env: ['CASS_BACKUP_GCS_ENDPOINT'], group: 'Destination',
    describe: 'API endpoint of a GCS-compatible server (e.g. an emulator)' },
  layout: { type: 'string', env: ['CASS_BACKUP_LAYOUT'], default: 'seed', choices: ['seed', 'dedup'], group: 'Destination',
    describe: 'Bucket layout for new backups: seed (<node>/<path in the data dir>, restorable by hand) or dedup (each SSTable stored once per node, shared by every backup that contains it)' },
  'node-id': { type: 'string', env: ['CASS_BACKUP_NODE_ID'], group: 'Destination',
    describe: 'Name of this node in the bucket (default: <hostname>-<instance id>, or the hostname off-cloud)' },
  'data-dir': { type: 'array', env: ['CASS_BACKUP_DATA_DIRS'], group: 'Cassandra',
    describe: 'Cassandra data directory, one per flag (repeat the flag for more: --data-dir /a --data-dir /b; env: colon-separated; file: a list). Default: data_file_directories from cassandra.yaml' },
  'cassandra-yaml': { type: 'string', env: ['CASS_BACKUP_CASSANDRA_YAML'], group: 'Cassandra',
    describe: 'Path of cassandra.yaml (default: $CASSANDRA_CONF/cassandra.yaml, then /etc/cassandra/cassandra.yaml)' },
  nodetool: { type: 'string', env: ['CASS_BACKUP_NODETOOL'], default: 'nodetool', group: 'Cassandra',
    describe: 'nodetool executable' },
  'nodetool-host': { type: 'string', env: ['CASS_BACKUP_NODETOOL_HOST'], group: 'Cassandra', describe: 'nodetool -h (JMX host)' },
  'nodetool-port': { type: 'number', env: ['CASS_BACKUP_NODETOOL_PORT'], check: 'port', group: 'Cassandra', describe: 'nodetool -p (JMX port)' },
  'nodetool-user': { type: 'string', env: ['CASS_BACKUP_NODETOOL_USER'], group: 'Cassandra', describe: 'nodetool -u (JMX user)' },
  'nodetool-password-file': { type: 'string', env: ['CASS_BACKUP_NODETOOL_PASSWORD_FILE'], group: 'Cassandra',
    describe: 'nodetool -pwf (JMX password file; a password is never put on a command line)' },
  concurrency: { type: 'number', env: ['CASS_BACKUP_CONCURRENCY'], default: 8, check: 'positive-integer', group: 'Run',
    describe: 'Files uploaded in parallel' },
  'part-concurrency': { type: 'number', env: ['CASS_BACKUP_PART_CONCURRENCY'], default: 4, check: 'positive-integer', group: 'Run',
    describe: 'Parts of one large file uploaded in parallel' },
  'multipart-threshold': { type: 'string', env: ['CASS_BACKUP_MULTIPART_THRESHOLD'], default: '64MiB', check: 'size', group: 'Run',
    describe: 'Files larger than this go multipart (S3) or resumable (GCS)' },
  'state-dir': { type: 'string', env: ['CASS_BACKUP_STATE_DIR'], group: 'Run',
    describe: 'Lock, journal and manifest cache (default: /var/lib/cass-backup-run as root, else ~/.local/state/cass-backup-run)' },
  'commitlog-staging': { type: 'string', env: ['CASS_BACKUP_COMMITLOG_STAGING'], default: '/var/lib/cass-backup-run/commitlog-staging', group: 'Run',
    describe: 'Directory archive-commitlog stages commit-log segments in and commitlogs uploads from (writable by the Cassandra user; archive-commitlog reads only the flag)' },
  'metadata-timeout': { type: 'number', env: ['CASS_BACKUP_METADATA_TIMEOUT_MS'], default: 1000, check: 'positive-integer', group: 'Run',
    describe: 'Milliseconds to wait for each cloud metadata service' },
  'max-rate': { type: 'string', env: ['CASS_BACKUP_MAX_RATE'], check: 'rate', group: 'Run',
    describe: 'Upper bound on upload bandwidth for the whole run, e.g. 50MiB (per second); default unlimited' },
  'low-priority': { type: 'boolean', env: ['CASS_BACKUP_LOW_PRIORITY'], default: false, group: 'Run',
    describe: 'Run at nice 19 and in the idle I/O class (ionice -c3), so the node keeps serving' },
  'min-free-disk': { type: 'string', env: ['CASS_BACKUP_MIN_FREE_DISK'], default: '5%', check: 'free-space', group: 'Run',
    describe: 'Refuse to snapshot when a data disk has less free space than this (percent or size)' },
  'stale-snapshot-age': { type: 'number', env: ['CASS_BACKUP_STALE_SNAPSHOT_AGE_HOURS'], default: 72, check: 'non-negative', group: 'Run',
    describe: 'Clear snapshots this tool took and left behind (after a crash) once older than this many hours; 0 never' },
  'io-timeout': { type: 'number', env: ['CASS_BACKUP_IO_TIMEOUT_MS'], default: 120_000, check: 'positive-integer', group: 'Run',
    describe: 'Milliseconds an S3 request may make no progress, or a GCS request (one resumable chunk) may take, before it is abandoned and retried' },
  'retry-attempts': { type: 'number', env: ['CASS_BACKUP_RETRY_ATTEMPTS'], default: 10, check: 'positive-integer', group: 'Run',
    describe: 'Attempts per object operation before a file counts as failed (transient errors only)' },
  'retry-delay': { type: 'number', env: ['CASS_BACKUP_RETRY_DELAY_MS'], default: 500, check: 'positive-integer', group: 'Run',
    describe: 'First retry delay in milliseconds; doubles per attempt (with jitter), at most 20 s' },
  'lease-timeout': { type: 'number', env: ['CASS_BACKUP_LEASE_TIMEOUT'], default: 600, check: 'positive-integer', group: 'Run',
    describe: 'Seconds without a heartbeat after which a run announced in the bucket (a backup or purge on any host) is judged dead' },
  'allow-host-id-change': { type: 'boolean', env: ['CASS_BACKUP_ALLOW_HOST_ID_CHANGE'], default: false, group: 'Run',
    describe: 'Write under a node id whose latest backup names another Cassandra host id (after replacing that node)' },
  'dry-run': { type: 'boolean', env: ['CASS_BACKUP_DRY_RUN'], default: false, group: 'Run',
    describe: 'Show what would be done; run no nodetool command that changes anything and write nothing' },
  'prometheus-file': { type: 'string', env: ['CASS_BACKUP_PROMETHEUS_FILE'], group: 'Output',
    describe: 'After each run, update this node_exporter textfile (last success time, duration, bytes, files, failures)' },
  json: { type: 'boolean', env: ['CASS_BACKUP_JSON'], default: false, group: 'Output',
    describe: 'Machine-readable JSON lines on stdout (events and a final summary)' },
  quiet: { type: 'boolean', env: ['CASS_BACKUP_QUIET'], default: false, group: 'Output',
    describe: 'Print only warnings, errors and the final summary line (ignored with --json)' },
  verbose: { type: 'boolean', env: ['CASS_BACKUP_VERBOSE'], default: false, group: 'Output',
    describe: 'Also print every file as it is finished, with its size, and every retry (ignored with --json)' },
  'azure-endpoint': { type: 'string', env: ['CASS_BACKUP_AZURE_ENDPOINT', 'AZURE_STORAGE_ENDPOINT'], group: 'Destination',
    describe: 'Blob service URL of an Azure-compatible server, account included as it wants it (e.g. Azurite: http://127.0.0.1:10000/devstoreaccount1). Default: https://<account>.blob.core.windows.net' },
  'azure-account': { type: 'string', env: ['CASS_BACKUP_AZURE_ACCOUNT', 'AZURE_STORAGE_ACCOUNT'], group: 'Destination',
    describe: 'Azure storage account of BUCKET_NAME\'s container on a detected Azure VM (used when --dest is not given)' },
  'storage-class': { type: 'string', env: ['CASS_BACKUP_STORAGE_CLASS'], group: 'Destination',
    describe: 'Storage class of data objects: S3 STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE…; GCS NEARLINE, COLDLINE, ARCHIVE; Azure Hot, Cool, Cold, Archive. Manifests and other catalog records always stay in the default class' },
  sse: { type: 'string', env: ['CASS_BACKUP_SSE'], choices: ['aws:kms', 'AES256'], group: 'Destination',
    describe: 'S3 server-side encryption of every object (and of server-side copies): aws:kms (with --sse-kms-key-id, else the bucket\'s AWS managed key) or AES256' },
  'sse-kms-key-id': { type: 'string', env: ['CASS_BACKUP_SSE_KMS_KEY_ID'], group: 'Destination',
    describe: 'With --sse aws:kms: the KMS key id or ARN' },
  'sse-c-key': { type: 'string', env: ['CASS_BACKUP_SSE_C_KEY_FILE'], group: 'Destination',
    describe: 'S3 SSE-C: a file holding the 256-bit key (base64, e.g. from `openssl rand -base64 32`); sent on every write, read and copy. The manifest records its SHA-256, never the key' },
  'gcs-kms-key': { type: 'string', env: ['CASS_BACKUP_GCS_KMS_KEY'], group: 'Destination',
    describe: 'GCS customer-managed key (CMEK) for every object: projects/P/locations/L/keyRings/R/cryptoKeys/K' },
  'gcs-encryption-key': { type: 'string', env: ['CASS_BACKUP_GCS_ENCRYPTION_KEY_FILE'], group: 'Destination',
    describe: 'GCS customer-supplied key (CSEK): a file holding the 256-bit key (base64); sent on every write, read and copy' },
  'azure-encryption-scope': { type: 'string', env: ['CASS_BACKUP_AZURE_ENCRYPTION_SCOPE'], group: 'Destination',
    describe: 'Azure encryption scope of the storage account for every blob written (and server-side copies)' },
  'encrypt-to': { type: 'array', env: ['CASS_BACKUP_ENCRYPT_TO'], group: 'Destination',
    describe: 'Encrypt every object of new backups on this node to this age recipient (age1… X25519 public key), one per flag (env: colon-separated; file: a list); off by default. The identity (secret key) is not needed on the node' },
  'encrypt-to-file': { type: 'string', env: ['CASS_BACKUP_ENCRYPT_TO_FILE'], group: 'Destination',
    describe: 'Encrypt new backups to the recipients in this age recipients file (one age1… per line, # comments); adds to --encrypt-to' },
} as const satisfies Record<string, OptionSpec>;

export type GlobalOptionName = keyof typeof globalOptions;

/** The server-side encryption and storage-class options are declared once, where they are applied (server-side.ts). */
export interface GlobalOptions extends ServerSideOptions {
  readonly dest: string | undefined;
  readonly bucket: string | undefined;
  readonly cloud: 'auto' | 'aws' | 'gcp' | 'azure' | 'none';
  readonly region: string;
  readonly s3Endpoint: string | undefined;
  readonly s3PathStyle: boolean | undefined;
  readonly s3Checksum: 'when_supported' | 'when_required';
  readonly gcsEndpoint: string | undefined;
  readonly nodeId: string | undefined;
  readonly layout: 'seed' | 'dedup';
  readonly dataDirs: readonly string[];
  readonly cassandraYaml: string | undefined;
  readonly nodetool: string;
  readonly nodetoolHost: string | undefined;
  readonly nodetoolPort: number | undefined;
  readonly nodetoolUser: string | undefined;
  readonly nodetoolPasswordFile: string | undefined;
  readonly concurrency: number;
  readonly partConcurrency: number;
  readonly multipartThreshold: number;
  readonly stateDir: string | undefined;
  readonly commitlogStaging: string;
  readonly metadataTimeoutMs: number;
  readonly maxRate: number | undefined;
  readonly lowPriority: boolean;
  readonly minFreeDisk: string;
  readonly staleSnapshotAgeHours: number;
  readonly prometheusFile: string | undefined;
  readonly ioTimeoutMs: number;
  readonly retryAttempts: number;
  readonly retryDelayMs: number;
  readonly leaseTimeoutMs: number;
  readonly allowHostIdChange: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly azureEndpoint: string | undefined;
  readonly azureAccount: string | undefined;
  /** age recipients from --encrypt-to (a recipients file adds to them): non-empty means client-side encryption. */
  readonly encryptTo: readonly string[];
  readonly encryptToFile: string | undefined;
}

type Raw = Readonly<Record<string, unknown>>;

/** A value as given, once checked: what `detect` shows and what GlobalOptions is built from. */
export type OptionValue = string | number | boolean | readonly string[];

/** Where a value came from. */
export type OptionOrigin =
  | { readonly kind: 'flag' }
  | { readonly kind: 'env'; readonly variable: string }
  | { readonly kind: 'config'; readonly file: string; readonly line: number }
  | { readonly kind: 'default' };

/** "flag", "env CASS_BACKUP_DEST", "config /etc/cass-backup-run/config.yaml:3" or "default". */
export function describeOrigin(origin: OptionOrigin): string {
  switch (origin.kind) {
    case 'flag': return 'flag';
    case 'env': return `env ${origin.variable}`;
    case 'config': return `config ${origin.file}:${origin.line}`;
    case 'default': return 'default';
  }
}

/** The values a configuration file gives, already checked (src/config/config-file.ts). */
export interface FileValues {
  readonly path: string;
  readonly values: ReadonlyMap<GlobalOptionName, { readonly value: OptionValue; readonly line: number }>;
}

export interface ResolvedValue {
  readonly value: OptionValue;
  readonly origin: OptionOrigin;
}

export interface ResolvedOptions {
  readonly options: GlobalOptions;
  /** Every option that has a value, and where that value came from. */
  readonly values: Readonly<Partial<Record<GlobalOptionName, ResolvedValue>>>;
}

/**
 * Checks one value of option `name` against its type, choices and rule; `label` says who gave it, for the message
 * ("--concurrency", "CASS_BACKUP_CONCURRENCY (for --concurrency)", "/etc/…/config.yaml:3: concurrency").
 */
export function checkOptionValue(name: GlobalOptionName, raw: unknown, label: string): OptionValue {
  const spec: OptionSpec = globalOptions[name];
  switch (spec.type) {
    case 'boolean':
      return booleanValue(label, raw);
    case 'number':
      return checkNumber(spec.check, label, raw);
    case 'array':
      return (Array.isArray(raw) ? raw : [raw]).map((item: unknown) => text(label, item));
    case 'string': {
      const value = text(label, raw);
      if (spec.choices) oneOf(label, value, spec.choices);
      checkText(spec.check, label, value);
      return value;
    }
  }
}

function text(label: string, raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number') return String(raw);
  throw new UsageError(`${label}: expected a string, got ${shown(raw)}`);
}

function checkNumber(check: ValueCheck | undefined, label: string, raw: unknown): number {
  switch (check) {
    case 'positive-integer': return positiveInteger(label, raw);
    case 'non-negative': return nonNegativeNumber(label, raw);
    case 'port': return portNumber(label, raw);
    default: {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
      if (!Number.isFinite(n)) throw new UsageError(`${label}: expected a number, got ${shown(raw)}`);
      return n;
    }
  }
}

function checkText(check: ValueCheck | undefined, label: string, value: string): void {
  if (check === 'size') sizeValue(label, value);
  if (check === 'rate') rateValue(label, value);
  if (check === 'free-space') {
    try {
      parseFreeSpaceRule(value, (_name, size) => sizeValue(label, size));
    } catch (err) {
      if (err instanceof UsageError && err.message.startsWith(`${label}: `)) throw err; // the size's own message
      throw new UsageError(`${label}: expected a percentage of at most 100% or a size (e.g. 5%, 10GiB), got ${shown(value)}`);
    }
  }
}

/** Applies env and defaults to what yargs parsed (yargs itself is given no defaults, so "not given" is visible). */
export function resolveGlobalOptions(argv: Raw, env: NodeJS.ProcessEnv, file?: FileValues): GlobalOptions {
  return resolveOptions(argv, env, file).options;
}

/** Every global option's value: the flag, else the first environment variable set, else the file, else the default. */
export function resolveOptions(argv: Raw, env: NodeJS.ProcessEnv, file?: FileValues): ResolvedOptions {
  const values: Partial<Record<GlobalOptionName, ResolvedValue>> = {};
  for (const name of Object.keys(globalOptions) as GlobalOptionName[]) {
    const resolved = resolveOne(name, argv, env, file);
    if (resolved !== undefined) values[name] = resolved;
  }
  return { options: toGlobalOptions((name) => values[name]?.value), values };
}

function resolveOne(name: GlobalOptionName, argv: Raw, env: NodeJS.ProcessEnv, file: FileValues | undefined): ResolvedValue | undefined {
  const spec: OptionSpec = globalOptions[name];
  const given = argv[name];
  if (given !== undefined && given !== '' && !(Array.isArray(given) && given.length === 0)) {
    return { value: checkOptionValue(name, given, `--${name}`), origin: { kind: 'flag' } };
  }
  for (const variable of spec.env ?? []) {
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    const value = spec.type === 'array' ? raw.split(':').filter((s) => s !== '') : raw;
    return { value: checkOptionValue(name, value, `${variable} (for --${name})`), origin: { kind: 'env', variable } };
  }
  const fromFile = file?.values.get(name);
  if (fromFile !== undefined && file !== undefined) return { value: fromFile.value, origin: { kind: 'config', file: file.path, line: fromFile.line } };
  if (spec.default !== undefined) return { value: spec.default, origin: { kind: 'default' } };
  return undefined;
}

function toGlobalOptions(get: (name: GlobalOptionName) => OptionValue | undefined): GlobalOptions {
  const str = (name: GlobalOptionName): string | undefined => {
    const v = get(name);
    return v === undefined || v === '' ? undefined : String(v);
  };
  const num = (name: GlobalOptionName): number => Number(get(name));
  return {
    dest: str('dest'),
    bucket: str('bucket'),
    cloud: get('cloud') as GlobalOptions['cloud'],
    region: String(get('region')),
    s3Endpoint: str('s3-endpoint'),
    s3PathStyle: get('s3-path-style') as boolean | undefined,
    s3Checksum: get('s3-checksum') as GlobalOptions['s3Checksum'],
    gcsEndpoint: str('gcs-endpoint'),
    nodeId: str('node-id'),
    layout: get('layout') as GlobalOptions['layout'],
    dataDirs: (get('data-dir') as readonly string[] | undefined) ?? [],
    cassandraYaml: str('cassandra-yaml'),
    nodetool: String(get('nodetool')),
    nodetoolHost: str('nodetool-host'),
    nodetoolPort: get('nodetool-port') as number | undefined,
    nodetoolUser: str('nodetool-user'),
    nodetoolPasswordFile: str('nodetool-password-file'),
    concurrency: num('concurrency'),
    partConcurrency: num('part-concurrency'),
    multipartThreshold: sizeValue('--multipart-threshold', get('multipart-threshold')),
    stateDir: str('state-dir'),
    commitlogStaging: String(get('commitlog-staging')),
    metadataTimeoutMs: num('metadata-timeout'),
    maxRate: get('max-rate') === undefined ? undefined : rateValue('--max-rate', get('max-rate')),
    lowPriority: Boolean(get('low-priority')),
    minFreeDisk: String(get('min-free-disk')),
    staleSnapshotAgeHours: num('stale-snapshot-age'),
    prometheusFile: str('prometheus-file'),
    ioTimeoutMs: num('io-timeout'),
    retryAttempts: num('retry-attempts'),
    retryDelayMs: num('retry-delay'),
    leaseTimeoutMs: num('lease-timeout') * 1000,
    allowHostIdChange: Boolean(get('allow-host-id-change')),
    dryRun: Boolean(get('dry-run')),
    json: Boolean(get('json')),
    quiet: Boolean(get('quiet')),
    verbose: Boolean(get('verbose')),
    azureEndpoint: str('azure-endpoint'),
    azureAccount: str('azure-account'),
    storageClass: str('storage-class'),
    sse: str('sse') as GlobalOptions['sse'],
    sseKmsKeyId: str('sse-kms-key-id'),
    sseCKeyFile: str('sse-c-key'),
    gcsKmsKey: str('gcs-kms-key'),
    gcsEncryptionKeyFile: str('gcs-encryption-key'),
    azureEncryptionScope: str('azure-encryption-scope'),
    encryptTo: (get('encrypt-to') as readonly string[] | undefined) ?? [],
    encryptToFile: str('encrypt-to-file'),
  };
}
