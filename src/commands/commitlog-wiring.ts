// Wiring of the commit-log commands (kept out of app.ts): archive-commitlog straight from the parsed command line,
// commitlogs with its own lock (not the backups' run lock: it may run while a snapshot uploads) and its metric.
import { join } from 'node:path';
import type { AppIo } from '../app.ts';
import type { ParsedCommand } from '../cli.ts';
import type { GlobalOptions } from '../config/options.ts';
import { globalOptions } from '../config/options.ts';
import type { CatalogContext } from './catalog-context.ts';
import { archiveCommitLogCommand } from './archive-commitlog.ts';
import { commitLogsCommand } from './commitlogs.ts';
import { acquireLock } from '../lock.ts';
import { usableStateDir } from '../state-dir-check.ts';
import { recordNewestSegment } from '../output/prometheus.ts';
import { UsageError } from '../errors.ts';

type Archive = Extract<ParsedCommand, { command: 'archive-commitlog' }>;

/** What an upload needs, opened only for --upload-within (after the segment is staged). */
export type OpenUpload = (io: AppIo) => Promise<{ options: GlobalOptions; catalog: CatalogContext }>;

export async function archiveCommitLog(parsed: Archive, io: AppIo, open: OpenUpload): Promise<void> {
  if (parsed.raw['dry-run'] === true) throw new UsageError('archive-commitlog has no dry run (it is what Cassandra\'s archive_command runs); nothing was staged');
  const flag = parsed.raw['commitlog-staging'];
  const stagingDir = typeof flag === 'string' && flag !== '' ? flag : String(globalOptions['commitlog-staging'].default);
  await archiveCommitLogCommand({ path: parsed.path, name: parsed.name, stagingDir }, { now: io.now, parentPid: io.ppid });
  if (parsed.uploadWithinMs !== undefined) await uploadWithin(parsed.uploadWithinMs, stagingDir, io, open);
}

/**
 * The synchronous mode: upload what is staged, for at most `ms`. The segment is staged durably already, so any
 * failure here (configuration, store, another upload holding the lock, the time running out) is one warning line
 * and exit 0: Cassandra must not keep the segment for a reason `commitlogs` will settle later.
 */
async function uploadWithin(ms: number, stagingDir: string, io: AppIo, open: OpenUpload): Promise<void> {
  const bounded: AppIo = { ...io, signal: AbortSignal.any([io.signal, AbortSignal.timeout(ms)]) };
  try {
    const { options, catalog } = await open(bounded);
    try {
      await commitLogsWiring({ ...options, commitlogStaging: stagingDir }, bounded, catalog);
    } finally {
      await catalog.backend.close();
    }
  } catch (err) {
    const why = bounded.signal.aborted && !io.signal.aborted ? `not finished within ${ms / 1000} s` : err instanceof Error ? err.message : String(err);
    io.stderr(`cass-backup-run: warning: archive-commitlog: staged in ${stagingDir}, not uploaded now (${why}); commitlogs will upload it\n`);
  }
}

export async function commitLogsWiring(opts: GlobalOptions, io: AppIo, catalog: CatalogContext): Promise<void> {
  const stateDir = await usableStateDir(catalog.stateDir, io.pid);
  const ctx: CatalogContext = {
    ...catalog,
    lock: (what) => acquireLock(join(stateDir, 'commitlogs.lock'), what, { pid: io.pid, hostname: io.hostname, now: io.now }),
  };
  const result = await commitLogsCommand({ stagingDir: opts.commitlogStaging, maxRate: opts.maxRate }, ctx);
  if (opts.prometheusFile && result.newestArchivedAt !== undefined && !opts.dryRun) {
    try {
      await recordNewestSegment(opts.prometheusFile, catalog.nodeId, new Date(result.newestArchivedAt));
    } catch (err) {
      io.stderr(`cass-backup-run: warning: could not update ${opts.prometheusFile}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
}
