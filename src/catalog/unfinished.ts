// Snapshot runs of this node that started but wrote no manifest, seen from the local journal
// (<stateDir>/journal/<nodeId>/snapshot-<tag>.jsonl, removed when a run completes). Only a hint: the journal
// is local, so other nodes' unfinished runs are not visible here.
import { readNodeJournals } from '../upload/journal.ts';
import type { UnfinishedRun } from './listing.ts';

const SNAPSHOT_JOURNAL = /^snapshot-(.+)$/;

export async function unfinishedSnapshots(stateDir: string, nodeId: string): Promise<UnfinishedRun[]> {
  const journals = await readNodeJournals(stateDir, nodeId).catch(() => []);
  const runs: UnfinishedRun[] = [];
  for (const { name, records } of journals) {
    const tag = SNAPSHOT_JOURNAL.exec(name)?.[1];
    if (tag === undefined) continue;
    runs.push({ nodeId, tag, kind: 'snapshot', files: records.length, bytes: records.reduce((n, r) => n + r.size, 0) });
  }
  return runs;
}
