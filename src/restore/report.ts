// What a restore prints on stdout: the result of a restore, or the plan of a dry run, as text or as one JSON
// document. Pure.
import type { Manifest } from '../catalog/manifest.ts';
import { formatBytes } from '../output/human.ts';
import { importCommand, nextSteps } from './next-steps.ts';
import { summarizeTables, type RestorePlan, type TableSummary } from './plan.ts';
import type { RootState } from './target-dir.ts';

export interface RestoreFacts {
  readonly snapshot: Manifest;
  readonly plan: RestorePlan;
  /** The restore directory, absolute. */
  readonly root: string;
  readonly untilMs: number | undefined;
}

export interface RestoreOutcome {
  readonly written: number;
  readonly present: number;
  readonly bytes: number;
}

/** The restore directory as a dry run found it. */
export interface TargetReport extends RootState {
  /** --force was given. */
  readonly force: boolean;
  /** Planned files already there under their target name (with --force, kept when size and CRC32C match). */
  readonly filesPresent: number;
}

export function resultDocument(f: RestoreFacts, outcome: RestoreOutcome): Record<string, unknown> {
  return {
    ...common(f), ok: true, bytes: outcome.bytes, written: outcome.written, alreadyPresent: outcome.present,
    tables: tables(f),
  };
}

export function resultText(f: RestoreFacts, outcome: RestoreOutcome): string {
  return `restore ${f.snapshot.tag}: ${f.plan.items.length} files, ${formatBytes(outcome.bytes)} in ${f.root} ` +
    `(${incrementalFiles(f.plan)} from incremental backups; ${outcome.present} already present)\n\n${nextSteps(f.root, summarizeTables(f.plan.items))}`;
}

/** The dry run's document: what the text says, and every planned file. */
export function dryRunDocument(f: RestoreFacts, target: TargetReport): Record<string, unknown> {
  return {
    ...common(f), dryRun: true, ok: true, bytes: totalBytes(f.plan), incrementalBackups: f.plan.incrementals,
    target: {
      exists: target.exists, empty: target.empty, forceNeeded: target.needsForce, forceGiven: target.force,
      filesPresent: target.filesPresent,
    },
    plan: f.plan.items.map((i) => ({ key: i.file.key, size: i.file.size, target: `${f.root}/${i.target}`, from: i.from.tag, kind: i.from.kind })),
    tables: tables(f), nextSteps: afterwards(f, target),
  };
}

export function dryRunText(f: RestoreFacts, target: TargetReport): string {
  const { snapshot, plan, root } = f;
  const until = f.untilMs === undefined ? '' : `, incremental backups up to ${new Date(f.untilMs).toISOString()}`;
  const fromIncr = incrementalFiles(plan);
  const lines = [
    `dry run: restore ${snapshot.tag} of node ${snapshot.nodeId} (snapshot started ${snapshot.startedAt}${until}); nothing was written`,
    '',
    `target ${root}: ${describeTarget(target)}`,
    '',
    'files (object key, size, target):',
    ...plan.items.map((i) => `  ${i.file.key}  ${formatBytes(i.file.size)}  → ${root}/${i.target}`),
    '',
    `totals: ${plan.items.length} files, ${formatBytes(totalBytes(plan))} ` +
      `(${fromIncr} from incremental backups${plan.incrementals.length > 0 ? ` ${plan.incrementals.join(', ')}` : ''})`,
    '',
    afterwards(f, target),
  ];
  return lines.join('\n'); // the next steps end with a newline
}

function describeTarget(t: TargetReport): string {
  if (!t.exists) return 'does not exist; the restore would create it';
  if (t.empty) return 'exists and is empty';
  const present = `${t.filesPresent} of the planned files are there already`;
  if (t.force) return `exists and is not empty (${present}); with --force, files already right are kept, the others written`;
  return `exists and is not empty (${present}); the restore would refuse it without --force`;
}

function afterwards(f: RestoreFacts, t: TargetReport): string {
  const first = t.needsForce && !t.force
    ? 'To restore, run the same command without --dry-run, into an empty directory or with --force.'
    : 'To restore, run the same command without --dry-run.';
  return `${first} Then:\n\n${nextSteps(f.root, summarizeTables(f.plan.items))}`;
}

function common(f: RestoreFacts): Record<string, unknown> {
  return {
    command: 'restore', node: f.snapshot.nodeId, tag: f.snapshot.tag, layout: f.snapshot.layout,
    snapshotStartedAt: f.snapshot.startedAt, until: f.untilMs === undefined ? null : new Date(f.untilMs).toISOString(),
    dir: f.root, files: f.plan.items.length, incrementalFiles: incrementalFiles(f.plan),
  };
}

function tables(f: RestoreFacts): Record<string, unknown>[] {
  return summarizeTables(f.plan.items).map((t) => tableResult(f.root, t));
}

function tableResult(root: string, t: TableSummary): Record<string, unknown> {
  return {
    keyspace: t.keyspace, table: t.table, tableDir: t.tableDir, path: `${root}/${t.path}`, files: t.files, bytes: t.bytes,
    schema: t.schema === undefined ? null : `${root}/${t.schema}`, import: importCommand(root, t),
  };
}

function totalBytes(plan: RestorePlan): number {
  return plan.items.reduce((n, i) => n + i.file.size, 0);
}

function incrementalFiles(plan: RestorePlan): number {
  return plan.items.filter((i) => i.from.kind === 'incremental').length;
}

