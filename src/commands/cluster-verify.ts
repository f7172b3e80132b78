// `verify --cluster ID`: every member's backup of a cluster backup, each object checked as `verify` checks it.
// A cluster backup that is not complete fails (exit 4) naming the members it lacks, after checking those it has.
import type { CatalogContext } from './catalog-context.ts';
import { IncompleteError, UsageError } from '../errors.ts';
import { readManifest } from '../catalog/catalog.ts';
import { tagOfManifestKey } from '../catalog/keys.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { manifestCache } from '../catalog/select.ts';
import { formatBytes } from '../output/human.ts';
import { clusterBackups, clusterRow } from './cluster-list.ts';
import { checkAll } from './verify.ts';

export async function clusterVerifyCommand(input: { readonly id: string; readonly deep: boolean }, ctx: CatalogContext): Promise<void> {
  const found = (await clusterBackups(ctx, undefined)).filter((s) => s.id === input.id);
  const state = found[0];
  if (state === undefined) throw new UsageError(`no cluster backup "${input.id}" in ${ctx.backend.description} (see list --cluster)`);
  if (found.length > 1) throw new UsageError(`cluster backup id "${input.id}" exists for several clusters: ${found.map((s) => s.cluster).join(', ')}`);
  const manifests = await memberManifests(ctx, state.summary?.members ?? [...state.completed.values()]);
  const problems: string[] = [];
  let objects = 0;
  for (const m of manifests) {
    const tally = await checkAll(m.files, input.deep, ctx);
    objects += m.files.length;
    problems.push(...tally.problems.map((p) => `${m.nodeId}: ${p}`));
    if (!ctx.json) ctx.out(`${tally.problems.length === 0 ? 'OK      ' : 'MISMATCH'} ${m.nodeId} ${m.tag}: ${m.files.length} objects, ${formatBytes(m.totals.bytes)}\n`);
  }
  ctx.signal.throwIfAborted();
  const row = clusterRow(state);
  if (ctx.json) {
    ctx.out(`${JSON.stringify({ command: 'verify', cluster: state.cluster, id: state.id, deep: input.deep, complete: row.complete,
      members: manifests.length, missing: row.missing, objects, ok: row.complete && problems.length === 0, problems })}\n`);
  }
  if (problems.length > 0) {
    throw new IncompleteError(`verify --cluster ${state.id}: ${problems.length} of ${objects} objects do not match their manifests`, problems.sort());
  }
  if (!row.complete) {
    throw new IncompleteError(`cluster backup ${state.id} is not complete: ${row.members} of ${row.expected} members have a backup; ` +
      `missing ${row.missing.map((x) => `${x.address} (${x.joined ? 'joined, no manifest' : 'never joined'})`).join(', ')}`);
  }
  if (!ctx.json) ctx.out(`verify --cluster ${state.id}: OK, ${manifests.length} members, ${objects} objects\n`);
}

async function memberManifests(ctx: CatalogContext, members: readonly { nodeId: string; manifestKey: string }[]): Promise<Manifest[]> {
  const cacheDir = await manifestCache(ctx.stateDir);
  const out: Manifest[] = [];
  for (const m of members) {
    const object = await ctx.backend.stat(m.manifestKey, { signal: ctx.signal });
    if (object === undefined) throw new IncompleteError(`cluster backup member ${m.nodeId}: its manifest ${m.manifestKey} is gone`);
    out.push(await readManifest(ctx.backend, { nodeId: m.nodeId, tag: tagOfManifestKey(m.nodeId, m.manifestKey) ?? '?', key: m.manifestKey, object }, cacheDir));
  }
  return out;
}
