// A manifest the store holds but this version cannot accept (malformed, an unknown format, a path the reader
// refuses): what can still be learnt from it, so that it is shown as damaged instead of hiding the others, and so
// that nothing it may reference is overwritten or deleted. Pure.

export interface DamagedManifest {
  readonly key: string;
  readonly tag: string;
  /** Why it was rejected. */
  readonly error: string;
  readonly cause: unknown;
  readonly kind: string | undefined;
  readonly startedAt: string | undefined;
  readonly finishedAt: string | undefined;
  /** The objects it references, when every entry names its key; undefined when they cannot be known. */
  readonly files: readonly SalvagedFile[] | undefined;
}

export interface SalvagedFile {
  readonly key: string;
  readonly size: number | undefined;
  readonly crc32c: string | undefined;
}

export function salvageManifest(key: string, tag: string, text: string, cause: unknown): DamagedManifest {
  const base = { key, tag, error: cause instanceof Error ? cause.message : String(cause), cause };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ...base, kind: undefined, startedAt: undefined, finishedAt: undefined, files: undefined };
  }
  const doc = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  return {
    ...base, kind: stringOr(doc.kind), startedAt: stringOr(doc.startedAt), finishedAt: stringOr(doc.finishedAt),
    files: salvageFiles(doc.files),
  };
}

function salvageFiles(files: unknown): SalvagedFile[] | undefined {
  if (!Array.isArray(files)) return undefined;
  const out: SalvagedFile[] = [];
  for (const f of files as unknown[]) {
    const entry = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
    if (typeof entry.key !== 'string' || entry.key === '') return undefined; // one unknown key: none can be trusted
    out.push({ key: entry.key, size: typeof entry.size === 'number' ? entry.size : undefined, crc32c: stringOr(entry.crc32c) });
  }
  return out;
}

function stringOr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** One line for an operator. */
export function describeDamaged(d: DamagedManifest): string {
  const objects = d.files === undefined ? 'the objects it references cannot be known' : `it names ${d.files.length} object(s)`;
  return `manifest ${d.key} is damaged (${d.error}); ${objects}`;
}
