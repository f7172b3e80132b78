// Every global option, declared once: name, type, environment variable, default and help.
// Precedence: command-line flag > environment variable > default (DESIGN section 3).
import { UsageError } from '../errors.ts';

export type OptionType = 'string' | 'number' | 'boolean' | 'array';

export interface OptionSpec {
  readonly type: OptionType;
  readonly env?: readonly string[];
  readonly default?: string | number | boolean | readonly string[];
  readonly choices?: readonly string[];
  readonly describe: string;
  readonly group: 'Destination' | 'Cassandra' | 'Run' | 'Output';
  readonly hidden?: boolean;
}

export const globalOptions = {
  dest: { type: 'string', env: ['CASS_BACKUP_DEST'], group: 'Destination',
    describe: 'Where to store backups: s3://bucket/prefix, gs://bucket/prefix or file:///path. Default: the bucket BUCKET_NAME in the detected cloud' },
  bucket: { type: 'string', env: ['BUCKET_NAME'], group: 'Destination',
    describe: 'Bucket in the detected cloud (used when --dest is not given)' },
  cloud: { type: 'string', env: ['CASS_BACKUP_CLOUD'], default: 'auto', choices: ['auto', 'aws', 'gcp', 'none'], group: 'Destination',
    describe: 'Cloud to assume; auto probes the AWS and GCE instance metadata services' },
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
    describe: 'Cassandra data directory (repeatable; env: colon-separated). Default: data_file_directories from cassandra.yaml' },
  'cassandra-yaml': { type: 'string', env: ['CASS_BACKUP_CASSANDRA_YAML'], group: 'Cassandra',
    describe: 'Path of cassandra.yaml (default: $CASSANDRA_CONF/cassandra.yaml, then /etc/cassandra/cassandra.yaml)' },
  nodetool: { type: 'string', env: ['CASS_BACKUP_NODETOOL'], default: 'nodetool', group: 'Cassandra',
    describe: 'nodetool executable' },
  'nodetool-host': { type: 'string', env: ['CASS_BACKUP_NODETOOL_HOST'], group: 'Cassandra', describe: 'nodetool -h (JMX host)' },
  'nodetool-port': { type: 'number', env: ['CASS_BACKUP_NODETOOL_PORT'], group: 'Cassandra', describe: 'nodetool -p (JMX port)' },
  'nodetool-user': { type: 'string', env: ['CASS_BACKUP_NODETOOL_USER'], group: 'Cassandra', describe: 'nodetool -u (JMX user)' },
  'nodetool-password-file': { type: 'string', env: ['CASS_BACKUP_NODETOOL_PASSWORD_FILE'], group: 'Cassandra',
    describe: 'nodetool -pwf (JMX password file; a password is never put on a command line)' },
  concurrency: { type: 'number', env: ['CASS_BACKUP_CONCURRENCY'], default: 8, group: 'Run',
    describe: 'Files uploaded in parallel' },
  'part-concurrency': { type: 'number', env: ['CASS_BACKUP_PART_CONCURRENCY'], default: 4, group: 'Run',
    describe: 'Parts of one large file uploaded in parallel' },
  'multipart-threshold': { type: 'string', env: ['CASS_BACKUP_MULTIPART_THRESHOLD'], default: '64MiB', group: 'Run',
    describe: 'Files larger than this go multipart (S3) or resumable (GCS)' },
  'state-dir': { type: 'string', env: ['CASS_BACKUP_STATE_DIR'], group: 'Run',
    describe: 'Lock, journal and manifest cache (default: /var/lib/cass-backup-run as root, else ~/.local/state/cass-backup-run)' },
  'metadata-timeout': { type: 'number', env: ['CASS_BACKUP_METADATA_TIMEOUT_MS'], default: 1000, group: 'Run',
    describe: 'Milliseconds to wait for each cloud metadata service' },
  'max-rate': { type: 'string', env: ['CASS_BACKUP_MAX_RATE'], group: 'Run',
    describe: 'Upper bound on upload bandwidth for the whole run, e.g. 50MiB (per second); default unlimited' },
  'low-priority': { type: 'boolean', env: ['CASS_BACKUP_LOW_PRIORITY'], default: false, group: 'Run',
    describe: 'Run at nice 19 and in the idle I/O class (ionice -c3), so the node keeps serving' },
  'min-free-disk': { type: 'string', env: ['CASS_BACKUP_MIN_FREE_DISK'], default: '5%', group: 'Run',
    describe: 'Refuse to snapshot when a data disk has less free space than this (percent or size)' },
  'stale-snapshot-age': { type: 'number', env: ['CASS_BACKUP_STALE_SNAPSHOT_AGE_HOURS'], default: 72, group: 'Run',
    describe: 'Clear snapshots this tool took and left behind (after a crash) once older than this many hours; 0 never' },
  'io-timeout': { type: 'number', env: ['CASS_BACKUP_IO_TIMEOUT_MS'], default: 120_000, group: 'Run',
    describe: 'Milliseconds an S3 request may make no progress, or a GCS request (one resumable chunk) may take, before it is abandoned and retried' },
  'retry-attempts': { type: 'number', env: ['CASS_BACKUP_RETRY_ATTEMPTS'], default: 10, group: 'Run',
    describe: 'Attempts per object operation before a file counts as failed (transient errors only)' },
  'retry-delay': { type: 'number', env: ['CASS_BACKUP_RETRY_DELAY_MS'], default: 500, group: 'Run',
    describe: 'First retry delay in milliseconds; doubles per attempt (with jitter), at most 20 s' },
  'lease-timeout': { type: 'number', env: ['CASS_BACKUP_LEASE_TIMEOUT'], default: 600, group: 'Run',
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
} as const satisfies Record<string, OptionSpec>;

export type GlobalOptionName = keyof typeof globalOptions;

export interface GlobalOptions {
  readonly dest: string | undefined;
  readonly bucket: string | undefined;
  readonly cloud: 'auto' | 'aws' | 'gcp' | 'none';
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
}

type Raw = Record<string, unknown>;

/** Applies env and defaults to what yargs parsed (yargs itself is given no defaults, so "not given" is visible). */
export function resolveGlobalOptions(argv: Raw, env: NodeJS.ProcessEnv): GlobalOptions {
  const get = (name: GlobalOptionName): unknown => valueOf(name, argv, env);
  return {
    dest: str(get('dest')),
    bucket: str(get('bucket')),
    cloud: get('cloud') as GlobalOptions['cloud'],
    region: String(get('region')),
    s3Endpoint: str(get('s3-endpoint')),
    s3PathStyle: get('s3-path-style') as boolean | undefined,
    s3Checksum: get('s3-checksum') as GlobalOptions['s3Checksum'],
    gcsEndpoint: str(get('gcs-endpoint')),
    nodeId: str(get('node-id')),
    layout: get('layout') as GlobalOptions['layout'],
    dataDirs: (get('data-dir') as string[] | undefined) ?? [],
    cassandraYaml: str(get('cassandra-yaml')),
    nodetool: String(get('nodetool')),
    nodetoolHost: str(get('nodetool-host')),
    nodetoolPort: get('nodetool-port') as number | undefined,
    nodetoolUser: str(get('nodetool-user')),
    nodetoolPasswordFile: str(get('nodetool-password-file')),
    concurrency: positiveInt('concurrency', get('concurrency')),
    partConcurrency: positiveInt('part-concurrency', get('part-concurrency')),
    multipartThreshold: parseSize('multipart-threshold', String(get('multipart-threshold'))),
    stateDir: str(get('state-dir')),
    metadataTimeoutMs: positiveInt('metadata-timeout', get('metadata-timeout')),
    maxRate: optionalSize('max-rate', get('max-rate')),
    lowPriority: Boolean(get('low-priority')),
    minFreeDisk: String(get('min-free-disk')),
    staleSnapshotAgeHours: nonNegative('stale-snapshot-age', get('stale-snapshot-age')),
    prometheusFile: str(get('prometheus-file')),
    ioTimeoutMs: positiveInt('io-timeout', get('io-timeout')),
    retryAttempts: positiveInt('retry-attempts', get('retry-attempts')),
    retryDelayMs: positiveInt('retry-delay', get('retry-delay')),
    leaseTimeoutMs: positiveInt('lease-timeout', get('lease-timeout')) * 1000,
    allowHostIdChange: Boolean(get('allow-host-id-change')),
    dryRun: Boolean(get('dry-run')),
    json: Boolean(get('json')),
    quiet: Boolean(get('quiet')),
    verbose: Boolean(get('verbose')),
  };
}

function valueOf(name: GlobalOptionName, argv: Raw, env: NodeJS.ProcessEnv): unknown {
  const spec: OptionSpec = globalOptions[name];
  const given = argv[name];
  if (given !== undefined && !(Array.isArray(given) && given.length === 0)) return given;
  for (const envName of spec.env ?? []) {
    const raw = env[envName];
    if (raw !== undefined && raw !== '') return fromEnv(name, spec, envName, raw);
  }
  return spec.default;
}

function fromEnv(name: string, spec: OptionSpec, envName: string, raw: string): unknown {
  switch (spec.type) {
    case 'number': {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new UsageError(`${envName}=${raw} is not a number (for --${name})`);
      return n;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new UsageError(`${envName}=${raw} is not a boolean (for --${name})`);
    case 'array':
      return raw.split(':').filter((s) => s !== '');
    default:
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new UsageError(`${envName}=${raw} is not one of ${spec.choices.join(', ')} (for --${name})`);
      }
      return raw;
  }
}

function str(v: unknown): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

function positiveInt(name: string, v: unknown): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${String(v)}`);
  return n;
}

function nonNegative(name: string, v: unknown): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number >= 0, got ${String(v)}`);
  return n;
}

function optionalSize(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = parseSize(name, String(v).replace(/\/s$/i, ''));
  if (n <= 0) throw new UsageError(`--${name} must be more than 0`);
  return n;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** Parses sizes like 64MiB, 5mb, 1048576. */
export function parseSize(name: string, raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`--${name}: cannot read size "${raw}" (e.g. 64MiB, 100MB, 1048576)`);
  return Math.round(Number(m[1]) * unit);
}
