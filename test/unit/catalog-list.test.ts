// `list` over a local destination: grouping by tag across nodes, JSON, unreadable manifests, unfinished runs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listCommand } from '../../src/commands/list.ts';
import { groupByTag } from '../../src/catalog/listing.ts';
import { addBackup, harness, putRawManifest, snapshotPath, backupPath } from './catalog-fixture.ts';
import type { Backend } from '../../src/storage/backend.ts';

async function twoNodes(backend: Backend): Promise<void> {
  for (const nodeId of ['node-a', 'node-b']) {
    await addBackup(backend, { nodeId, tag: 'nightly-1', kind: 'snapshot', startedAt: '2026-11-20T03:15:00.000Z',
      files: [{ path: snapshotPath('users', 'nightly-1', 'nb-1-big-Data.db'), content: `data of ${nodeId}` }] });
  }
  await addBackup(backend, { nodeId: 'node-a', tag: 'nightly-2', kind: 'snapshot', startedAt: '2026-11-21T03:15:00.000Z',
    files: [{ path: snapshotPath('users', 'nightly-2', 'nb-1-big-Data.db'), content: '12345' },
      { path: snapshotPath('users', 'nightly-2', 'nb-2-big-Data.db'), content: '1234567' }] });
  await addBackup(backend, { nodeId: 'node-b', tag: 'incr-1', kind: 'incremental', startedAt: '2026-11-20T04:05:00.000Z',
    files: [{ path: backupPath('users', 'nb-3-big-Data.db'), content: 'x' }] });
}

interface JsonList {
  nodes: string[];
  backups: { tag: string; kind: string; nodes: string[]; everyNode: boolean; files: number; bytes: number; complete: boolean; startedAt: string }[];
  problems: { key: string; error: string }[];
}

describe('list', () => {
  it('--all-nodes --json: one document, a tag on every node is one row naming both nodes', async () => {
    const h = await harness({ json: true });
    await twoNodes(h.backend);
    await listCommand({ allNodes: true }, h.ctx);
    assert.equal(h.stdout().trim().split('\n').length, 1, 'one line of JSON');
    const doc = JSON.parse(h.stdout()) as JsonList;
    assert.deepEqual(doc.nodes, ['node-a', 'node-b']);
    assert.deepEqual(doc.backups.map((b) => b.tag), ['nightly-1', 'incr-1', 'nightly-2'], 'oldest first');
    const n1 = doc.backups[0];
    assert.deepEqual(n1?.nodes, ['node-a', 'node-b']);
    assert.equal(n1?.everyNode, true);
    assert.equal(n1?.files, 2);
    assert.equal(n1?.bytes, 'data of node-a'.length * 2);
    assert.equal(n1?.complete, true);
    assert.equal(doc.backups[1]?.kind, 'incremental');
    assert.equal(doc.backups[2]?.everyNode, false);
    assert.deepEqual(h.events, [], 'nothing else on stdout in JSON mode');
  });

  it('without --all-nodes lists only this node; the table shows kind, time, nodes, files, bytes, complete', async () => {
    const h = await harness();
    await twoNodes(h.backend);
    await listCommand({ allNodes: false }, h.ctx);
    const lines = h.stdout().trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^TAG\s+KIND\s+STARTED\s+NODES\s+FILES\s+BYTES\s+COMPLETE$/);
    assert.equal(lines.length, 3);
    assert.match(lines[1] ?? '', /^nightly-1\s+snapshot\s+2026-11-20T03:15:00Z\s+1\/1\s+1\s+14 B\s+yes$/);
    assert.match(lines[2] ?? '', /^nightly-2\s+snapshot\s+2026-11-21T03:15:00Z\s+1\/1\s+2\s+12 B\s+yes$/);
    assert.ok(!h.stdout().includes('incr-1'), "node-b's backup is not listed");
  });

  it('an unreadable manifest is listed as damaged, never complete, and does not hide the others', async () => {
    const h = await harness({ json: true });
    await twoNodes(h.backend);
    await putRawManifest(h.backend, 'node-a', 'evil', { format: 1, nodeId: 'node-a', tag: 'evil', dataDirs: ['/d'],
      startedAt: '2026-11-26T13:00:00.000Z', files: [{ path: '../../etc/passwd', dataDir: 0, size: 1, key: 'x', crc32c: 'AAAAAA==' }] });
    await listCommand({ allNodes: false }, h.ctx);
    const doc = JSON.parse(h.stdout()) as JsonList;
    assert.deepEqual(doc.backups.map((b) => b.tag), ['nightly-1', 'nightly-2', 'evil']);
    const evil = doc.backups.find((b) => b.tag === 'evil');
    assert.equal(evil?.complete, false);
    assert.match(String((evil as { damaged?: string } | undefined)?.damaged), /unsafe path/);
    assert.equal(doc.problems.length, 1);
    assert.match(doc.problems[0]?.error ?? '', /unsafe path/);
    const text = await harness({}, h.root);
    await listCommand({ allNodes: false }, text.ctx);
    assert.match(text.stdout(), /evil .*no: DAMAGED manifest \(.*unsafe path/);
  });

  it('shows a snapshot run of this node that has a journal but no manifest as not complete', async () => {
    const h = await harness();
    await twoNodes(h.backend);
    const journalDir = join(h.ctx.stateDir, 'journal', 'node-a');
    await mkdir(journalDir, { recursive: true });
    await writeFile(join(journalDir, 'snapshot-nightly-3.jsonl'),
      `${JSON.stringify({ key: 'k1', size: 10, crc32c: 'x' })}\n${JSON.stringify({ key: 'k2', size: 5, crc32c: 'y' })}\n{"torn`);
    await listCommand({ allNodes: false }, h.ctx);
    const last = h.stdout().trimEnd().split('\n').at(-1) ?? '';
    assert.match(last, /^nightly-3\s+snapshot\s+-\s+1\/1\s+2\s+15 B\s+no \(no manifest/);
  });

  it('says so when there are no backups', async () => {
    const h = await harness();
    await listCommand({ allNodes: true }, h.ctx);
    assert.equal(h.stdout(), '');
    assert.match(JSON.stringify(h.events), /no backups for any node/);
  });

  it('groupByTag: nodes that disagree about the kind of one tag make a mixed row', () => {
    const base = { format: 1 as const, tool: { name: 'cass-backup-run' as const, version: '0' }, layout: 'seed' as const,
      cloud: { cloud: 'none' as const }, hostname: 'h', cassandra: {}, dataDirs: [], files: [], finishedAt: '2026-01-01T00:01:00.000Z',
      totals: { files: 0, bytes: 0, uploadedBytes: 0 } };
    const rows = groupByTag([
      { ...base, nodeId: 'a', tag: 't', kind: 'snapshot', startedAt: '2026-01-01T00:00:00.000Z' },
      { ...base, nodeId: 'b', tag: 't', kind: 'incremental', startedAt: '2026-01-01T00:00:05.000Z' },
    ], ['a', 'b', 'c']);
    assert.equal(rows[0]?.kind, 'mixed');
    assert.equal(rows[0]?.startedAt, '2026-01-01T00:00:00.000Z');
    assert.equal(rows[0]?.everyNode, false);
  });
});
