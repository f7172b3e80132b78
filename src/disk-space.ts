// Free space on the data disks: a snapshot pins SSTables that compaction would otherwise free, so taking one on
// an almost full disk can take the node down.
import { statfs } from 'node:fs/promises';
import { UsageError } from './errors.ts';

export type FreeSpaceRule = { readonly percent: number } | { readonly bytes: number };

export function parseFreeSpaceRule(raw: string, parseSize: (name: string, raw: string) => number): FreeSpaceRule {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(raw);
  if (m) {
    const percent = Number(m[1]);
    if (percent > 100) throw new UsageError(`--min-free-disk ${raw}: a percentage must be at most 100%`);
    return { percent };
  }
  return { bytes: parseSize('min-free-disk', raw) };
}

export interface DiskUsage {
  readonly freeBytes: number;
  readonly totalBytes: number;
}

export async function diskUsage(path: string): Promise<DiskUsage> {
  const s = await statfs(path);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

/** UsageError naming the first data directory whose disk has less free space than the rule asks. */
export async function assertFreeSpace(dirs: readonly string[], rule: FreeSpaceRule, usage = diskUsage): Promise<void> {
  for (const dir of dirs) {
    const u = await usage(dir);
    const needed = 'percent' in rule ? (u.totalBytes * rule.percent) / 100 : rule.bytes;
    if (u.freeBytes < needed) {
      const pct = u.totalBytes > 0 ? ((100 * u.freeBytes) / u.totalBytes).toFixed(1) : '0';
      const want = 'percent' in rule ? `${rule.percent}%` : `${rule.bytes} bytes`;
      throw new UsageError(
        `refusing to snapshot: only ${u.freeBytes} bytes (${pct}%) free on the disk of ${dir}, below --min-free-disk ${want}`,
      );
    }
  }
}
