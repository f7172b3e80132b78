// An independent walk of Cassandra data directories, so tests do not check the product with its own enumerator.
import { readdirSync, lstatSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else if (entry.isFile()) out.push(p);
  }
}

/** relPath → absolute path of every regular file in `<dataDir>/<ks>/<table>/<sub…>` for each data dir. */
export function tableFiles(dataDirs: readonly string[], sub: (tableDir: string) => string): Map<string, string> {
  const out = new Map<string, string>();
  for (const dataDir of dataDirs) {
    if (!existsSync(dataDir)) continue;
    for (const ks of readdirSync(dataDir)) {
      if (!lstatSync(join(dataDir, ks)).isDirectory()) continue;
      for (const table of readdirSync(join(dataDir, ks))) {
        const dir = sub(join(dataDir, ks, table));
        if (!existsSync(dir)) continue;
        const files: string[] = [];
        walk(dir, files);
        for (const f of files) out.set(relative(dataDir, f), f);
      }
    }
  }
  return out;
}

export function snapshotFiles(dataDirs: readonly string[], tag: string): Map<string, string> {
  return tableFiles(dataDirs, (t) => join(t, 'snapshots', tag));
}

export function backupFiles(dataDirs: readonly string[]): Map<string, string> {
  return tableFiles(dataDirs, (t) => join(t, 'backups'));
}

export function dataDirsFromEnv(): string[] {
  return (process.env.CBR_DATA_DIRS ?? '').split(':').filter(Boolean);
}
