// `archive-commitlog <path> <name>`: what Cassandra's archive_command runs. Only the staging step (stage.ts): it
// reads no configuration file and no environment, so that nothing but the segment and the staging directory can
// make it fail, and it prints nothing on success (Cassandra logs a failing command's output).
import { stageSegment, processStartTime } from '../commitlog/stage.ts';
import { IncompleteError } from '../errors.ts';

export interface ArchiveCommitLogInput {
  readonly path: string;
  readonly name: string;
  readonly stagingDir: string;
}

export interface ArchiveCommitLogDeps {
  readonly now: () => Date;
  /** The process that ran the command: Cassandra's JVM when it comes from archive_command. */
  readonly parentPid: number | undefined;
}

export async function archiveCommitLogCommand(input: ArchiveCommitLogInput, deps: ArchiveCommitLogDeps): Promise<void> {
  const started = deps.parentPid === undefined ? undefined : await processStartTime(deps.parentPid);
  try {
    await stageSegment(input.path, input.name, input.stagingDir, {
      archivedAt: deps.now().toISOString(), ...(started ? { cassandraStartedAt: started.toISOString() } : {}),
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    // One line: Cassandra logs it and keeps the segment (it is archived again at the next start).
    throw new IncompleteError(`archive-commitlog ${input.name}: not staged in ${input.stagingDir}: ${reason}`, [], { cause: err });
  }
}
