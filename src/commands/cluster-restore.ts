// `restore --cluster ID`: a whole-cluster restore, run by the same per-node command on every target node.
//   --plan           what every target restores (sources, files, bytes, tokens, schema, time); reads only
//   --as MEMBER      same shape: this new node takes one member's files (before its first start) and its tokens
//   --load           another size: this node loads its share of a covering set of members (cluster-load.ts)
//   --create-schema  the cluster backup's schema, through cqlsh, first and on one node
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import type { Writable } from 'node:stream';
import type { CatalogContext } from './catalog-context.ts';
import type { ClusterRestoreArgs } from '../cli.ts';
import { IncompleteError, UsageError } from '../errors.ts';
import { readManifest } from '../catalog/catalog.ts';
import { tagOfManifestKey } from '../catalog/keys.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { manifestCache } from '../catalog/select.ts';
import { locateInTable, parseTableFilter } from '../cassandra/layout.ts';
import { formatBytes } from '../output/human.ts';
import type { ExecFn } from '../cassandra/nodetool.ts';
import type { Identities } from '../crypto/identity.ts';
import { besideNodetool, runCassandraTool } from '../cassandra/tool-run.ts';
import { readClusterManifest } from '../cluster/cluster-catalog.ts';
import type { ClusterManifest, ClusterMember } from '../cluster/records.ts';
import {
  NODE_LOCAL_KEYSPACES, findMember, loadPlan, mapTargets, parseShare, parseTargets, sameShapePlan, tokenSettings, type MemberContent,
} from '../cluster/restore-plan.ts';
import { planDocument, planText } from '../cluster/restore-plan-report.ts';
import { clusterBackups, clusterDeps } from './cluster-list.ts';
import { restoreCommand } from './restore.ts';
import { loadShare } from './cluster-load.ts';

export interface ClusterRestoreInput {
  readonly id: string;
  readonly to: string | undefined;
  readonly tables: readonly string[];
  readonly until: string | undefined;
  readonly force: boolean;
  readonly args: ClusterRestoreArgs;
  /** --identity, for cluster backups whose members encrypted their objects. */
  readonly identities?: Identities;
}

/** What a cluster restore needs beyond the catalog: Cassandra's tools and this node's cassandra.yaml facts. */
export interface ClusterRestoreTools {
  readonly exec: ExecFn;
  readonly nodetool: string;
  /** Where the tools' output is shown (stderr), or undefined under --quiet. */
  readonly toolOutput: Writable | undefined;
  /** listen_address of this node's cassandra.yaml, when there is one. */
  readonly listenAddress: string | undefined;
}

export interface ClusterSource {
  readonly manifest: ClusterManifest;
  readonly members: ReadonlyMap<string, Manifest>;
  readonly contents: ReadonlyMap<string, MemberContent>;
}

export async function clusterRestoreCommand(input: ClusterRestoreInput, tools: ClusterRestoreTools, ctx: CatalogContext): Promise<void> {
  const { args } = input;
  const modes = [args.plan && '--plan', args.as !== undefined && '--as', args.load && '--load'].filter(Boolean);
  if (modes.length > 1) throw new UsageError(`restore --cluster: ${modes.join(' and ')} exclude each other`);
  if (modes.length === 0 && !args.createSchema) throw new UsageError('restore --cluster needs --plan, --as MEMBER, --load or --create-schema');
  if ((args.as !== undefined || args.load) && input.to === undefined) throw new UsageError(`restore --cluster ${modes[0]} needs --to DIR`);
  for (const t of input.tables) parseTableFilter(t);
  const source = await readSource(input.id, ctx);
  if (args.createSchema) await createSchema(source.manifest, input, tools, ctx);
  if (args.plan) return printPlan(source, input, ctx);
  if (args.as !== undefined) return restoreMember(source, input, tools, ctx);
  if (args.load) return loadShare(source, input, tools, ctx);
}

/** The cluster manifest (a complete cluster backup only) and every member's node manifest. */
async function readSource(id: string, ctx: CatalogContext): Promise<ClusterSource> {
  // Read only: a restore (and its plan) writes nothing to the bucket, not even a cluster manifest list would complete.
  const found = (await clusterBackups({ ...ctx, dryRun: true }, undefined)).filter((s) => s.id === id);
  const state = found[0];
  if (state === undefined) throw new UsageError(`no cluster backup "${id}" in ${ctx.backend.description} (see list --cluster)`);
  if (found.length > 1) throw new UsageError(`cluster backup id "${id}" exists for several clusters: ${found.map((s) => s.cluster).join(', ')}`);
  const manifest = await readClusterManifest(await clusterDeps(ctx), state.cluster, id);
  if (manifest === undefined) {
    const missing = state.missing.map((x) => x.member.address).join(', ');
    throw new IncompleteError(`cluster backup ${id} is not complete (missing ${missing || 'its cluster manifest'}): ` +
      'a whole-cluster restore needs every member (when every member is complete, list --cluster writes the cluster manifest); ' +
      'restore single nodes with restore <tag> --node-id …');
  }
  const cacheDir = await manifestCache(ctx.stateDir);
  const members = new Map<string, Manifest>();
  const contents = new Map<string, MemberContent>();
  for (const m of manifest.members) {
    const object = await ctx.backend.stat(m.manifestKey, { signal: ctx.signal });
    if (object === undefined) throw new IncompleteError(`cluster backup ${id}: member ${m.address}'s manifest ${m.manifestKey} is gone`);
    const node = await readManifest(ctx.backend, { nodeId: m.nodeId, tag: memberTag(m), key: m.manifestKey, object }, cacheDir);
    members.set(m.hostId, node);
    contents.set(m.hostId, contentOf(m.hostId, node));
  }
  return { manifest, members, contents };
}

export function memberTag(m: ClusterMember): string {
  const tag = tagOfManifestKey(m.nodeId, m.manifestKey);
  if (tag === undefined) throw new IncompleteError(`member ${m.address}: ${m.manifestKey} is not a manifest key of node ${m.nodeId}`);
  return tag;
}

function contentOf(hostId: string, node: Manifest): MemberContent {
  const byKeyspace = new Map<string, { files: number; bytes: number }>();
  for (const f of node.files) {
    const ks = locateInTable(f.path)?.keyspace;
    if (ks === undefined) continue;
    const v = byKeyspace.get(ks) ?? { files: 0, bytes: 0 };
    byKeyspace.set(ks, { files: v.files + 1, bytes: v.bytes + f.size });
  }
  return { hostId, byKeyspace };
}

async function printPlan(source: ClusterSource, input: ClusterRestoreInput, ctx: CatalogContext): Promise<void> {
  const { manifest, contents } = source;
  const targets = parseTargets(input.args.targets);
  const keyspaces = keyspaceFilter(input.tables);
  const loading = input.args.load || (targets.length > 0 && targets.length !== manifest.members.length);
  const schema = await schemaText(manifest, ctx);
  const facts = loading
    ? { kind: 'load' as const, ...loadPlan(manifest, contents, Math.max(targets.length, input.args.share ? parseShare(input.args.share).of : 1),
      targets.map((t) => t.address), keyspaces) }
    : { kind: 'same-shape' as const, targets: sameShapePlan(manifest, contents, targets) };
  const doc = { manifest, schema, plan: facts };
  ctx.out(ctx.json ? `${JSON.stringify(planDocument(doc))}\n` : planText(doc));
}

/** `--table` filters as the keyspaces a load covers (undefined: all). */
export function keyspaceFilter(tables: readonly string[]): ReadonlySet<string> | undefined {
  return tables.length === 0 ? undefined : new Set(tables.map((t) => parseTableFilter(t).keyspace));
}

/** The schema statements of the cluster backup (schema.cql beside its cluster manifest). */
export async function schemaText(manifest: ClusterManifest, ctx: CatalogContext): Promise<string> {
  return text(await ctx.backend.get(manifest.schema.cqlKey, { signal: ctx.signal }));
}

/** Same shape: the member this node stands in for, restored into --to, then the settings it must start with. */
async function restoreMember(source: ClusterSource, input: ClusterRestoreInput, tools: ClusterRestoreTools, ctx: CatalogContext): Promise<void> {
  const member = chooseMember(source.manifest, input.args, tools.listenAddress);
  const tokens = tokenSettings(member);
  const appendix = (done: { bytes: number; seconds: number }) => {
    const rate = done.seconds > 0 ? Math.round(done.bytes / done.seconds) : null;
    return {
      json: { cluster: { id: source.manifest.id, clusterName: source.manifest.clusterName, member: { address: member.address, hostId: member.hostId,
        nodeId: member.nodeId, dataCenter: member.dataCenter, rack: member.rack }, numTokens: tokens.numTokens, initialToken: tokens.initialToken,
      settings: tokens.lines, seconds: Math.round(done.seconds * 10) / 10, bytesPerSecond: rate } },
      text: [
        '', `This node stands in for member ${member.address} (host id ${member.hostId}, ${member.dataCenter}/${member.rack})` +
          `${rate === null ? '' : `; restored at ${formatBytes(rate)}/s`}.`,
        'Before its first start, set in cassandra.yaml (and the rack in cassandra-rackdc.properties):',
        ...tokens.lines.map((l) => `    ${l}`),
        `and keep cluster_name: ${source.manifest.clusterName}. Start the seeds first; every node restored this way keeps its data.`, '',
      ].join('\n'),
    };
  };
  await restoreCommand({
    backup: memberTag(member), to: input.to ?? '', tables: [...input.tables], until: input.until, force: input.force,
    excludeKeyspaces: input.tables.length === 0 ? NODE_LOCAL_KEYSPACES : [], appendix,
    ...(input.identities !== undefined && { identities: input.identities }),
  }, { ...ctx, nodeId: member.nodeId });
}

function chooseMember(manifest: ClusterManifest, args: ClusterRestoreArgs, listenAddress: string | undefined): ClusterMember {
  if (args.as !== 'auto') return findMember(manifest, args.as ?? '');
  if (listenAddress === undefined) {
    throw new UsageError('--as auto needs this node\'s listen_address (set it in cassandra.yaml, pass --cassandra-yaml) or name the member');
  }
  const targets = mapTargets(manifest, parseTargets(args.targets));
  const mapped = targets.find((t) => t.target === listenAddress);
  if (mapped === undefined) {
    throw new UsageError(`--as auto: this node's listen_address ${listenAddress} is not one of the targets ` +
      `(${targets.map((t) => t.target).join(', ')}); pass --targets or --as MEMBER`);
  }
  return mapped.member;
}

/** Recreates the keyspaces and tables (with their ids) on the target cluster through cqlsh; IF NOT EXISTS throughout. */
async function createSchema(manifest: ClusterManifest, input: ClusterRestoreInput, tools: ClusterRestoreTools, ctx: CatalogContext): Promise<void> {
  const cql = await schemaText(manifest, ctx);
  const host = input.args.loadHosts[0] ?? tools.listenAddress ?? '127.0.0.1';
  const port = String(input.args.cqlPort ?? 9042);
  if (ctx.dryRun) {
    ctx.out(`dry run: would run cqlsh ${host} ${port} -f <schema of ${manifest.id}> (${manifest.schema.keyspaces.length} keyspaces, ` +
      `${manifest.schema.tables.length} tables); nothing was run\n`);
    return;
  }
  const dir = join(ctx.stateDir, 'cluster-restore', manifest.cluster, manifest.id);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'schema.cql');
  await writeFile(file, cql);
  const cqlsh = input.args.cqlsh ?? besideNodetool(tools.nodetool, 'cqlsh');
  await runCassandraTool({ exec: tools.exec, output: tools.toolOutput, signal: ctx.signal }, 'cqlsh', cqlsh, [host, port, '-f', file]);
  ctx.reporter.emit({ type: 'info', message: `schema of ${manifest.id} created on ${host}:${port}: ${manifest.schema.keyspaces.length} keyspaces, ` +
    `${manifest.schema.tables.length} tables` });
}
