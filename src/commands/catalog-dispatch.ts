// Which catalog command runs (list, verify, restore, purge), with the arguments the command line gave it.
import type { ParsedCommand } from '../cli.ts';
import type { CatalogContext } from './catalog-context.ts';
import { UsageError } from '../errors.ts';
import { identitiesOption } from '../crypto/crypto-options.ts';
import { clusterListCommand } from './cluster-list.ts';
import { clusterRestoreCommand, type ClusterRestoreTools } from './cluster-restore.ts';
import { clusterVerifyCommand } from './cluster-verify.ts';
import { listCommand } from './list.ts';
import { listPitrCommand } from './list-pitr.ts';
import { purgeCommand } from './purge.ts';
import { restoreCommand } from './restore.ts';
import { verifyCommand } from './verify.ts';

export type CatalogCommand = Extract<ParsedCommand, { command: 'list' | 'verify' | 'restore' | 'purge' }>;

export function isCatalogCommand(parsed: ParsedCommand): parsed is CatalogCommand {
  return ['list', 'verify', 'restore', 'purge'].includes(parsed.command);
}

/** `tools` is built only when a cluster restore needs Cassandra's tools and this node's cassandra.yaml. */
export async function dispatchCatalog(parsed: CatalogCommand, ctx: CatalogContext, tools: () => Promise<ClusterRestoreTools>): Promise<void> {
  switch (parsed.command) {
    case 'list':
      if (parsed.pitr) return listPitrCommand({ allNodes: parsed.allNodes }, ctx);
      return parsed.cluster !== undefined ? clusterListCommand({ cluster: parsed.cluster }, ctx) : listCommand({ allNodes: parsed.allNodes }, ctx);
    case 'verify':
      return parsed.cluster ? clusterVerifyCommand({ id: parsed.backup, deep: parsed.deep }, ctx)
        : verifyCommand({ backup: parsed.backup, deep: parsed.deep, ...await identitiesOption(parsed.identity) }, ctx);
    case 'restore':
      if (parsed.cluster !== undefined) {
        return clusterRestoreCommand({ id: parsed.backup, to: parsed.to, tables: parsed.tables, until: parsed.until, force: parsed.force,
          args: parsed.cluster, ...await identitiesOption(parsed.identity) }, await tools(), ctx);
      }
      if (parsed.to === undefined) throw new UsageError('restore needs --to DIR');
      return restoreCommand({ backup: parsed.backup, to: parsed.to, tables: parsed.tables, until: parsed.until, force: parsed.force,
        pointInTime: parsed.pointInTime, ...await identitiesOption(parsed.identity) }, ctx);
    case 'purge':
      return purgeCommand({ keepLast: parsed.keepLast, keepDays: parsed.keepDays, yes: parsed.yes, graceHours: parsed.graceHours,
        keepClusters: parsed.keepClusters }, ctx);
  }
}
