// --prometheus-file: metrics for node_exporter's textfile collector, so alerts can fire on backup age.
// The file keeps every command's series: a failed run updates its own, and the last success time survives it.
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface RunSample {
  readonly command: string;
  readonly node: string;
  readonly ok: boolean;
  /** A complete backup was stored, even if the run then failed to clean up locally (exit 5). */
  readonly backupStored?: boolean;
  readonly exitCode: number;
  readonly finishedAt: Date;
  readonly seconds: number;
  readonly bytes: number;
  readonly uploadedBytes: number;
  readonly files: number;
}

const METRICS: Record<string, { type: 'gauge' | 'counter'; help: string }> = {
  cass_backup_run_last_success_timestamp_seconds: { type: 'gauge', help: 'Unix time of the last run that stored a complete backup' },
  cass_backup_run_last_run_timestamp_seconds: { type: 'gauge', help: 'Unix time of the last run, successful or not' },
  cass_backup_run_last_run_success: { type: 'gauge', help: '1 if the last run succeeded, else 0' },
  cass_backup_run_last_exit_code: { type: 'gauge', help: 'Exit code of the last run' },
  cass_backup_run_last_duration_seconds: { type: 'gauge', help: 'Duration of the last run' },
  cass_backup_run_last_bytes: { type: 'gauge', help: 'Bytes in the last successful backup' },
  cass_backup_run_last_uploaded_bytes: { type: 'gauge', help: 'Bytes sent by the last successful backup' },
  cass_backup_run_last_files: { type: 'gauge', help: 'Files in the last successful backup' },
  cass_backup_run_failures_total: { type: 'counter', help: 'Failed runs since the file was created' },
  cass_backup_run_commitlog_newest_archived_timestamp_seconds: { type: 'gauge',
    help: 'Unix time at which the newest commit-log segment stored in the destination was archived (the recovery point)' },
};

type Series = Map<string, number>; // `name{labels}` → value

function parse(text: string): Series {
  const out: Series = new Map();
  for (const line of text.split('\n')) {
    const m = /^(cass_backup_run_\w+\{[^}]*\})\s+(\S+)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined && Number.isFinite(Number(m[2]))) out.set(m[1], Number(m[2]));
  }
  return out;
}

function labels(sample: RunSample): string {
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `{command="${esc(sample.command)}",node="${esc(sample.node)}"}`;
}

export function updateSeries(previous: Series, sample: RunSample): Series {
  const series = new Map(previous);
  const l = labels(sample);
  const set = (name: string, v: number): void => void series.set(`${name}${l}`, v);
  const t = sample.finishedAt.getTime() / 1000;
  set('cass_backup_run_last_run_timestamp_seconds', t);
  set('cass_backup_run_last_run_success', sample.ok ? 1 : 0);
  set('cass_backup_run_last_exit_code', sample.exitCode);
  set('cass_backup_run_last_duration_seconds', sample.seconds);
  const failures = `cass_backup_run_failures_total${l}`;
  series.set(failures, (series.get(failures) ?? 0) + (sample.ok ? 0 : 1));
  // A complete backup with a clean-up left to do (exit 5) is a backup: its age alert must not fire, while
  // last_run_success 0 and the failure counter still say that something needs the operator.
  if (sample.ok || sample.backupStored) {
    set('cass_backup_run_last_success_timestamp_seconds', t);
    set('cass_backup_run_last_bytes', sample.bytes);
    set('cass_backup_run_last_uploaded_bytes', sample.uploadedBytes);
    set('cass_backup_run_last_files', sample.files);
  }
  return series;
}

export function renderSeries(series: Series): string {
  const lines: string[] = [];
  for (const [name, meta] of Object.entries(METRICS)) {
    const rows = [...series].filter(([k]) => k.startsWith(`${name}{`)).sort(([a], [b]) => a.localeCompare(b));
    if (rows.length === 0) continue;
    lines.push(`# HELP ${name} ${meta.help}`, `# TYPE ${name} ${meta.type}`, ...rows.map(([k, v]) => `${k} ${v}`));
  }
  return `${lines.join('\n')}\n`;
}

/** Rewrites the file atomically (the collector must never read half a file). */
export async function recordRun(path: string, sample: RunSample): Promise<void> {
  await rewrite(path, (previous) => updateSeries(previous, sample));
}

/** The newest archived segment's time, per node: alert on `time() - …` (it only ever moves forward). */
export async function recordNewestSegment(path: string, node: string, archivedAt: Date): Promise<void> {
  const esc = node.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const name = `cass_backup_run_commitlog_newest_archived_timestamp_seconds{node="${esc}"}`;
  await rewrite(path, (previous) => {
    const series = new Map(previous);
    series.set(name, Math.max(series.get(name) ?? 0, archivedAt.getTime() / 1000));
    return series;
  });
}

async function rewrite(path: string, update: (previous: Series) => Series): Promise<void> {
  const previous = parse(await readFile(path, 'utf8').catch(() => ''));
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, renderSeries(update(previous)));
  await rename(tmp, path);
}
