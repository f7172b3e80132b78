// The Cassandra host id this state directory last backed up, per node id: lets `incremental`, which asks nodetool
// nothing, still refuse to write a replaced node's backups under the old node's id. Only a hint (a per-host cache):
// the manifests in the bucket are the truth.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HostIdMemory } from './commands/context.ts';

export function fileHostIdMemory(path: string): HostIdMemory {
  return {
    async remembered() {
      try {
        const v = JSON.parse(await readFile(path, 'utf8')) as { hostId?: unknown };
        return typeof v.hostId === 'string' && v.hostId !== '' ? v.hostId : undefined;
      } catch {
        return undefined;
      }
    },
    async remember(hostId) {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify({ hostId, at: new Date().toISOString() })}\n`);
      await rename(tmp, path);
    },
  };
}
