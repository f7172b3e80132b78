// The node id: the first segment of every object key this node writes, so it must be stable and safe.
import type { CloudFacts } from '../domain.ts';
import { UsageError } from '../errors.ts';

export interface NodeIdInput {
  /** `--node-id`: the operator's choice wins over everything. */
  readonly override?: string | undefined;
  readonly facts: CloudFacts;
  /** The machine's host name as the OS gives it (os.hostname()), e.g. `db1.dc1.example.com`. */
  readonly hostname: string;
}

/**
 * The override; off-cloud the full hostname (two hosts `db1.dc1…` and `db1.dc2…` sharing a bucket must not share
 * a node id); on a cloud `<short hostname>-<instance_id>`, the format the tool has always written there, so
 * existing buckets keep their layout (the instance id already makes it unique). Throws UsageError when the result
 * cannot be a key segment, or when a cloud was chosen but its instance id is unknown: falling back to the hostname
 * would silently move this node's backups.
 */
export function nodeId(input: NodeIdInput): string {
  const id = chooseNodeId(input);
  const problem = keySegmentProblem(id);
  if (problem !== undefined) {
    const source = input.override === undefined ? 'derived node id' : '--node-id';
    throw new UsageError(`${source} ${JSON.stringify(id)} ${problem}; pass a different --node-id`);
  }
  return id;
}

function chooseNodeId({ override, facts, hostname }: NodeIdInput): string {
  if (override !== undefined) return override;
  if (facts.cloud === 'none') return hostname;
  if (!facts.instanceId) {
    throw new UsageError(
      `cloud is ${facts.cloud} but its metadata service gave no instance id, so the node id ` +
      `(<hostname>-<instance_id>) is unknown; fix metadata access or pass --node-id`);
  }
  return `${shortHostname(hostname)}-${facts.instanceId}`;
}

/** The first DNS label of a host name (`db1.dc1.example.com` -> `db1`); the whole name if it has none. */
export function shortHostname(hostname: string): string {
  return hostname.split('.')[0] || hostname;
}

/** Why `segment` cannot be one object-key segment (and one directory name for the file backend), if it cannot. */
export function keySegmentProblem(segment: string): string | undefined {
  if (segment === '') return 'is empty';
  if (segment.includes('/') || segment.includes('\\')) return 'contains a slash';
  if (segment.includes('..')) return "contains '..'";
  // Leading-dot names are the tool's own (the catalog is `.cass-backup-run/`) and hidden from listings.
  if (segment.startsWith('.')) return "starts with '.'";
  if (/[\u0000-\u001f\u007f]/.test(segment)) return 'contains a control character';
  return undefined;
}
