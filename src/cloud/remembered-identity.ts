// The identity a node was last identified as (cloud, instance, hostname, node id), kept in its state directory so
// that a later run which cannot see that cloud any more, or derives another node id, can refuse instead of moving.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CloudFacts } from '../domain.ts';

export interface RememberedIdentity {
  readonly nodeId: string;
  /** The full host name (os.hostname()) at the time. */
  readonly hostname: string;
  /** What the metadata service said (or `{cloud: 'none'}`). */
  readonly cloud: CloudFacts;
  /** When this node id was first derived here (ISO 8601); kept while the node id stays the same. */
  readonly firstSeen: string;
  /** When a run last derived it (ISO 8601). */
  readonly lastSeen: string;
}

export type RememberedRead =
  | { readonly kind: 'none' }
  | { readonly kind: 'found'; readonly identity: RememberedIdentity }
  /** The file exists but cannot be read (permissions, I/O). */
  | { readonly kind: 'unreadable'; readonly reason: string }
  /** The file was read but is not a remembered identity (truncated, edited, another format). */
  | { readonly kind: 'malformed'; readonly reason: string };

const FORMAT = 1;
const CLOUDS = new Set(['aws', 'gcp', 'azure', 'none']);
const FACT_FIELDS = ['instanceId', 'hostname', 'region', 'zone', 'projectId'] as const;

export async function readRememberedIdentity(path: string): Promise<RememberedRead> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'none' };
    return { kind: 'unreadable', reason: code ?? (err instanceof Error ? err.message : String(err)) };
  }
  try {
    return { kind: 'found', identity: parseRememberedIdentity(text) };
  } catch (err) {
    return { kind: 'malformed', reason: err instanceof Error ? err.message : String(err) };
  }
}

/** Throws an Error saying what is wrong when `text` is not a remembered identity of the format this tool writes. */
export function parseRememberedIdentity(text: string): RememberedIdentity {
  const doc: unknown = JSON.parse(text);
  if (!isRecord(doc)) throw new Error('not a JSON object');
  if (doc['format'] !== FORMAT) throw new Error(`unknown format ${JSON.stringify(doc['format'])} (expected ${FORMAT})`);
  const str = (key: string): string => {
    const v = doc[key];
    if (typeof v !== 'string' || v === '') throw new Error(`${key} is missing or not a string`);
    return v;
  };
  const identity = {
    nodeId: str('nodeId'), hostname: str('hostname'), cloud: parseFacts(doc['cloud']),
    firstSeen: str('firstSeen'), lastSeen: str('lastSeen'),
  };
  if (identity.cloud.cloud !== 'none' && !identity.cloud.instanceId) throw new Error('cloud.instanceId is missing');
  return identity;
}

function parseFacts(value: unknown): CloudFacts {
  if (!isRecord(value) || typeof value['cloud'] !== 'string' || !CLOUDS.has(value['cloud'])) {
    throw new Error('cloud.cloud is not one of aws, gcp, none');
  }
  const facts: Record<string, string> = { cloud: value['cloud'] };
  for (const field of FACT_FIELDS) {
    const v = value[field];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new Error(`cloud.${field} is not a string`);
    facts[field] = v;
  }
  return facts as unknown as CloudFacts;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Written atomically (temporary file, fsync, rename): a crash leaves the old identity or the new one, never half. */
export async function writeRememberedIdentity(path: string, identity: RememberedIdentity): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const { nodeId, hostname, cloud, firstSeen, lastSeen } = identity;
  const text = `${JSON.stringify({ format: FORMAT, nodeId, hostname, cloud, firstSeen, lastSeen }, null, 1)}\n`;
  try {
    const file = await open(tmp, 'w', 0o644);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** What to remember after a run identified the node as `current`: firstSeen survives while the node id stays. */
export function nextRemembered(
  previous: RememberedIdentity | undefined,
  current: { readonly nodeId: string; readonly hostname: string; readonly cloud: CloudFacts },
  now: Date,
): RememberedIdentity {
  const at = now.toISOString();
  const firstSeen = previous?.nodeId === current.nodeId ? previous.firstSeen : at;
  return { nodeId: current.nodeId, hostname: current.hostname, cloud: current.cloud, firstSeen, lastSeen: at };
}

/** `aws instance i-0abc (us-east-1a), node id "db1-i-0abc"`, or `off-cloud host db1.example.com, node id "…"`. */
export function describeIdentity(identity: { readonly nodeId: string; readonly hostname: string; readonly cloud: CloudFacts }): string {
  return `${describeMachine(identity.cloud, identity.hostname)}, node id ${JSON.stringify(identity.nodeId)}`;
}

export function describeMachine(cloud: CloudFacts, hostname: string): string {
  if (cloud.cloud === 'none') return `off-cloud host ${hostname}`;
  const place = cloud.zone ?? cloud.region;
  return `${cloud.cloud} instance ${cloud.instanceId ?? '(unknown)'}${place ? ` (${place})` : ''}`;
}
