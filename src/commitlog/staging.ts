// What the staging directory holds: the segments archive-commitlog put there and their sidecar facts.
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSegmentName, type SegmentName } from './segment.ts';
import { FACTS_SUFFIX, type StagedFacts } from './stage.ts';

export interface StagedSegment extends SegmentName {
  readonly path: string;
  readonly size: number;
  readonly archivedAt: string;
  readonly cassandraStartedAt?: string;
}

/** The staged segments in id order; a missing directory holds none. */
export async function listStaged(stagingDir: string): Promise<StagedSegment[]> {
  let names: string[];
  try {
    names = await readdir(stagingDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: StagedSegment[] = [];
  for (const name of names) {
    const seg = parseSegmentName(name);
    if (!seg) continue;
    const path = join(stagingDir, name);
    const st = await stat(path);
    const facts = await readFacts(`${path}${FACTS_SUFFIX}`);
    // No sidecar: archive-commitlog stopped after the link; the link's change time is when it was made.
    out.push({ ...seg, path, size: st.size, archivedAt: facts?.archivedAt ?? st.ctime.toISOString(),
      ...(facts?.cassandraStartedAt ? { cassandraStartedAt: facts.cassandraStartedAt } : {}) });
  }
  return out.sort((a, b) => a.id - b.id);
}

async function readFacts(path: string): Promise<StagedFacts | undefined> {
  try {
    const f = JSON.parse(await readFile(path, 'utf8')) as StagedFacts;
    return typeof f.archivedAt === 'string' && !Number.isNaN(Date.parse(f.archivedAt)) ? f : undefined;
  } catch {
    return undefined;
  }
}

/** Removes a staged segment and its sidecar (only once its object is confirmed in the store). */
export async function unstage(segment: StagedSegment): Promise<void> {
  await unlink(segment.path);
  await unlink(`${segment.path}${FACTS_SUFFIX}`).catch(() => {});
}
