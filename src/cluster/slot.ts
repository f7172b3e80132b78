// The cluster backup id every node derives on its own from the schedule slot it runs in (UTC) and the cluster's
// name, so that cron entries firing minutes apart on every node name the same backup without talking. Pure.
import { UsageError } from '../errors.ts';
import { validateTag } from '../cassandra/layout.ts';

export type SlotKind = 'daily' | 'hourly';
export const SLOT_KINDS: readonly SlotKind[] = ['daily', 'hourly'];

/** A cluster name as a tag segment: letters, digits, `-` (Cassandra allows spaces and more in cluster_name). */
export function clusterSegment(clusterName: string): string {
  const s = clusterName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (s === '') throw new UsageError(`cluster name ${JSON.stringify(clusterName)} gives no usable cluster backup id; pass -t`);
  return s;
}

/** `<cluster>-daily-20261201` or `<cluster>-hourly-20261201T03`: the slot `at` falls in, in UTC. */
export function slotTag(kind: SlotKind, clusterName: string, at: Date): string {
  const iso = at.toISOString(); // 2026-12-01T03:15:02.123Z
  const day = iso.slice(0, 10).replace(/-/g, '');
  const stamp = kind === 'daily' ? day : `${day}T${iso.slice(11, 13)}`;
  return validateTag(`${clusterSegment(clusterName)}-${kind}-${stamp}`);
}

export function parseSlotKind(value: string): SlotKind {
  if ((SLOT_KINDS as readonly string[]).includes(value)) return value as SlotKind;
  throw new UsageError(`--tag-slot must be one of ${SLOT_KINDS.join(', ')}, got ${JSON.stringify(value)}`);
}
