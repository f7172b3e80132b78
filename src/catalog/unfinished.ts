// Snapshot runs of this node that started but wrote no manifest, seen from the local journal
// (<stateDir>/journal/<nodeId>/snapshot-<tag>.jsonl, removed when a run completes). Only a hint: the journal
// is local, so other nodes' unfinished runs are not visible here.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UnfinishedRun } from './listing.ts';

const SNAPSHOT_JOURNAL = /^snapshot-(.+)\.jsonl$/;

export async function unfinishedSnapshots(stateDir: string, nodeId: string): Promise<UnfinishedRun[]> {
  const dir = join(stateDir, 'journal', nodeId);
  const names = await readdir(dir).catch(() => [] as string[]);
  const runs: UnfinishedRun[] = [];
  for (const name of names) {
    const tag = SNAPSHOT_JOURNAL.exec(name)?.[1];
    if (tag === undefined) continue;
    const text = await readFile(join(dir, name), 'utf8').catch(() => '');
    runs.push({ nodeId, tag, kind: 'snapshot', ...confirmed(text) });
  }
  return runs;
}

function confirmed(text: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const line of text.split('\n')) {
    try {
      const size = (JSON.parse(line) as { size?: unknown }).size;
      if (typeof size === 'number') {
        files += 1;
        bytes += size;
      }
    } catch {
      // blank or torn line
    }
  }
  return { files, bytes };
}
