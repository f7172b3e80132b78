// `restore --cluster ID --load --share K/N --to STAGING`: this target node's share of a covering set of members,
// downloaded into STAGING/<member node id>/ (checked, resumable) and streamed into the target cluster by Cassandra's
// bulk loader one table at a time. A table loaded is recorded in the state directory and its staged files removed,
// so a rerun after a failure fetches and loads only what is left. Every node computes the same shares from the
// same manifest, so the shares are disjoint without any coordination.
import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CatalogContext } from './catalog-context.ts';
import { IncompleteError } from '../errors.ts';
import { formatBytes } from '../output/human.ts';
import { besideNodetool, runCassandraTool } from '../cassandra/tool-run.ts';
import { loadPlan, parseShare, type LoadUnit } from '../cluster/restore-plan.ts';
import type { RestoreItem } from '../restore/plan.ts';
import type { DecryptStage } from '../restore/download.ts';
import { assertTargetsSafe, openTargetTree, prepareRoot } from '../restore/target-dir.ts';
import type { ClusterRestoreInput, ClusterRestoreTools, ClusterSource } from './cluster-restore.ts';
import { keyspaceFilter, memberTag } from './cluster-restore.ts';
import { downloadAll, planNodeRestore } from './restore.ts';

interface TableLoad {
  readonly unit: LoadUnit;
  readonly dir: string;
  readonly name: string;
  readonly items: readonly RestoreItem[];
  readonly decrypt: DecryptStage | undefined;
}

export async function loadShare(source: ClusterSource, input: ClusterRestoreInput, tools: ClusterRestoreTools, ctx: CatalogContext): Promise<void> {
  const { share, of } = parseShare(input.args.share ?? '1/1');
  const { manifest } = source;
  const planned = loadPlan(manifest, source.contents, of, [], keyspaceFilter(input.tables));
  const mine = planned.shares[share - 1]?.units ?? [];
  const started = Date.now();
  const journal = loadJournal(ctx.stateDir, manifest.cluster, manifest.id);
  const staging = input.to ?? '';
  const tables: TableLoad[] = [];
  for (const unit of mine) tables.push(...(await tablesOf(unit, input, ctx)));
  const done = await journal.loaded();
  const todo = tables.filter((t) => !done.has(t.name));
  if (ctx.dryRun) {
    ctx.out(ctx.json ? `${JSON.stringify({ command: 'restore', id: manifest.id, mode: 'load', dryRun: true, share: `${share}/${of}`,
      tables: todo.map((t) => ({ table: t.name, files: t.items.length, bytes: sum(t.items) })), alreadyLoaded: tables.length - todo.length })}\n`
      : `dry run: share ${share}/${of} of ${manifest.id} would load ${todo.length} tables (${formatBytes(todo.reduce((s, t) => s + sum(t.items), 0))}); ` +
        `${tables.length - todo.length} already loaded; nothing was written\n`);
    return;
  }
  await prepareRoot(staging, true);
  const hosts = input.args.loadHosts.length > 0 ? input.args.loadHosts : [tools.listenAddress ?? '127.0.0.1'];
  const loader = input.args.sstableloader ?? besideNodetool(tools.nodetool, 'sstableloader');
  const portArgs = [...(input.args.cqlPort ? ['-p', String(input.args.cqlPort)] : []), ...(input.args.storagePort ? ['-sp', String(input.args.storagePort)] : [])];
  let bytesRead = 0;
  let bytesLoaded = 0;
  for (const t of todo) {
    const tree = await openTargetTree(join(staging, t.unit.member.nodeId), true);
    const root = tree.root;
    await assertTargetsSafe(tree, t.items.map((i) => i.target)); // before any download
    const outcome = await downloadAll(t.items, tree, true, { ...ctx, nodeId: t.unit.member.nodeId }, t.decrypt);
    ctx.signal.throwIfAborted();
    if (outcome.unsafe) throw outcome.unsafe;
    if (outcome.failures.length > 0) {
      throw new IncompleteError(`restore --cluster ${manifest.id} --load: ${outcome.failures.length} files of ${t.name} failed; ` +
        `${done.size} tables are loaded; run the same command again to fetch and load the rest`, outcome.failures.sort());
    }
    bytesRead += outcome.bytes;
    const dir = join(root, t.dir);
    ctx.reporter.emit({ type: 'info', message: `loading ${t.name} (${formatBytes(sum(t.items))}) into ${hosts.join(',')}` });
    await runCassandraTool({ exec: tools.exec, output: tools.toolOutput, signal: ctx.signal }, 'sstableloader', loader,
      ['-d', hosts.join(','), ...portArgs, '--no-progress', dir]);
    bytesLoaded += sum(t.items.filter((i) => i.data));
    await journal.add(t.name);
    done.add(t.name);
    await rm(dir, { recursive: true, force: true }); // in the bucket still; the staging disk is needed for the next table
  }
  const seconds = (Date.now() - started) / 1000;
  const cover = planned.cover.map((c) => ({ keyspace: c.keyspace, members: c.members.length, copiesKept: c.copiesKept,
    backupBytes: c.backupBytes, loadBytes: c.loadBytes, oneCopyBytes: c.oneCopyBytes }));
  const result = {
    command: 'restore', id: manifest.id, mode: 'load', ok: true, share: `${share}/${of}`, tables: tables.length, loadedNow: todo.length,
    alreadyLoaded: tables.length - todo.length, bytesRead, bytesLoaded, seconds: Math.round(seconds * 10) / 10,
    bytesPerSecond: seconds > 0 ? Math.round(bytesRead / seconds) : null, hosts, cover,
  };
  ctx.out(ctx.json ? `${JSON.stringify(result)}\n` :
    `restore --cluster ${manifest.id} share ${share}/${of}: ${todo.length} tables loaded into ${hosts.join(',')} ` +
    `(${tables.length - todo.length} already loaded), ${formatBytes(bytesRead)} read, ${formatBytes(bytesLoaded)} of SSTable data loaded ` +
    `in ${result.seconds} s${result.bytesPerSecond === null ? '' : `, ${formatBytes(result.bytesPerSecond)}/s`}\n` +
    cover.map((c) => `  ${c.keyspace}: from ${c.members} member(s), ${formatBytes(c.loadBytes)} of ${formatBytes(c.backupBytes)} backed up ` +
      `(${c.copiesKept} copies kept)\n`).join(''));
}

/** The unit's tables as the member's backup holds them (snapshot, plus incrementals with --until). */
async function tablesOf(unit: LoadUnit, input: ClusterRestoreInput, ctx: CatalogContext): Promise<TableLoad[]> {
  const filters = input.tables.filter((t) => t.split('.')[0] === unit.keyspace);
  const { plan, decrypt } = await planNodeRestore({ backup: memberTag(unit.member), tables: filters.length > 0 ? filters : [unit.keyspace],
    until: input.until, force: true, ...(input.identities !== undefined && { identities: input.identities }) }, { ...ctx, nodeId: unit.member.nodeId });
  const byDir = new Map<string, RestoreItem[]>();
  for (const item of plan.items.filter((i) => i.data)) {
    const dir = dirname(item.target);
    if (dir.split('/').length !== 2) continue; // a secondary index's SSTables (<table>/.<index>/): the target rebuilds it
    byDir.set(dir, [...(byDir.get(dir) ?? []), item]);
  }
  return [...byDir.entries()].sort(([a], [b]) => a.localeCompare(b))
    .map(([dir, items]) => ({ unit, dir, name: `${unit.member.nodeId}/${dir}`, items, decrypt }));
}

const sum = (items: readonly RestoreItem[]) => items.reduce((s, i) => s + i.file.size, 0);

/** Tables loaded so far by this node for this cluster backup, one line each, in the state directory. */
function loadJournal(stateDir: string, cluster: string, id: string) {
  const file = join(stateDir, 'cluster-restore', cluster, id, 'loaded.txt');
  return {
    loaded: async (): Promise<Set<string>> => {
      const body = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return ''; throw err; });
      return new Set(body.split('\n').filter(Boolean));
    },
    add: async (name: string): Promise<void> => {
      await mkdir(dirname(file), { recursive: true });
      await appendFile(file, `${name}\n`);
    },
  };
}
