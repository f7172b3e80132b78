// Text written within one turn of the event loop leaves in one write: a --json run emits a line per file, and
// thousands of tiny writes to a pipe cost more CPU than sending a small file.
export interface BatchedWriter {
  write(text: string): void;
  /** Writes what is pending now (before an exit, or before writing to the same stream directly). */
  flush(): void;
}

const FLUSH_AT = 64 * 1024;

export function batchedWriter(sink: (text: string) => void, schedule: (run: () => void) => void = setImmediate): BatchedWriter {
  let pending: string[] = [];
  let size = 0;
  let scheduled = false;
  const flush = (): void => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    size = 0;
    sink(text);
  };
  return {
    write(text: string): void {
      pending.push(text);
      size += text.length;
      if (size >= FLUSH_AT) flush();
      else if (!scheduled) {
        scheduled = true;
        schedule(() => {
          scheduled = false;
          flush();
        });
      }
    },
    flush,
  };
}
